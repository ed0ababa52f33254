"""Shared fixtures for adapter tests: the fake platform APIs and the Telegram harness."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.adapters.fakes.slack_api import FakeSlackAPI
from tests.adapters.fakes.telegram_api import FakeTelegramAPI
from tests.adapters.telegram_support import TelegramHarness, telegram_harness
from tests.conftest import FrozenClock


@pytest_asyncio.fixture
async def fake_slack() -> AsyncIterator[FakeSlackAPI]:
    """A started fake Slack Web API; clients use `base_url=fake_slack.base_url`."""
    async with FakeSlackAPI() as api:
        yield api


@pytest_asyncio.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegramAPI]:
    """A started fake Telegram Bot API; bots use `base_url=fake_telegram.base_url`."""
    async with FakeTelegramAPI() as api:
        yield api
    assert not api.internal_errors, f"the fake Telegram API failed: {api.internal_errors}"


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """python-telegram-bot gives durations (retry_after and the like) as timedelta when
    PTB_TIMEDELTA is set, as the adapter expects; without it reading them warns, an error here."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest_asyncio.fixture
async def tg(
    fake_telegram: FakeTelegramAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[TelegramHarness]:
    """The real core and Telegram adapter on SQLite, talking to the fake Bot API. A module
    whose tests need a group extends it: `async def tg(tg)` adds the chat and the bot to it."""
    async with telegram_harness(fake_telegram, tmp_path, clock) as harness:
        yield harness
