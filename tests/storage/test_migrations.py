"""Alembic: upgrade, check against the models, and downgrade on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import inspect

from facilitator.storage import migrate
from facilitator.storage.engine import create_engine
from tests.conftest import POSTGRES_URL, fresh_postgres_schema


async def _tables(url: str, schema: str | None) -> set[str]:
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def _round_trip(url: str, schema: str | None) -> None:
    await asyncio.to_thread(migrate.upgrade, url, "head", schema)
    await asyncio.to_thread(migrate.check, url, schema)  # raises if models and migrations differ
    assert {"communities", "identities", "ledger", "inbox"} <= await _tables(url, schema)
    await asyncio.to_thread(migrate.downgrade, url, "base", schema)
    assert await _tables(url, schema) <= {"alembic_version"}
    await asyncio.to_thread(migrate.upgrade, url, "head", schema)


async def test_migrations_round_trip_on_sqlite(tmp_path: Path) -> None:
    await _round_trip(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", None)


async def test_migrations_round_trip_on_postgresql() -> None:
    async with fresh_postgres_schema() as schema:
        await _round_trip(POSTGRES_URL, schema)
