"""The demo community's month, played once for the test run; each test gets a copy."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.unit.participation_support import PlayedMonth, open_played_month, play_demo_month


@pytest.fixture(scope="session")
def played_month_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SQLite file of the demo month played through the core. Only copied, never opened
    by a test: playing the month takes seconds, copying it milliseconds."""
    directory = tmp_path_factory.mktemp("played-month")

    async def play() -> None:
        month = await play_demo_month(directory)
        await month.app.aclose()

    asyncio.run(play())
    return directory / "month.db"


@pytest_asyncio.fixture
async def played(played_month_database: Path, tmp_path: Path) -> AsyncIterator[PlayedMonth]:
    """The played month on a copy of its own: what a test changes no other test sees."""
    copy = tmp_path / "month.db"
    shutil.copyfile(played_month_database, copy)
    month = await open_played_month(copy)
    try:
        yield month
    finally:
        await month.app.aclose()
