"""Text from platforms as the core keeps it: without control characters."""

from __future__ import annotations

import re

# C0 controls but tab and line feed, DEL, and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` without control characters (NUL, terminal escapes, backspaces, bells).

    They mean nothing in a chat, PostgreSQL cannot store NUL, and a terminal obeys them.
    Tabs and line breaks stay; a carriage return becomes a line break."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def keep_printable(instance: object, *fields: str) -> None:
    """For a frozen dataclass's `__post_init__`: make the named text fields printable."""
    for name in fields:
        value = getattr(instance, name)
        if isinstance(value, str):
            object.__setattr__(instance, name, printable(value))
