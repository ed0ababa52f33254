"""Engine construction: SQLite in WAL mode with immediate write transactions, or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from sqlalchemy.sql.elements import TextClause

from facilitator.storage import sqlite_driver
from facilitator.storage.memo import MEMO_KEPT, changed_tables, memo_of
from facilitator.storage.queued import write_before

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
    the tables it changes, and the unit of work's memo (`storage.memo`) forgets what it copied
    of them: the next read loads them again."""


def _keep(session: Session, instance: object) -> None:
    session.info.setdefault("rows", set()).add(instance)


def _drop(session: Session, instance: object) -> None:
    session.info.get("rows", set()).discard(instance)


def _release_changed(state: ORMExecuteState) -> None:
    """Before a statement runs: what it may change is no longer known."""
    info = state.session.info
    statement = state.statement
    if isinstance(statement, TextClause):  # raw SQL may have changed anything
        if "memo" in info:
            memo_of(info).forget(None)
        return
    inserting = state.is_insert
    if not (inserting or state.is_update or state.is_delete):
        return
    kept = state.execution_options.get(MEMO_KEPT, False)
    table = getattr(statement, "table", None)
    if (inserting and kept) or not isinstance(table, Table):
        return
    changed = changed_tables(table, deleted=state.is_delete)
    if not inserting:  # rows held in the session are not refreshed by a bulk change
        info["rows"] = {
            row for row in info.get("rows", ()) if getattr(row, "__table__", None) not in changed
        }
    if "memo" in info and not kept:
        memo_of(info).forget(changed, live_rows_current=inserting)


def _release_flushed(session: Session, _context: Any, _instances: Any) -> None:
    """Before a flush: the memo forgets its copies of the rows it adds, changes (a rename, a
    merge of two people) or deletes; its live ORM rows are current after the flush."""
    if "memo" not in session.info:
        return
    changed: set[Table] = set()
    for instances, deleted in (
        (session.new, False),
        (session.dirty, False),
        (session.deleted, True),
    ):
        for instance in instances:
            table = getattr(instance, "__table__", None)
            if isinstance(table, Table):
                changed |= changed_tables(table, deleted=deleted)
    if changed:
        memo_of(session.info).forget(changed, live_rows_current=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Units of work's sessions, with the listeners that keep what a unit holds current:
    the rows it has seen, its memo, and its queued rows (written before any statement that
    may read or change their table, then the memo forgets what that statement changes)."""
    sessions = sessionmaker(class_=UnitSession)
    for name in (
        "pending_to_persistent",
        "deleted_to_persistent",
        "detached_to_persistent",
        "loaded_as_persistent",
    ):
        event.listen(sessions, name, _keep)
    for name in ("persistent_to_detached", "persistent_to_deleted", "persistent_to_transient"):
        event.listen(sessions, name, _drop)
    # In this order: queued rows written first may tell the memo what they wrote (a queued
    # question's id), and then the memo forgets what the statement itself changes.
    event.listen(sessions, "do_orm_execute", write_before)
    event.listen(sessions, "do_orm_execute", _release_changed)
    event.listen(sessions, "before_flush", _release_flushed)
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=sessions
    )
