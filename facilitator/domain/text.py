"""Text from platforms as the core keeps it: without control characters or lone surrogates."""

from __future__ import annotations

import re

# C0 controls but tab and line feed, DEL, C1 controls, and surrogates: JSON may escape half
# of a pair ("\ud83d" alone), which Python decodes to a code point UTF-8 cannot encode.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` without control characters (NUL, terminal escapes, backspaces, bells) and
    without lone surrogates.

    They mean nothing in a chat, PostgreSQL cannot store NUL, a terminal obeys escapes, and
    a lone surrogate makes encoding the text fail (the database, the logs). Tabs and line
    breaks stay; a carriage return becomes a line break."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def keep_printable(instance: object, *fields: str) -> None:
    """For a frozen dataclass's `__post_init__`: make the named text fields printable."""
    for name in fields:
        value = getattr(instance, name)
        if isinstance(value, str):
            object.__setattr__(instance, name, printable(value))
