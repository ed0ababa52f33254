"""Against the real Telegram Bot API, only when a test bot's token is given:

    FACILITATOR_LIVE_TELEGRAM_TOKEN=123:abc FACILITATOR_LIVE_TELEGRAM_CHAT_ID=-100… \
        pytest -m live tests/adapters/test_telegram_live.py

The chat id (a group where the test bot is a member, or a person who started it) enables the
sending test. Everything here is also covered against the fake Bot API."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from telegram import Bot
from telegram.constants import ParseMode

from adapters.telegram.commands_menu import command_menus, publish_commands
from adapters.telegram.limiter import FloodLimiter
from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.render import render_html
from facilitator.bootstrap import build_registry
from facilitator.domain.model import Platform
from facilitator.i18n import Catalogue
from facilitator.markup import Button, Destination, OutboundMessage

TOKEN = os.environ.get("FACILITATOR_LIVE_TELEGRAM_TOKEN", "")
CHAT_ID = os.environ.get("FACILITATOR_LIVE_TELEGRAM_CHAT_ID", "")
CATALOGUE = Catalogue.load(Path(__file__).resolve().parents[2] / "prompts")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not TOKEN, reason="FACILITATOR_LIVE_TELEGRAM_TOKEN is not set"),
]


async def test_the_real_api_accepts_the_generated_command_menus() -> None:
    menus = command_menus(build_registry(), CATALOGUE)

    async with Bot(TOKEN) as bot:
        assert await publish_commands(bot, menus) == len(menus)
        spanish = await bot.get_my_commands(
            scope=menus[-2].scope, language_code=menus[-2].language_code
        )

    assert [c.command for c in spanish] == [c.command for c in menus[-2].commands]


@pytest.mark.skipif(not CHAT_ID, reason="FACILITATOR_LIVE_TELEGRAM_CHAT_ID is not set")
async def test_the_real_api_shows_hostile_values_literally() -> None:
    body = CATALOGUE.render("en", "core.welcome", name="<b>&amp;</b> @here", community="A & B")
    message = OutboundMessage(body, buttons=((Button("ok", "live_test", "1"),),))

    async with Bot(TOKEN) as bot:
        shown = await bot.send_message(CHAT_ID, render_html(body), parse_mode=ParseMode.HTML)
        messenger = TelegramMessenger(bot, FloodLimiter())
        sent = await messenger.send(Destination(Platform.TELEGRAM, CHAT_ID), message)

    assert shown.text == body.plain()
    assert sent is not None and sent.isdigit()
