"""The storage facade the composition root holds: engine, units of work, lifecycle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import configure_mappers

from facilitator.storage.engine import create_engine, session_factory
from facilitator.storage.models import Base
from facilitator.storage.uow import RepositoryFactory, SqlUnitOfWorkFactory


class Storage:
    def __init__(
        self,
        url: str,
        schema: str | None = None,
        *,
        pool_size: int | None = None,
        max_overflow: int | None = None,
        repositories: Mapping[type[Any], RepositoryFactory] | None = None,
    ) -> None:
        self.url = url
        self.schema = schema
        pool: dict[str, Any] = {}
        if not url.startswith("sqlite"):
            if pool_size is not None:
                pool["pool_size"] = pool_size
            if max_overflow is not None:
                pool["max_overflow"] = max_overflow
        self.engine = create_engine(url, schema=schema, **pool)
        # SQLAlchemy sets up the mappings on the first row made, a quarter of a second that
        # the first inbound event would otherwise wait for.
        configure_mappers()
        self.uow_factory = SqlUnitOfWorkFactory(session_factory(self.engine), repositories)

    async def create_all(self) -> None:
        """Create the tables straight from the models (tests; real databases use migrations)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("select 1"))
        except Exception:  # noqa: BLE001 - readiness only needs a yes or a no
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
