"""Reports on Slack, over real HTTP to the fake Web API: the "Report message" shortcut on a
channel message is `/report` replying to it. The moderators hear of it in their direct
conversation with a link to the message, the reporter is thanked there, and the message's
author and the channel hear nothing; a report about a moderator goes to the coordinators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from adapters.slack.manifest import REPORT_SHORTCUT
from facilitator.domain.model import Platform, Role
from facilitator.features.reports.ports import ReportRepository
from tests.adapters.fakes.slack_api import FakeSlackAPI, dm_channel_id
from tests.adapters.slack_support import CHANNEL, SlackHarness, slack_harness
from tests.conftest import FrozenClock

CARLA, BRUNO, EVE, OTTO = "U0CARLA", "U0BRUNO", "U0EVE", "U0OTTO"  # Carla adds the bot
LINK = "https://slack.com/archives/{channel}/p{ts}"


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    fake_slack.set_channel(
        CHANNEL, name="learners", members=[fake_slack.bot_user_id, CARLA, BRUNO, EVE, OTTO]
    )
    for user in (CARLA, BRUNO, OTTO):
        fake_slack.set_user(user, name=user[2:].lower(), locale="en-US")
    fake_slack.set_user(EVE, name="eve", locale="es-ES")
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        bot = fake_slack.bot_user_id
        await harness.event(
            {"type": "member_joined_channel", "user": bot, "channel": CHANNEL, "inviter": CARLA}
        )
        await harness.process()
        await _post(harness, CARLA, "Welcome, everyone")
        await _grant(harness, CARLA, Role.MODERATOR)
        yield harness


async def _post(slack: SlackHarness, user: str, text: str) -> dict[str, Any]:
    message = {
        "type": "message",
        "channel": CHANNEL,
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": slack.next_ts(),
    }
    assert (await slack.event(message)).status_code == 200
    await slack.process()
    return message


async def _report(slack: SlackHarness, user: str, message: dict[str, Any]) -> None:
    payload = {
        "type": "message_action",
        "token": "unused",
        "action_ts": slack.next_ts(),
        "team": {"id": slack.api.team_id, "domain": "test"},
        "user": {"id": user, "name": user.lower(), "team_id": slack.api.team_id},
        "channel": {"id": CHANNEL, "name": "learners"},
        "is_enterprise_install": False,
        "callback_id": REPORT_SHORTCUT,
        "trigger_id": f"{slack.next_ts()}.shortcut",
        "response_url": slack.hooks.url("report"),
        "message_ts": message["ts"],
        "message": {k: v for k, v in message.items() if k not in {"channel", "channel_type"}},
    }
    assert (await slack.interaction(payload)).status_code == 200
    await slack.process()
    await slack.app.dispatcher.dispatch_due()


def _dm(slack: SlackHarness, user: str) -> list[str]:
    return [str(c.params.get("text", "")) for c in slack.posted(dm_channel_id(user))]


def _link(message: dict[str, Any]) -> str:
    return LINK.format(channel=CHANNEL, ts=str(message["ts"]).replace(".", ""))


async def _grant(slack: SlackHarness, user: str, role: Role) -> None:
    async with slack.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.SLACK, CHANNEL)
        member = await uow.members.identity(Platform.SLACK, user)
        assert community is not None and member is not None
        await uow.members.set_role(member.person_id, community.id, role, slack.clock.now())
        await uow.commit()


async def test_a_reported_message_reaches_the_moderator_privately_with_its_link(
    slack: SlackHarness,
) -> None:
    offensive = await _post(slack, BRUNO, "Buy cheap *followers* now <!here> $5 =1+1")
    in_channel = len(slack.posted(CHANNEL))

    await _report(slack, EVE, offensive)

    [notice] = [t for t in _dm(slack, CARLA) if "A message was reported" in t]
    assert _link(offensive) in notice
    assert "followers" in notice and "Eve" not in notice and "eve" not in notice
    assert "<!here>" not in notice  # the member's text never becomes a mention
    [thanks] = _dm(slack, EVE)
    assert thanks.startswith("Gracias por avisar.")
    assert "reenv" not in thanks  # forwarding to the bot is Telegram's private way
    assert _dm(slack, BRUNO) == []
    assert len(slack.posted(CHANNEL)) == in_channel
    assert [c for c in slack.ephemerals() if c.params.get("user") == BRUNO] == []
    async with slack.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.SLACK, CHANNEL)
        assert community is not None
        [stored] = await uow.repo(ReportRepository).open_reports(
            community.id, for_coordinators=True, limit=10
        )
    assert (stored.message_id, stored.link, stored.reason) == (
        offensive["ts"],
        _link(offensive),
        None,
    )
    assert stored.for_coordinators is False


async def test_a_report_about_a_moderator_goes_to_the_coordinators_only(
    slack: SlackHarness,
) -> None:
    await _post(slack, OTTO, "hello")
    await _grant(slack, OTTO, Role.COORDINATOR)
    rude = await _post(slack, CARLA, "Rude words from a moderator")

    await _report(slack, BRUNO, rude)

    [notice] = [t for t in _dm(slack, OTTO) if "reported" in t]
    assert _link(rude) in notice and "Rude words from a moderator" in notice
    assert _dm(slack, CARLA) == []  # the moderator reported learns nothing
    assert _dm(slack, BRUNO)[0].startswith("Thank you for telling us.")


async def test_the_report_command_in_a_channel_points_to_the_shortcut_in_the_members_language(
    slack: SlackHarness,
) -> None:
    response = await slack.command("/report", "spam", user=EVE)
    assert response.status_code == 200
    await slack.process()

    [how] = [c for c in slack.ephemerals(EVE)][-1:]
    assert str(how.params["text"]).startswith("Elige «Reportar mensaje» en el menú del mensaje")
    async with slack.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.SLACK, CHANNEL)
        assert community is not None
        assert (
            await uow.repo(ReportRepository).open_reports(
                community.id, for_coordinators=True, limit=10
            )
            == []
        )
