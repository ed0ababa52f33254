"""`facilitator db backup` and `db restore` on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from facilitator.cli import app as cli_app
from facilitator.domain.model import Platform, Role
from facilitator.seeding import seed_demo_community
from facilitator.storage.engine import create_engine
from facilitator.storage.models import Base
from tests.conftest import (
    POSTGRES_URL,
    REPO_ROOT,
    FrozenClock,
    build_test_app,
    fresh_postgres_schema,
    make_settings,
)

Contents = dict[str, list[tuple[Any, ...]]]
INSERT_INBOX = (
    "INSERT INTO inbox (platform, delivery_id, ordering_key, payload, status, attempts,"
    " received_at, available_at) VALUES ('telegram', ?, 'c', '{}', 'pending', 0,"
    " '2026-11-02 12:00:00.000000', '2026-11-02 12:00:00.000000')"
)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env


def facilitator(url: str, schema: str | None, *args: str, **env: str) -> Result:
    environment = {
        "FACILITATOR_DATABASE_URL": url,
        "FACILITATOR_DATABASE_SCHEMA": schema or "",
        **env,
    }
    return CliRunner().invoke(cli_app, list(args), env=environment)


async def populate(url: str, schema: str | None) -> None:
    """The demo community with its members and knowledge, and rows in both queues."""
    application = build_test_app(make_settings(url, schema), clock=FrozenClock())
    try:
        assert await seed_demo_community(
            application.uow_factory, REPO_ROOT / "data", application.clock
        )
        await application.roles.grant(Platform.CONSOLE, "ana", Role.COORDINATOR, "demo")
        async with application.uow_factory() as uow:
            await uow.inbox.add(Platform.TELEGRAM, "u1", "-1", '{"x": 1}', application.clock.now())
            await uow.commit()
    finally:
        await application.aclose()


async def contents(url: str, schema: str | None) -> Contents:
    """Every row of every table of the bot, in primary-key order, with the Alembic revision."""
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as conn:

            def read(sync: Any) -> Contents:
                present = set(inspect(sync).get_table_names())
                found: Contents = {}
                for table in Base.metadata.sorted_tables:
                    if table.name in present:
                        query = table.select().order_by(*table.primary_key.columns)
                        found[table.name] = [tuple(row) for row in sync.execute(query)]
                if "alembic_version" in present:
                    version = sync.execute(text("SELECT version_num FROM alembic_version"))
                    found["alembic_version"] = [tuple(row) for row in version]
                return found

            return await conn.run_sync(read)
    finally:
        await engine.dispose()


def test_sqlite_backup_and_restore_into_an_empty_database(tmp_path: Path) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    assert facilitator(source, None, "db", "upgrade").exit_code == 0
    asyncio.run(populate(source, None))
    before = asyncio.run(contents(source, None))
    assert len(before["knowledge_items"]) > 10 and before["inbox"]

    backed_up = facilitator(source, None, "db", "backup", str(tmp_path / "b" / "live.backup"))
    assert backed_up.exit_code == 0, backed_up.output
    target = f"sqlite+aiosqlite:///{tmp_path / 'new' / 'restored.db'}"
    restored = facilitator(target, None, "db", "restore", str(tmp_path / "b" / "live.backup"))

    assert restored.exit_code == 0, restored.output
    assert "db upgrade" not in restored.output
    assert asyncio.run(contents(target, None)) == before


def test_sqlite_backup_while_the_bot_writes_holds_only_committed_rows(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    url = f"sqlite+aiosqlite:///{path}"
    assert facilitator(url, None, "db", "upgrade").exit_code == 0
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # committed rows stay in the -wal file
    try:
        writer.execute(INSERT_INBOX, ("committed",))
        assert (tmp_path / "live.db-wal").stat().st_size > 0
        writer.execute("BEGIN IMMEDIATE")  # a write in progress holds the write lock
        writer.execute(INSERT_INBOX, ("in-flight",))
        backed_up = facilitator(url, None, "db", "backup", str(tmp_path / "snap.backup"))
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert backed_up.exit_code == 0, backed_up.output
    snapshot = sqlite3.connect(tmp_path / "snap.backup")
    try:
        stored = [row[0] for row in snapshot.execute("SELECT delivery_id FROM inbox")]
        [(mode,)] = snapshot.execute("PRAGMA journal_mode")
    finally:
        snapshot.close()
    assert stored == ["committed"]
    assert mode == "delete"  # one self-contained file
    assert not (tmp_path / "snap.backup-wal").exists()


def test_restore_refuses_a_database_with_data_unless_forced(tmp_path: Path) -> None:
    old = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    assert facilitator(old, None, "db", "upgrade", "0004").exit_code == 0  # an older version
    insert_inbox(tmp_path / "old.db", "from-the-backup")
    assert facilitator(old, None, "db", "backup", str(tmp_path / "old.backup")).exit_code == 0
    live = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    assert facilitator(live, None, "db", "upgrade").exit_code == 0
    insert_inbox(tmp_path / "live.db", "only-in-live")

    refused = facilitator(live, None, "db", "restore", str(tmp_path / "old.backup"))
    assert refused.exit_code == 1
    assert "already holds data" in refused.output and "--force" in refused.output
    assert delivery_ids(tmp_path / "live.db") == ["only-in-live"]

    forced = facilitator(live, None, "db", "restore", "--force", str(tmp_path / "old.backup"))
    assert forced.exit_code == 0, forced.output
    assert delivery_ids(tmp_path / "live.db") == ["from-the-backup"]
    assert "revision 0004" in forced.output and "facilitator db upgrade" in forced.output
    assert facilitator(live, None, "db", "upgrade").exit_code == 0


def test_restore_rejects_a_file_that_is_no_backup(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database", encoding="utf-8")
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    result = facilitator(url, None, "db", "restore", str(bogus))
    assert result.exit_code == 1 and "not a SQLite backup" in result.output
    missing = facilitator(url, None, "db", "restore", str(tmp_path / "none.backup"))
    assert missing.exit_code == 1 and "no backup at" in missing.output


def insert_inbox(path: Path, delivery_id: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(INSERT_INBOX, (delivery_id,))


def delivery_ids(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return [row[0] for row in db.execute("SELECT delivery_id FROM inbox ORDER BY id")]


async def cli(url: str, schema: str | None, *args: str) -> Result:
    """The command line from async code: in a thread, as it runs its own event loop."""
    return await asyncio.to_thread(facilitator, url, schema, *args)


async def test_postgresql_backup_and_restore_into_an_empty_schema(tmp_path: Path) -> None:
    async with fresh_postgres_schema() as schema:
        assert (await cli(POSTGRES_URL, schema, "db", "upgrade")).exit_code == 0
        await populate(POSTGRES_URL, schema)
        before = await contents(POSTGRES_URL, schema)
        dump = tmp_path / "pg.backup"
        backed_up = await cli(POSTGRES_URL, schema, "db", "backup", str(dump))
        assert backed_up.exit_code == 0, backed_up.output
        refused = await cli(POSTGRES_URL, schema, "db", "restore", str(dump))
        elsewhere = await cli(POSTGRES_URL, "other_schema", "db", "restore", str(dump))

        # A new installation: the schema emptied, then migrated by a first start of the bot.
        await empty_schema(schema)
        assert (await cli(POSTGRES_URL, schema, "db", "upgrade")).exit_code == 0
        restored = await cli(POSTGRES_URL, schema, "db", "restore", str(dump))
        after = await contents(POSTGRES_URL, schema)
        # Identity sequences come back too: the next row gets an id of its own.
        await add_inbox_row_pg(schema)

    assert (await asyncio.to_thread(dump.read_bytes)).startswith(b"PGDMP")  # custom format
    assert refused.exit_code == 1 and "already holds data" in refused.output
    assert elsewhere.exit_code == 1 and "FACILITATOR_DATABASE_SCHEMA" in elsewhere.output
    assert restored.exit_code == 0, restored.output
    assert "db upgrade" not in restored.output
    assert after == before


async def empty_schema(schema: str) -> None:
    engine = create_engine(POSTGRES_URL)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        await engine.dispose()


async def add_inbox_row_pg(schema: str) -> None:
    application = build_test_app(make_settings(POSTGRES_URL, schema), clock=FrozenClock())
    try:
        async with application.uow_factory() as uow:
            now = application.clock.now()
            assert await uow.inbox.add(Platform.TELEGRAM, "after-restore", "-1", "{}", now)
            await uow.commit()
    finally:
        await application.aclose()


def test_postgresql_backup_says_when_pg_dump_is_missing(tmp_path: Path) -> None:
    result = facilitator(
        POSTGRES_URL, "some_schema", "db", "backup", str(tmp_path / "x"), PATH=str(tmp_path)
    )
    assert result.exit_code == 1
    assert "pg_dump is not on PATH" in result.output and "postgresql-client" in result.output
    assert not (tmp_path / "x").exists()
