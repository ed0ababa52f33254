"""A poll and a webinar on Slack: slash commands in, buttons voted and answered, Block Kit
and a calendar file out, through the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from facilitator.domain.model import ParticipationKind
from tests.adapters.fakes.slack_api import FakeSlackAPI
from tests.adapters.slack_support import CHANNEL, SlackHarness, slack_harness, texts
from tests.conftest import FrozenClock

CARLA, BRUNO = "U0CARLA", "U0BRUNO"


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    fake_slack.set_channel(CHANNEL, name="learners", members=[fake_slack.bot_user_id, CARLA])
    fake_slack.set_user(CARLA, name="carla", locale="es-LA", is_admin=True)
    fake_slack.set_user(BRUNO, name="bruno", locale="en-US")
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        bot = fake_slack.bot_user_id
        await harness.event(
            {"type": "member_joined_channel", "user": bot, "channel": CHANNEL, "inviter": CARLA}
        )
        await harness.process()
        yield harness


async def press(slack: SlackHarness, user: str, button: dict[str, Any]) -> None:
    await slack.interaction(
        {
            "type": "block_actions",
            "user": {"id": user, "name": user.lower()},
            "trigger_id": f"{slack.next_ts()}.trigger",
            "container": {
                "type": "message",
                "message_ts": "1767000000.000001",
                "channel_id": CHANNEL,
            },
            "channel": {"id": CHANNEL},
            "actions": [
                {"action_id": button["action_id"], "value": button["value"], "type": "button"}
            ],
        }
    )
    await slack.process()


def buttons(call: Any) -> list[dict[str, Any]]:
    return [
        element
        for block in call.params["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def test_a_poll_is_voted_with_buttons_and_closed_with_its_results(
    slack: SlackHarness,
) -> None:
    await slack.command("/poll", '"Lunch or dinner?" Lunch Dinner', user=BRUNO)
    await slack.process()
    await slack.app.dispatcher.dispatch_due()
    post = slack.posted(CHANNEL)[-1]
    lunch, dinner = buttons(post)
    assert (lunch["text"]["text"], lunch["value"]) == ("Lunch", "1:0")
    await press(slack, BRUNO, lunch)
    await press(slack, CARLA, dinner)
    await press(slack, CARLA, lunch)  # changed her mind
    assert await slack.ledger(ParticipationKind.POLL_VOTE.value) == 2
    await slack.command("/poll", "close", user=BRUNO)
    await slack.process()
    await slack.app.dispatcher.dispatch_due()
    results = texts(slack.posted(CHANNEL))[-1]
    assert "Lunch: 2 (100%)" in results and "Dinner: 0 (0%)" in results
    [chart] = slack.api.calls_to("files.completeUploadExternal")
    assert chart.error is None


async def test_a_webinar_is_announced_with_a_calendar_file_and_answered_with_buttons(
    slack: SlackHarness,
) -> None:
    await slack.command(
        "/webinar", 'add "Agua segura" 2026-12-03 15:00 America/Santiago #agua', user=CARLA
    )
    await slack.process()
    await slack.app.dispatcher.dispatch_due()
    announcement = slack.posted(CHANNEL)[-1]
    going, maybe, _ = buttons(announcement)
    assert going["value"] == "1:going"
    assert slack.api.calls_to("files.completeUploadExternal")  # the .ics
    await press(slack, BRUNO, maybe)
    [noted] = [c for c in slack.api.calls_to("chat.postEphemeral") if c.error is None][-1:]
    assert str(noted.params["text"]).startswith("Noted: maybe for “Agua segura”")
    assert await slack.ledger(ParticipationKind.WEBINAR_RSVP.value) == 1
