"""Logging set-up: one line per record with its structured context, never a token."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Held at WARNING: httpx logs request URLs (Telegram's carry the bot token), the others are noise.
QUIET_LOGGERS = ("httpx", "httpcore", "aiosqlite", "asyncio")
# Alembic says at INFO what every offline command does first (its plugins, each revision run):
# held at WARNING unless the level asked for is DEBUG (`--verbose`).
MIGRATION_LOGGERS = ("alembic",)


class ContextFormatter(logging.Formatter):
    """Appends the record's `extra=` fields as key=value pairs."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if context:
            line += " " + " ".join(f"{k}={v!r}" for k, v in sorted(context.items()))
        return line


def without_query_strings(record: logging.LogRecord) -> bool:
    """uvicorn's access log names the path with its query string, which a caller may fill
    with anything (a token, a member's words): the path alone is logged."""
    if (
        record.name == "uvicorn.access"
        and isinstance(record.args, tuple)
        and len(record.args) >= 3
    ):
        args = list(record.args)
        if isinstance(args[2], str):
            args[2] = args[2].split("?", 1)[0]
            record.args = tuple(args)
    return True


def configure_logging(level: str = "INFO", file: Path | None = None) -> None:
    handler: logging.Handler
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ContextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(without_query_strings)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    verbose = root.level <= logging.DEBUG
    for migrations in MIGRATION_LOGGERS:
        logging.getLogger(migrations).setLevel(logging.NOTSET if verbose else logging.WARNING)
