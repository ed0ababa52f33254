"""A moderator command sent privately asks Slack (conversations.members, users.info, over HTTP
to the fake Web API) whether the sender is still in the channel: Slack says nothing of a
deactivated account, nor of a removal while the bot was not listening."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from facilitator.domain.model import Platform, Role
from tests.adapters.fakes.slack_api import FakeSlackAPI, dm_channel_id
from tests.adapters.slack_support import CHANNEL, SlackHarness, slack_harness, texts
from tests.conftest import FrozenClock

CARLA, MARIA, ROOT = "U0CARLA", "U0MARIA", "U0ROOT"  # Carla owns the workspace
KEY = f"slack:{CHANNEL}"


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    """Maria was made a moderator with /role; every check asks Slack; Root is an
    installation admin."""
    members = [fake_slack.bot_user_id, CARLA, MARIA, ROOT]
    fake_slack.set_channel(CHANNEL, name="learners", members=members)
    fake_slack.set_user(CARLA, name="carla", locale="en-US", is_owner=True)
    fake_slack.set_user(MARIA, name="maria", locale="pt-BR")
    fake_slack.set_user(ROOT, name="root", locale="en-US")
    async with slack_harness(
        fake_slack, tmp_path, clock, membership_check_seconds=0, admins=f"slack:{ROOT}"
    ) as harness:
        bot = fake_slack.bot_user_id
        await harness.event(
            {"type": "member_joined_channel", "user": bot, "channel": CHANNEL, "inviter": CARLA}
        )
        for who in (MARIA, ROOT):
            ts = harness.next_ts()
            await harness.event(
                {"type": "message", "channel": CHANNEL, "user": who, "text": "oi", "ts": ts}
            )
        await harness.process()
        await harness.app.roles.grant(Platform.SLACK, MARIA, Role.MODERATOR, KEY)
        yield harness


async def _privately(slack: SlackHarness, user: str, command: str) -> str:
    before = len(slack.api.calls_to("chat.postMessage")) + len(
        slack.api.calls_to("chat.postEphemeral")
    )
    await slack.command(command, "", user=user, channel=dm_channel_id(user))
    await slack.process()
    calls = slack.api.calls_to("chat.postMessage") + slack.api.calls_to("chat.postEphemeral")
    assert len(calls) > before
    return texts(slack.posted(dm_channel_id(user)) + slack.ephemerals(user))[-1]


async def _membership(slack: SlackHarness, user: str) -> tuple[Role, bool]:
    async with slack.app.uow_factory() as uow:
        community = await uow.communities.by_key(KEY)
        member = await uow.members.identity(Platform.SLACK, user)
        assert community is not None and member is not None
        found = await uow.members.membership(member.person_id, community.id)
    assert found is not None
    return found.role, found.left_at is None


async def test_a_moderator_no_longer_in_the_channel_is_refused_and_the_membership_closed(
    slack: SlackHarness,
) -> None:
    assert (await _privately(slack, MARIA, "/members")).startswith("*3 ")

    slack.api.set_channel(CHANNEL, name="learners", members=[slack.api.bot_user_id, CARLA, ROOT])
    refused = await _privately(slack, MARIA, "/members")

    assert refused == (
        "Você não está mais em learners, então os comandos de moderação de lá já não são "
        "seus. Se voltar ao grupo, alguém da moderação pode te dar um papel de novo."
    )
    assert await _membership(slack, MARIA) == (Role.MEMBER, False)
    asked = [c.params.get("channel") for c in slack.api.calls_to("conversations.members")]
    assert asked.count(CHANNEL) == 2


async def test_a_deactivated_account_is_refused_whatever_the_channel_lists(
    slack: SlackHarness,
) -> None:
    slack.api.set_user(MARIA, name="maria", locale="pt-BR", deleted=True)
    refused = await _privately(slack, MARIA, "/members")

    assert refused.startswith("Você não está mais em learners")
    assert await _membership(slack, MARIA) == (Role.MEMBER, False)


async def test_an_installation_admin_is_not_asked_about(slack: SlackHarness) -> None:
    slack.api.set_channel(CHANNEL, name="learners", members=[slack.api.bot_user_id])
    assert (await _privately(slack, ROOT, "/members")).startswith("*3 ")
    assert slack.api.calls_to("conversations.members") == []
