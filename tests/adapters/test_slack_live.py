"""Against the real Slack Web API, only when a test app's bot token and channel are given:

    FACILITATOR_LIVE_SLACK_TOKEN=xoxb-… FACILITATOR_LIVE_SLACK_CHANNEL=C0… \
        pytest -m live tests/adapters/test_slack_live.py

The channel must be one the test app's bot is a member of; the message posted there is deleted
at the end. Everything here is also covered against the fake Web API."""

from __future__ import annotations

import os
import time

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from adapters.slack.webapi import SlackWeb, default_sleep
from facilitator.i18n import Catalogue
from facilitator.markup import OutboundMessage
from tests.conftest import REPO_ROOT

TOKEN = os.environ.get("FACILITATOR_LIVE_SLACK_TOKEN", "")
CHANNEL = os.environ.get("FACILITATOR_LIVE_SLACK_CHANNEL", "")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (TOKEN and CHANNEL),
        reason="FACILITATOR_LIVE_SLACK_TOKEN and FACILITATOR_LIVE_SLACK_CHANNEL are not set",
    ),
]


async def test_real_slack_accepts_the_rendered_blocks_of_a_hostile_message() -> None:
    assert TOKEN and CHANNEL
    client = AsyncWebClient(token=TOKEN)
    web = SlackWeb(client, clock=time.monotonic, sleep=default_sleep)
    catalogue = Catalogue.load(REPO_ROOT / "prompts")
    body = catalogue.render(
        "en", "core.start.greeting", name="<!channel> *bold* & <@U123>", community="live test"
    )

    identity = await web.auth_test()
    [part] = render.compose(OutboundMessage(body))
    posted = await web.post_message(CHANNEL, part.text, part.blocks, None)
    try:
        assert posted["ok"] is True
        assert posted["message"]["blocks"][0]["type"] == "rich_text"
        me = await web.user_info(str(identity["user_id"]))
        assert me["user"]["id"] == identity["user_id"]
    finally:
        await client.chat_delete(channel=CHANNEL, ts=str(posted["ts"]))
