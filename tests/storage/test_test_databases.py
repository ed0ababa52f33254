"""The tables the tests start from are the ones `Base.metadata.create_all` makes."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from sqlalchemy import text

from facilitator.storage.engine import create_engine
from facilitator.storage.models import Base
from tests.conftest import POSTGRES_URL, fresh_postgres_schema, sqlite_with_tables

# What PostgreSQL says about a schema's tables, columns, constraints and indexes.
POSTGRES_CATALOGUE = """
SELECT 'column', table_name, column_name || ' ' || data_type || ' ' || is_nullable || ' '
       || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = :schema
UNION ALL
SELECT 'constraint', conrelid::regclass::text, conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = CAST(:schema AS regnamespace)
UNION ALL
SELECT 'index', tablename, indexname || ' ' || indexdef
  FROM pg_indexes WHERE schemaname = :schema
"""


def _sqlite_catalogue(path: Path) -> list[tuple[str, str, str | None]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return sorted(db.execute("SELECT type, name, sql FROM sqlite_master"))


async def test_the_copied_sqlite_file_holds_what_create_all_makes(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'created.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()
    sqlite_with_tables(tmp_path / "copied.db")

    copied = _sqlite_catalogue(tmp_path / "copied.db")
    assert copied == _sqlite_catalogue(tmp_path / "created.db")
    assert len([row for row in copied if row[0] == "table"]) == len(Base.metadata.tables)


async def test_the_postgresql_script_makes_what_create_all_makes() -> None:
    async with (
        fresh_postgres_schema() as created,
        fresh_postgres_schema(tables=True) as scripted,
    ):
        engine = create_engine(POSTGRES_URL, schema=created)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
            catalogues = []
            for schema in (created, scripted):
                async with engine.connect() as conn:
                    rows = await conn.execute(text(POSTGRES_CATALOGUE), {"schema": schema})
                    # Names are qualified outside the engine's search path: drop the schema.
                    plain = (tuple(str(v).replace(f"{schema}.", "") for v in row) for row in rows)
                    catalogues.append(sorted(plain))
        finally:
            await engine.dispose()

    assert catalogues[0] == catalogues[1]
    assert len([row for row in catalogues[0] if row[0] == "column"]) > len(Base.metadata.tables)
