"""Fixtures of the fault tests: the fake Telegram Bot API, a schema of the shared test database,
and a PostgreSQL cluster of a test's own for the tests that stop the database."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.adapters.conftest import fake_telegram
from tests.conftest import REQUIRE_POSTGRES, fresh_postgres_schema
from tests.faults.private_postgres import PrivateCluster, server_binaries

__all__ = ["fake_telegram", "postgres_schema", "private_postgres"]


@pytest_asyncio.fixture
async def postgres_schema() -> AsyncIterator[str]:
    """A schema of the test's own in the shared test database (FACILITATOR_TEST_POSTGRES_URL),
    for bot processes that migrate it themselves; dropped afterwards."""
    async with fresh_postgres_schema() as schema:
        yield schema


@pytest_asyncio.fixture
async def private_postgres() -> AsyncIterator[PrivateCluster]:
    """A started cluster on a free port, removed afterwards. Skipped where the machine has no
    PostgreSQL server binaries, unless FACILITATOR_REQUIRE_POSTGRES=1 (CI): it fails there."""
    binaries = server_binaries()
    if binaries is None:
        reason = "no PostgreSQL server binaries (initdb, pg_ctl) on this machine"
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " and FACILITATOR_REQUIRE_POSTGRES=1")
        pytest.skip(reason)
    # Durability is not what the test is about: a crash of this machine loses the test anyway.
    cluster = await PrivateCluster.create(binaries, {"fsync": "off"})
    try:
        await cluster.start()
        yield cluster
    finally:
        await cluster.destroy()
