"""Announcements on Slack, end to end over HTTP: a moderator fills in the /announce modal
with an English and a Spanish version for tomorrow; when the job finds it due, the channel
gets one post (English, the channel's language, first) and the two members who opted in get
a direct message each in their own language; a member who did not opt in gets nothing. The
typed command, a refusal and the list go the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from facilitator.features.announcements.service import JOB
from tests.adapters.fakes.slack_api import FakeSlackAPI, dm_channel_id
from tests.adapters.slack_support import CHANNEL, SlackHarness, slack_harness, texts
from tests.adapters.test_slack_forms import open_modal, submit
from tests.conftest import FrozenClock

CARLA = "U0CARLA"  # adds the bot: a moderator
BRUNO = "U0BRUNO"  # opts in, reads English
DIEGO = "U0DIEGO"  # opts in, reads Spanish
ELSA = "U0ELSA"  # a member who does not opt in


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    members = [fake_slack.bot_user_id, CARLA, BRUNO, DIEGO, ELSA]
    fake_slack.set_channel(CHANNEL, name="learners", members=members)
    fake_slack.set_user(CARLA, name="carla", locale="en-US", is_admin=True)
    fake_slack.set_user(BRUNO, name="bruno", locale="en-US")
    fake_slack.set_user(DIEGO, name="diego", locale="es-LA")
    fake_slack.set_user(ELSA, name="elsa", locale="en-GB")
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        bot = fake_slack.bot_user_id
        await harness.event(
            {"type": "member_joined_channel", "user": bot, "channel": CHANNEL, "inviter": CARLA}
        )
        await harness.process()
        yield harness


async def run_job(slack: SlackHarness) -> int:
    [job] = [j for j in slack.app.jobs if j.job_id == JOB]
    return int(await job.run(slack.clock.now()) or 0)


def direct_texts(slack: SlackHarness, user: str) -> list[str]:
    return texts(slack.posted(dm_channel_id(user)))


async def test_the_modal_schedules_an_announcement_posted_once_with_copies_per_language(
    slack: SlackHarness,
) -> None:
    for member in (BRUNO, DIEGO):
        await slack.command("/announce", "subscribe", user=member)
    await slack.event(
        {"type": "message", "user": ELSA, "channel": CHANNEL, "text": "hi", "ts": slack.next_ts()}
    )
    await slack.process()

    view = await open_modal(slack, "/announce", "", user=CARLA)
    assert view["callback_id"] == "form:announce"
    assert view["title"]["text"] == "New announcement"
    assert [b["block_id"] for b in view["blocks"]] == [
        "en",
        "es",
        "pt",
        "date",
        "time",
        "options",
        "to",
    ]
    await submit(
        slack,
        view,
        CARLA,
        {
            "en": "Clinic *tomorrow* at <10> & bring $5",
            "es": "Clínica mañana a las 10",
            "date": "2026-11-03",
            "time": "09:00",
        },
    )
    [scheduled] = [t for t in texts(slack.ephemerals(CARLA)) if "scheduled" in t]
    assert scheduled.startswith("Announcement #1 for learners is scheduled for 2026-11-03 09:00")
    await slack.app.dispatcher.dispatch_due()
    before = len(slack.posted(CHANNEL))

    assert await run_job(slack) == 0
    slack.clock.advance(days=1)
    assert await run_job(slack) == 1
    assert await run_job(slack) == 0
    await slack.app.dispatcher.dispatch_due()
    await slack.app.dispatcher.dispatch_due()

    [post] = slack.posted(CHANNEL)[before:]
    shown = str(post.params["text"])
    english = shown.index("Clinic")
    assert english < shown.index("Español") < shown.index("Clínica mañana a las 10")
    assert "&lt;10&gt; &amp; bring $5" in shown  # escaped, never markup
    assert [t for t in direct_texts(slack, BRUNO) if "📣" in t] == [
        # The label is bold; the member's stars are look-alikes, not formatting.
        "📣 *Announcement* from learners\nClinic \u2217tomorrow\u2217 at &lt;10&gt; &amp; bring $5"
    ]
    assert [t for t in direct_texts(slack, DIEGO) if "📣" in t] == [
        "📣 *Anuncio* de learners\nClínica mañana a las 10"
    ]
    assert direct_texts(slack, ELSA) == []
    assert slack.api.calls_to("pins.add") == []


async def test_a_member_is_refused_and_the_moderator_lists_and_cancels_by_command(
    slack: SlackHarness,
) -> None:
    await slack.command("/announce", "Free pizza in room 2", user=ELSA)
    await slack.process()
    [refused] = texts(slack.ephemerals(ELSA))
    assert refused.startswith("Sorry, /announce is for the moderator role or above")

    await slack.command("/announce", "at tomorrow 18:00 Pizza\nes: Pizza para todos", user=CARLA)
    await slack.process()
    await slack.command("/announce", "list", user=CARLA)
    await slack.process()
    listed = texts(slack.ephemerals(CARLA))[-1]
    assert "#1 2026-11-03 18:00" in listed and "Pizza" in listed
    await slack.command("/announce", "cancel 1", user=CARLA)
    await slack.process()
    assert texts(slack.ephemerals(CARLA))[-1].startswith("Announcement #1 is cancelled")
    slack.clock.advance(days=2)
    assert await run_job(slack) == 0
