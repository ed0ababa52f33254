"""Engine construction: SQLite in WAL mode with immediate write transactions, or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.elements import TextClause

from facilitator.storage import sqlite_driver
from facilitator.storage.memo import MEMO_KEPT, memo_of

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(
    url: str, *, schema: str | None = None, echo: bool = False, **kwargs: Any
) -> AsyncEngine:
    """An engine for `url`; `schema` puts every table of a PostgreSQL database in that schema."""
    # A database error's text would otherwise carry the statement's values (message bodies,
    # names) into the logs and into the inbox row that records the failure.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if schema:
        kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
    return create_async_engine(url, echo=echo, **kwargs)


def _configure_sqlite(engine: AsyncEngine) -> None:
    if engine.dialect.driver == "aiosqlite":
        lock = sqlite_driver.TransactionLock(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        event.listen(engine.sync_engine, "do_connect", sqlite_driver.connect_hook(lock))

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (below) instead of the driver's deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        # Take the write lock up front: a deferred transaction that later upgrades to a writer
        # fails with "database is locked" at once instead of waiting for the busy timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class UnitSession(Session):
    """The session of one unit of work. An identity map holds rows weakly: a person loaded
    for one event of a batch would be gone, and loaded again, by the next. A unit of work is
    short, so its session keeps every row it has seen (SQLAlchemy's "strong reference"
    recipe). A bulk UPDATE or DELETE does not refresh the rows held, so it lets go of those of
    its table (and of `session.info["by_key"]`, where repositories keep rows by other keys,
    and of the unit of work's memo, `storage.memo`): the next read loads them again."""


def _keep(session: Session, instance: object) -> None:
    session.info.setdefault("rows", set()).add(instance)


# Tables whose rows the database changes when these change (foreign keys ON DELETE CASCADE).
_CASCADES_TO = {"persons": ("identities",)}


def _release_changed(state: ORMExecuteState) -> None:
    info = state.session.info
    statement = state.statement
    if isinstance(statement, TextClause):  # raw SQL may have changed anything
        info.pop("by_key", None)
        if "memo" in info:
            memo_of(info).forget(None)
        return
    if not (state.is_update or state.is_delete):
        return
    table = getattr(getattr(statement, "table", None), "name", None)
    info["rows"] = {
        row for row in info.get("rows", ()) if getattr(row, "__tablename__", None) != table
    }
    by_key = info.get("by_key")
    if by_key:
        for held in (table, *_CASCADES_TO.get(str(table), ())):
            by_key.pop(held, None)
    if "memo" in info and not state.execution_options.get(MEMO_KEPT):
        memo_of(info).forget(table)


_PEOPLE_TABLES = ("persons", "identities", "communities")


def _release_flushed(session: Session, _context: Any, _instances: Any) -> None:
    """A flush that changes or deletes ORM rows (a rename, a merge of two people) makes the
    memo's people stale: it forgets them, as a bulk UPDATE would. New rows change nothing
    the memo holds."""
    if "memo" not in session.info:
        return
    for instance in (*session.dirty, *session.deleted):
        if getattr(instance, "__tablename__", None) in _PEOPLE_TABLES:
            memo_of(session.info).forget(None)
            return


def _drop(session: Session, instance: object) -> None:
    session.info.get("rows", set()).discard(instance)


for _name in (
    "pending_to_persistent",
    "deleted_to_persistent",
    "detached_to_persistent",
    "loaded_as_persistent",
):
    event.listen(UnitSession, _name, _keep)
for _name in ("persistent_to_detached", "persistent_to_deleted", "persistent_to_transient"):
    event.listen(UnitSession, _name, _drop)
event.listen(UnitSession, "do_orm_execute", _release_changed)
event.listen(UnitSession, "before_flush", _release_flushed)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=UnitSession
    )
