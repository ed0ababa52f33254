"""A survey on Slack, end to end over HTTP: signed slash commands, the survey sent to each
member's DM through the outbox, its Answer button opening a modal with every question
(views.open), the modal's view_submission shaped as Slack's own, and the results CSV
uploaded to the moderator's DM."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from tests.adapters.fakes.slack_api import FakeSlackAPI, dm_channel_id
from tests.adapters.slack_support import CHANNEL, SlackHarness, slack_harness, texts
from tests.adapters.test_slack_forms import opened_view, submit
from tests.conftest import FrozenClock

CARLA, BRUNO, DORA = "U0CARLA", "U0BRUNO", "U0DORA"  # Carla adds the bot: a moderator

# A slash command is one line: the questions are separated by `;`.
SURVEY = (
    "new Autumn check-in; scale: How useful were the sessions?; "
    "choice: Which day suits you? | Monday | Wednesday | Friday; text: What should we change?"
)


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    members = [fake_slack.bot_user_id, CARLA, BRUNO, DORA]
    fake_slack.set_channel(CHANNEL, name="learners", members=members)
    fake_slack.set_user(CARLA, name="carla", locale="en-US", is_admin=True)
    fake_slack.set_user(BRUNO, name="bruno", locale="en-US")
    fake_slack.set_user(DORA, name="dora", locale="pt-BR")
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        bot = fake_slack.bot_user_id
        await harness.event(
            {"type": "member_joined_channel", "user": bot, "channel": CHANNEL, "inviter": CARLA}
        )
        for member in (CARLA, BRUNO, DORA):
            await harness.event(
                {
                    "type": "message",
                    "channel": CHANNEL,
                    "channel_type": "channel",
                    "user": member,
                    "text": "hello",
                    "ts": harness.next_ts(),
                }
            )
        await harness.process()
        yield harness


def answer_button(slack: SlackHarness, member: str) -> dict[str, Any]:
    [post] = [c for c in slack.posted(dm_channel_id(member)) if "blocks" in c.params]
    [button] = [
        element
        for block in post.params["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    return dict(button)


async def open_survey(slack: SlackHarness, member: str) -> dict[str, Any]:
    """Press the Answer button in the member's DM: the modal it opens."""
    button = answer_button(slack, member)
    trigger = f"{slack.next_ts()}.trigger"
    await slack.interaction(
        {
            "type": "block_actions",
            "user": {"id": member, "name": member.lower(), "team_id": slack.api.team_id},
            "api_app_id": slack.api.app_id,
            "trigger_id": trigger,
            "team": {"id": slack.api.team_id},
            "container": {
                "type": "message",
                "message_ts": "1767000000.000009",
                "channel_id": dm_channel_id(member),
            },
            "channel": {"id": dm_channel_id(member), "name": "directmessage"},
            "actions": [
                {"action_id": button["action_id"], "value": button["value"], "type": "button"}
            ],
        }
    )
    await slack.process()
    call = slack.api.calls_to("views.open")[-1]
    assert call.error is None and call.params["trigger_id"] == trigger
    return opened_view(call)


async def test_a_survey_is_answered_in_a_modal_and_its_csv_reaches_the_moderator(
    slack: SlackHarness,
) -> None:
    await slack.command("/survey", SURVEY, user=CARLA)
    await slack.process()
    [created] = texts(slack.ephemerals(CARLA))
    assert created.startswith("Survey #1 “Autumn check-in” is ready, with 3 questions.")
    await slack.command("/survey", "send 1", user=CARLA)
    await slack.process()
    await slack.app.dispatcher.dispatch_due()
    assert "3 questions" in texts(slack.posted(dm_channel_id(BRUNO)))[0]
    assert "3 perguntas" in texts(slack.posted(dm_channel_id(DORA)))[0]

    view = await open_survey(slack, BRUNO)
    assert view["callback_id"] == "survey_submit" and view["title"]["text"] == "Survey"
    assert [(b["block_id"], b["element"]["type"], b["optional"]) for b in view["blocks"]] == [
        ("q0", "static_select", False),
        ("q1", "static_select", False),
        ("q2", "plain_text_input", False),
    ]
    assert [o["text"]["text"] for o in view["blocks"][1]["element"]["options"]] == [
        "Monday",
        "Wednesday",
        "Friday",
    ]
    await submit(slack, view, BRUNO, {"q0": "4", "q1": "1", "q2": "More *evening* sessions"})
    assert texts(slack.posted(dm_channel_id(BRUNO)))[-1] == (
        "Thank you! Your answers to “Autumn check-in” are in."
    )
    view = await open_survey(slack, DORA)
    assert view["title"]["text"] == "Pesquisa"
    await submit(slack, view, DORA, {"q0": "2", "q1": "2", "q2": "=cmd|' /C calc'!A0"})

    # A second submission of the same modal is refused: she has answered.
    await submit(slack, view, DORA, {"q0": "5", "q1": "0", "q2": "again"})
    assert (
        texts(slack.posted(dm_channel_id(DORA)))[-1]
        == "Você já respondeu essa pesquisa. Obrigado!"
    )

    # Asked in the channel: only Carla hears that the file went to her DM.
    await slack.command("/survey", "results 1 csv", user=CARLA)
    await slack.process()
    await slack.app.dispatcher.dispatch_due()
    assert texts(slack.ephemerals(CARLA))[-1] == "I have sent it to you privately."
    [upload] = [f for f in slack.api.files.values() if f.filename == "survey-1.csv"]
    assert upload.completed and upload.channel_id == dm_channel_id(CARLA)
    assert upload.data is not None
    rows = list(csv.reader(io.StringIO(upload.data.decode("utf-8"))))
    assert rows[0] == [
        "person",
        "answered at",
        "How useful were the sessions?",
        "Which day suits you?",
        "What should we change?",
    ]
    assert {row[0]: row[2:] for row in rows[1:]} == {
        "bruno": ["4", "Wednesday", "More *evening* sessions"],
        "dora": ["2", "Friday", "'=cmd|' /C calc'!A0"],
    }


async def test_a_member_cannot_create_a_survey_on_slack(slack: SlackHarness) -> None:
    await slack.command("/survey", SURVEY, user=BRUNO)
    await slack.process()
    [refused] = texts(slack.ephemerals(BRUNO))
    assert refused.startswith("Sorry, /survey new is for the moderator role or above")
