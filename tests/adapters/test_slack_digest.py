"""The digest on Slack: chosen with the slash command (answered ephemerally), sent as a
direct message in the member's language, with each item a link element and its title as
literal text; a member who left the channel gets nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from facilitator.domain.model import Platform
from facilitator.features.digest.service import JOB_ID
from facilitator.features.knowledge.domain import ItemType, KnowledgeItem
from facilitator.features.knowledge.ports import KnowledgeRepository
from tests.adapters.fakes.slack_api import FakeSlackAPI
from tests.adapters.slack_support import CHANNEL, SlackHarness, slack_harness, texts
from tests.conftest import FrozenClock

CARLA, BRUNO = "U0CARLA", "U0BRUNO"
TITLE = "*bold* <!here> & $5 =SUM(1)"


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    members = [fake_slack.bot_user_id, CARLA, BRUNO]
    fake_slack.set_channel(CHANNEL, name="learners", members=members)
    fake_slack.set_user(CARLA, name="carla", locale="es-LA", is_admin=True)
    fake_slack.set_user(BRUNO, name="bruno", locale="en-US")
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        bot = fake_slack.bot_user_id
        await harness.event(
            {"type": "member_joined_channel", "user": bot, "channel": CHANNEL, "inviter": CARLA}
        )
        await harness.process()
        yield harness


async def test_the_digest_is_a_direct_message_with_link_elements(slack: SlackHarness) -> None:
    await slack.command("/digest", "semanal", user=CARLA)
    await slack.command("/digest", "weekly", user=BRUNO)
    await slack.process()
    [chosen] = [t for t in texts(slack.ephemerals(CARLA)) if "Listo" in t]
    assert "cada semana" in chosen
    await slack.event(
        {"type": "member_left_channel", "user": BRUNO, "channel": CHANNEL, "channel_type": "C"}
    )
    await slack.process()
    slack.clock.advance(hours=1)
    async with slack.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.SLACK, CHANNEL)
        assert community is not None
        await uow.repo(KnowledgeRepository).upsert(
            KnowledgeItem(
                key="guide",
                type=ItemType.TOOLKIT,
                title=TITLE,
                body="Text.",
                lang="es",
                url="https://example.org/guia",
            ),
            community.id,
            slack.clock.now(),
        )
        await uow.commit()
    slack.clock.advance(days=7)
    [job] = [j for j in slack.app.jobs if j.job_id == JOB_ID]
    assert await job.run(slack.clock.now()) == 1  # Bruno left: only Carla
    await slack.app.dispatcher.dispatch_due()
    [post] = [
        c
        for c in slack.api.calls_to("chat.postMessage")
        if "Tu resumen semanal" in str(c.params.get("text", ""))
    ]
    assert post.params["channel"] == "D0CARLA"  # her direct conversation with the bot
    blocks = json.dumps(post.params["blocks"], ensure_ascii=False)
    link = {"type": "link", "url": "https://example.org/guia", "text": TITLE}
    assert json.dumps(link, ensure_ascii=False)[1:-1] in blocks  # the title is the link's text
    assert not [
        c for c in slack.api.calls_to("chat.postMessage") if BRUNO in str(c.params.get("channel"))
    ]
