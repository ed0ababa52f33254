"""Shared fixtures for adapter tests."""

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.adapters.fakes.slack_api import FakeSlackAPI
from tests.adapters.fakes.telegram_api import FakeTelegramAPI


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
