"""Connections per process on PostgreSQL: what docs/deploy.md asks operators to size."""

from __future__ import annotations

from tests.conftest import POSTGRES_URL, build_test_app, make_settings


async def test_each_process_opens_at_most_the_configured_postgresql_connections() -> None:
    settings = make_settings(POSTGRES_URL, database_pool_size=3, database_max_overflow=1)
    application = build_test_app(settings)
    try:
        pool = application.storage.engine.sync_engine.pool
        assert pool.size() == 3  # type: ignore[attr-defined]
        assert pool._max_overflow == 1  # type: ignore[attr-defined]
    finally:
        await application.aclose()
