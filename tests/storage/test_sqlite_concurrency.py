"""SQLite under concurrent writers: WAL, busy timeout, immediate transactions, no lock errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from facilitator.bootstrap import repositories
from facilitator.domain.model import Platform, PlatformUser
from facilitator.storage.engine import create_engine, session_factory
from facilitator.storage.models import Base
from facilitator.storage.uow import SqlUnitOfWorkFactory

NOW = datetime(2026, 11, 2, tzinfo=UTC)


async def test_many_concurrent_writers_never_see_database_is_locked(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}"
    engines = [create_engine(url) for _ in range(3)]  # as if three processes shared the file
    async with engines[0].begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    factories = [SqlUnitOfWorkFactory(session_factory(e), repositories()) for e in engines]

    async def writer(n: int) -> None:
        factory = factories[n % len(factories)]
        for i in range(15):
            async with factory() as uow:
                # Read first, then write: the pattern that fails under deferred transactions.
                await uow.members.identity(Platform.TELEGRAM, f"{n}-{i}")
                await uow.members.ensure(PlatformUser(Platform.TELEGRAM, f"{n}-{i}", "x"), NOW)
                await uow.inbox.add(Platform.TELEGRAM, f"{n}-{i}", "c", "{}", NOW)
                await uow.commit()

    try:
        await asyncio.gather(*(writer(n) for n in range(12)))
        async with engines[0].connect() as conn:
            assert (await conn.execute(text("select count(*) from inbox"))).scalar() == 180
            mode = (await conn.execute(text("pragma journal_mode"))).scalar()
        assert mode == "wal"
    finally:
        for engine in engines:
            await engine.dispose()
