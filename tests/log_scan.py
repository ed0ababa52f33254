"""Every log record a test causes, searched for credentials and for message bodies.

`tests/conftest.py` attaches a `LogScan` to the root logger at DEBUG for every test. At the end
of the test it fails if any record (message, arguments, `extra=` fields, exception text) holds
a known fake credential (`tests/fake_credentials.py`), or if a record at INFO or above holds a
text that the test declared a message body with `forbid_at_info`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tests.fake_credentials import secrets_in

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_FORMATTER = logging.Formatter()


def record_text(record: logging.LogRecord) -> str:
    """Everything a handler could write for this record, as one text."""
    parts = [record.name]
    try:
        parts.append(record.getMessage())
    except Exception:  # noqa: BLE001 - a malformed record still has its parts
        parts.append(str(record.msg))
    parts.append(repr(record.args))
    parts.extend(f"{k}={v!s} {v!r}" for k, v in vars(record).items() if k not in _STANDARD)
    if record.exc_info:
        parts.append(_FORMATTER.formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


@dataclass(frozen=True)
class Seen:
    level: int
    logger: str
    text: str


class LogScan(logging.Handler):
    """Keeps the text of every record; `problems()` says what must not be there."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[Seen] = []
        self.bodies: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        # Formatted now: arguments may change after the call.
        self.seen.append(Seen(record.levelno, record.name, record_text(record)))

    def forbid_at_info(self, *bodies: str) -> None:
        """Texts a member sent: no record at INFO or above may contain them."""
        self.bodies.update(b for b in bodies if b)

    def problems(self) -> list[str]:
        found = []
        for seen in self.seen:
            for secret in secrets_in(seen.text):
                found.append(f"{seen.logger} logged a credential ({secret[:6]}…)")
            if seen.level >= logging.INFO:
                for body in self.bodies:
                    if body in seen.text:
                        found.append(f"{seen.logger} logged a message body ({body[:20]!r}…)")
        return found
