"""Matchmaking on Slack, over signed HTTP to the fake Web API: two channels of one
workspace, a member of each. The proposals reach each one's direct conversation with
Accept/Decline buttons and neither names the other; a forged press (another person's match)
is refused; after both accept, the introductions mention each other as Slack users."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from facilitator.features.matchmaking.feature import ROUND_JOB
from tests.adapters.fakes.slack_api import FakeSlackAPI, dm_channel_id
from tests.adapters.slack_support import SlackHarness, slack_harness
from tests.conftest import FrozenClock

ANDES, PAMPA = "C0ANDES", "C0PAMPA"
ANA, PIA, EVE = "U0ANA", "U0PIA", "U0EVE"
QUESTION = "How can a rural water utility finance *new* pipes?"


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    bot = fake_slack.bot_user_id
    fake_slack.set_channel(ANDES, name="andes-water", members=[bot, ANA])
    fake_slack.set_channel(PAMPA, name="pampa-climate", members=[bot, PIA, EVE])
    fake_slack.set_user(ANA, name="ana", locale="en-US", is_admin=True)
    fake_slack.set_user(PIA, name="pia", locale="es-LA", is_admin=True)
    fake_slack.set_user(EVE, name="eve", locale="en-US")
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        for channel, inviter in ((ANDES, ANA), (PAMPA, PIA)):
            await harness.event(
                {
                    "type": "member_joined_channel",
                    "user": bot,
                    "channel": channel,
                    "inviter": inviter,
                }
            )
        await harness.process()
        yield harness


async def say(slack: SlackHarness, user: str, channel: str, text: str) -> None:
    await slack.event(
        {
            "type": "message",
            "channel": channel,
            "channel_type": "im" if channel.startswith("D") else "channel",
            "user": user,
            "text": text,
            "ts": slack.next_ts(),
        }
    )
    await slack.process()


async def command(slack: SlackHarness, user: str, channel: str, name: str, text: str) -> None:
    await slack.command(name, text, user=user, channel=channel)
    await slack.process()


async def press(slack: SlackHarness, user: str, button: dict[str, Any]) -> None:
    await slack.interaction(
        {
            "type": "block_actions",
            "user": {"id": user, "name": user.lower()},
            "trigger_id": f"{slack.next_ts()}.trigger",
            "container": {
                "type": "message",
                "message_ts": "1767000000.000001",
                "channel_id": dm_channel_id(user),
            },
            "channel": {"id": dm_channel_id(user)},
            "actions": [
                {"action_id": button["action_id"], "value": button["value"], "type": "button"}
            ],
        }
    )
    await slack.process()
    await slack.app.dispatcher.dispatch_due()


def to(slack: SlackHarness, user: str) -> list[Any]:
    return [
        c
        for c in slack.api.calls_to("chat.postMessage")
        if c.error is None and c.params.get("channel") in (user, dm_channel_id(user))
    ]


def buttons(call: Any) -> list[dict[str, Any]]:
    return [
        element
        for block in call.params["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def test_consent_and_introduction_between_two_channels(slack: SlackHarness) -> None:
    await say(slack, ANA, ANDES, "hello andes")
    await say(slack, PIA, PAMPA, "hola pampa")
    await say(slack, EVE, PAMPA, "hi")
    await command(slack, PIA, PAMPA, "/intro", '"Banco Pampa" Argentina "water utilities"')
    await command(slack, PIA, PAMPA, "/experts", "share on")
    await command(slack, PIA, PAMPA, "/match", "on")
    await command(slack, ANA, ANDES, "/match", "on")
    await say(slack, ANA, dm_channel_id(ANA), QUESTION)
    [job] = [j for j in slack.app.jobs if j.job_id == ROUND_JOB]
    in_channels = [c for c in slack.posted() if c.params.get("channel") in (ANDES, PAMPA)]

    assert await job.run(slack.clock.now()) == 1
    await slack.app.dispatcher.dispatch_due()

    [to_ana] = [c for c in to(slack, ANA) if buttons(c)]
    [to_pia] = [c for c in to(slack, PIA) if buttons(c)]
    assert str(to_ana.params["text"]).startswith("*This month's match*")
    assert "pampa-climate" in str(to_ana.params["text"])
    assert "Pia" not in str(to_ana.params["text"]) and PIA not in str(to_ana.params)
    pia_text = str(to_pia.params)
    assert "Alguien de andes-water tiene una pregunta sobre #water-utilities" in pia_text
    for word in ("Ana", ANA, "pipes", "finance"):
        assert word not in pia_text
    accept, _ = buttons(to_pia)
    assert accept["text"]["text"] == "Sí, preséntennos"

    # Eve presses Pia's button: refused, and nothing reaches anyone.
    before = len(slack.api.calls)
    await press(slack, EVE, accept)
    refused = [c for c in slack.api.calls[before:] if c.method == "chat.postMessage"]
    assert [(c.params["channel"], c.params["text"]) for c in refused] == [
        (dm_channel_id(EVE), "That button no longer does anything. Send the command again.")
    ]

    await press(slack, PIA, accept)
    await press(slack, ANA, buttons(to_ana)[0])

    [intro_ana] = [c for c in to(slack, ANA) if "Your introduction" in str(c.params["text"])]
    [intro_pia] = [c for c in to(slack, PIA) if "Tu presentación" in str(c.params["text"])]
    assert f"<@{PIA}>" in str(intro_ana.params["text"])
    assert f"<@{ANA}>" in str(intro_pia.params["text"])
    # The question is literal text: its asterisks make no bold, in the blocks or the text.
    assert "*new*" not in str(intro_pia.params["text"])
    assert QUESTION in json.dumps(intro_pia.params["blocks"], ensure_ascii=False)
    # Nothing of it was said in either channel after the round began.
    assert [c for c in slack.posted() if c.params.get("channel") in (ANDES, PAMPA)] == in_channels
