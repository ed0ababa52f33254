"""Which database failures are an outage (try again later) rather than a fault of the request."""

from __future__ import annotations

from sqlalchemy import exc

# PostgreSQL SQLSTATE classes: 08 connection exception, 53 insufficient resources (too many
# connections, disk full), 57 operator intervention (shutting down, starting up, restarting).
_UNAVAILABLE_SQLSTATE = frozenset({"08", "53", "57"})
# SQLite result codes of a database that is busy or cannot be reached on disk.
_UNAVAILABLE_SQLITE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR")


def unavailable(error: BaseException) -> bool:
    """True when `error` says the database cannot be used for now, not that a statement is wrong.

    A refused or dropped connection is an OSError (asyncpg lets it through unwrapped at
    connect time); a full pool is SQLAlchemy's TimeoutError; the rest is read from the
    driver's error: a connection it had to give up, or the server's error class."""
    if isinstance(error, OSError | exc.TimeoutError):  # the builtin TimeoutError is an OSError
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    state = getattr(error.orig, "sqlstate", None)
    if isinstance(state, str) and state[:2] in _UNAVAILABLE_SQLSTATE:
        return True
    name = getattr(error.orig, "sqlite_errorname", None)
    return isinstance(name, str) and name.startswith(_UNAVAILABLE_SQLITE)


def cause_name(error: BaseException) -> str:
    """The driver's own error type (`ConnectionRefusedError`, `CannotConnectNowError`): what an
    operator needs from the log line, without a statement or a value."""
    inner: BaseException = error
    if isinstance(error, exc.DBAPIError) and isinstance(error.orig, BaseException):
        inner = error.orig
        if inner.__cause__ is not None:
            inner = inner.__cause__
    return type(inner).__name__
