"""The living repository on Slack, over real HTTP: signed events and interactions POSTed to
/slack/events, the fake Web API recording what the bot did. A question nobody could answer
becomes a gap; an expert answers in its thread; a moderator chooses "Save to repository" on
the answer, which opens a modal prefilled with question and answer; the saved draft is
approved; the asker gets the answer privately; a paraphrase is then answered; /gaps no
longer lists it; the week's summary counts one gap closed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from adapters.slack.manifest import SAVE_SHORTCUT
from facilitator.domain.model import Community, Platform
from facilitator.features.knowledge.feature import CLOSE_GAPS_JOB
from facilitator.features.knowledge.loading import ingest_directory
from facilitator.features.participation.summary import IsoWeek, figures_for
from tests.adapters.fakes.slack_api import FakeSlackAPI, dm_channel_id
from tests.adapters.slack_support import CHANNEL, SlackHarness, slack_harness, texts
from tests.adapters.test_slack_forms import opened_view, submit
from tests.conftest import REPO_ROOT, FrozenClock

CARLA, BRUNO, DANA, EVE = "U0CARLA", "U0BRUNO", "U0DANA", "U0EVE"  # Carla moderates
QUESTION = "how do we budget travel for field visits to remote municipalities"
ANSWER = (
    "We budget a fixed daily allowance per person and book transport three weeks ahead; "
    "the regional office pays fuel for visits to remote municipalities."
)


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    members = [fake_slack.bot_user_id, CARLA, BRUNO, DANA, EVE]
    fake_slack.set_channel(CHANNEL, name="learners", members=members)
    for user in (CARLA, BRUNO, DANA, EVE):
        # Carla, who adds the bot, administers the workspace.
        fake_slack.set_user(user, name=user[2:].lower(), locale="en-US", is_admin=user == CARLA)
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        bot = fake_slack.bot_user_id
        await harness.event(
            {"type": "member_joined_channel", "user": bot, "channel": CHANNEL, "inviter": CARLA}
        )
        await harness.process()
        community = await _community(harness)
        report = await ingest_directory(
            harness.app.uow_factory, REPO_ROOT / "data" / "knowledge", community.key, clock
        )
        assert report.errors == []
        yield harness


async def _community(slack: SlackHarness) -> Community:
    async with slack.app.uow_factory() as uow:
        found = await uow.communities.by_chat(Platform.SLACK, CHANNEL)
    assert found is not None
    return found


async def _message(
    slack: SlackHarness, user: str, text: str, *, thread_ts: str | None = None, parent: str = ""
) -> str:
    ts = slack.next_ts()
    event: dict[str, Any] = {
        "type": "message",
        "channel": CHANNEL,
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": ts,
    }
    if thread_ts is not None:
        event.update(thread_ts=thread_ts, parent_user_id=parent)
    response = await slack.event(event)
    assert response.status_code == 200
    await slack.process()
    return ts


def _shortcut(slack: SlackHarness, user: str, ts: str, author: str, text: str) -> dict[str, Any]:
    """A message shortcut as Slack sends it (type message_action)."""
    return {
        "type": "message_action",
        "token": "unused",
        "action_ts": slack.next_ts(),
        "team": {"id": slack.api.team_id, "domain": "test"},
        "user": {"id": user, "name": user.lower(), "team_id": slack.api.team_id},
        "channel": {"id": CHANNEL, "name": "learners"},
        "is_enterprise_install": False,
        "callback_id": SAVE_SHORTCUT,
        "trigger_id": f"{slack.next_ts()}.shortcut",
        "response_url": "https://example.invalid/not-slack",
        "message_ts": ts,
        "message": {"type": "message", "user": author, "text": text, "ts": ts},
    }


async def test_an_answer_saved_with_the_shortcut_closes_the_gap_and_tells_the_asker(
    slack: SlackHarness,
) -> None:
    bot = slack.api.bot_user_id
    asked = await _message(slack, BRUNO, f"<@{bot}> {QUESTION}")
    assert texts(slack.posted(CHANNEL))[-1].startswith("I don't know that one yet.")
    answered = await _message(slack, DANA, ANSWER, thread_ts=asked, parent=BRUNO)
    # Carla, the moderator, was offered to save it, privately.
    await slack.app.dispatcher.dispatch_due()
    assert any("replied to" in t for t in texts(slack.posted(dm_channel_id(CARLA))))

    # A member other than the author cannot save it.
    response = await slack.interaction(_shortcut(slack, EVE, answered, DANA, ANSWER))
    assert response.status_code == 200
    await slack.process()
    assert slack.api.calls_to("views.open") == []
    assert "Only a moderator" in texts(slack.ephemerals(EVE))[-1]

    # The shortcut opens a modal prefilled with the gap's question and the answer.
    response = await slack.interaction(_shortcut(slack, CARLA, answered, DANA, ANSWER))
    assert response.status_code == 200
    await slack.process()
    view = opened_view(slack.api.calls_to("views.open")[-1])
    initial = {
        b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if "element" in b
    }
    assert initial == {"question": QUESTION, "answer": ANSWER}
    assert json.loads(view["private_metadata"])["channel"] == CHANNEL
    await submit(slack, view, CARLA, {"question": QUESTION + "?", "answer": ANSWER})
    saved = texts(slack.ephemerals(CARLA))[-1]
    assert saved.startswith("Saved as a draft for the repository (#"), saved
    item_id = int(saved.split("(#")[1].split(")")[0])
    await slack.app.dispatcher.dispatch_due()
    assert "Your answer was saved" in texts(slack.posted(dm_channel_id(DANA)))[-1]

    await slack.command("/approve", str(item_id), user=CARLA)
    await slack.process()
    assert any(f"Approved and published: #{item_id}" in t for t in texts(slack.posted()))

    [job] = [j for j in slack.app.jobs if j.job_id == CLOSE_GAPS_JOB]
    assert await job.run(slack.clock.now()) == 1
    await slack.app.dispatcher.dispatch_due()
    told = texts(slack.posted(dm_channel_id(BRUNO)))
    assert any("Your question has an answer" in t and "fixed daily" in t for t in told)

    await _message(slack, EVE, f"<@{bot}> how should we budget travel for visits to remote towns")
    assert "fixed daily allowance" in texts(slack.posted(CHANNEL))[-1]
    await slack.command("/gaps", "", user=CARLA)
    await slack.process()
    assert "No unanswered questions in the last 30 days." in texts(slack.ephemerals(CARLA))

    community = await _community(slack)
    start, end = IsoWeek.containing(slack.clock.now().date()).bounds(community.timezone)
    async with slack.app.uow_factory() as uow:
        figures = await figures_for(uow, community, start, end)
    assert (figures.unanswered_lookups, figures.gaps_closed) == (1, 1)
