"""Membership follows what the platform says: leaving ends the role given in the bot, poll
votes and buttons never make a member, and adding the bot makes a moderator only of a group
administrator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from facilitator.domain.events import (
    BotAdded,
    CommandInvoked,
    MemberJoined,
    MemberLeft,
    MessageReceived,
    Origin,
    PollVoteCast,
)
from facilitator.domain.model import Platform, PlatformUser, Role
from facilitator.markup import Destination, OutboundMessage
from tests.conftest import Harness, RecordingMessenger

NATIVE_POLL = "5830001"


@dataclass
class NativePollsRecorder:
    """The harness's transcript, sending polls as Telegram does: they come back as
    `<message id>:<poll id>`, and votes by that poll id."""

    transcript: RecordingMessenger

    async def send(self, destination: Destination, message: OutboundMessage) -> str | None:
        sent = await self.transcript.send(destination, message)
        return f"77:{NATIVE_POLL}" if message.poll is not None else sent

    async def close_poll(self, destination: Destination, message_id: str) -> list[int] | None:
        return None


GROUP = "-1001"
KEY = f"telegram:{GROUP}"


def person(user: str, *, admin: bool = False) -> PlatformUser:
    return PlatformUser(Platform.TELEGRAM, user, user.title(), "en", is_platform_admin=admin)


def origin(harness: Harness, user: str, *, direct: bool = False, admin: bool = False) -> Origin:
    harness.seq += 1
    return Origin(
        platform=Platform.TELEGRAM,
        event_id=f"e{harness.seq}",
        chat_id=user if direct else GROUP,
        user=person(user, admin=admin),
        occurred_at=datetime(2026, 11, 2, 12, 0, tzinfo=UTC),
        chat_title=None if direct else "Water and sanitation CoP",
        is_direct=direct,
        message_id=str(harness.seq),
    )


async def command(harness: Harness, user: str, text: str, *, direct: bool = True) -> str:
    name, _, args = text.partition(" ")
    [reply] = await harness.dispatch(
        CommandInvoked(origin(harness, user, direct=direct), name, args)
    )
    return reply


async def group_with_moderator(harness: Harness, user: str = "mo") -> None:
    # Polls are sent as Telegram's own polls, whose votes come back by the poll's id.
    harness.app.sender.messengers[Platform.TELEGRAM] = NativePollsRecorder(harness.messenger)
    await harness.dispatch(MessageReceived(origin(harness, user), "hello"))
    await harness.app.roles.grant(Platform.TELEGRAM, user, Role.MODERATOR, KEY)


async def membership_of(harness: Harness, user: str) -> tuple[Role, bool] | None:
    """(role, current) of the user's membership of the group, or None."""
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_key(KEY)
        member = await uow.members.identity(Platform.TELEGRAM, user)
        assert community is not None and member is not None
        found = await uow.members.membership(member.person_id, community.id)
    return None if found is None else (found.role, found.left_at is None)


async def test_a_moderator_who_leaves_loses_the_role_and_privately_is_refused(
    harness: Harness,
) -> None:
    await group_with_moderator(harness)
    assert (await command(harness, "mo", "members")).startswith("1 member")

    await harness.dispatch(MemberLeft(origin(harness, "mo"), person("mo")))

    assert await membership_of(harness, "mo") == (Role.MEMBER, False)
    for text in ("members", "outbox", "gaps", "faq remove 1", "webinar cancel 1"):
        refused = await command(harness, "mo", text)
        assert refused.startswith("Sorry, /"), text
        assert "is for the moderator role or above" in refused


async def test_a_removed_moderator_who_is_added_back_is_a_plain_member(
    harness: Harness,
) -> None:
    await group_with_moderator(harness)
    await harness.dispatch(MemberLeft(origin(harness, "admin"), person("mo")))
    await harness.dispatch(MemberJoined(origin(harness, "admin"), person("mo")))

    assert await membership_of(harness, "mo") == (Role.MEMBER, True)
    assert (await command(harness, "mo", "members", direct=False)).startswith("Sorry, /members")
    assert (await command(harness, "mo", "whoami")).startswith("You are Mo, with the member role")


async def test_an_outsider_voting_on_a_forwarded_poll_gets_no_membership_nor_private_access(
    harness: Harness,
) -> None:
    await group_with_moderator(harness)
    await command(harness, "mo", 'poll "Lunch or dinner?" Lunch Dinner', direct=False)
    await command(
        harness,
        "mo",
        'webinar add "Water plans" 2026-12-03 15:00 https://meet.example.org/secret #water',
        direct=False,
    )
    await command(harness, "mo", 'faq add "Visa?" "Ask the embassy" #visa', direct=False)
    await harness.app.dispatcher.dispatch_due()

    vote = origin(harness, "otto", direct=True)
    await harness.dispatch(PollVoteCast(vote, NATIVE_POLL, (0,)))

    async with harness.app.uow_factory() as uow:
        otto = await uow.members.identity(Platform.TELEGRAM, "otto")
        assert otto is not None
        assert await uow.members.memberships(otto.person_id) == []
        assert await uow.members.last_community(otto.person_id) is None
    webinars = await command(harness, "otto", "webinars")
    faq = await command(harness, "otto", "faq visa")
    assert webinars.startswith("This works inside a community chat.")
    # /faq also looks in the installation-wide library; the group's items stay out of reach.
    assert "embassy" not in faq and "Visa" not in faq
    assert "meet.example.org" not in webinars


async def test_the_vote_of_a_member_who_left_is_not_counted_nor_revives_the_membership(
    harness: Harness,
) -> None:
    await group_with_moderator(harness)
    await harness.dispatch(MessageReceived(origin(harness, "bea"), "hi"))
    await command(harness, "mo", 'poll "Lunch or dinner?" Lunch Dinner', direct=False)
    await harness.app.dispatcher.dispatch_due()
    await harness.dispatch(MemberLeft(origin(harness, "bea"), person("bea")))

    await harness.dispatch(PollVoteCast(origin(harness, "bea", direct=True), NATIVE_POLL, (1,)))

    assert await membership_of(harness, "bea") == (Role.MEMBER, False)
    [closing] = await harness.dispatch(CommandInvoked(origin(harness, "mo"), "poll", "close"))
    assert closing.startswith("Closing poll #1")
    await harness.app.dispatcher.dispatch_due()
    assert "0 votes in total." in harness.messenger.last()


async def test_a_plain_member_who_adds_the_bot_again_does_not_become_moderator(
    harness: Harness,
) -> None:
    await harness.dispatch(MessageReceived(origin(harness, "bea"), "hello"))
    [hello] = await harness.dispatch(BotAdded(origin(harness, "bea")))

    assert "Thanks for adding me, Bea." in hello and "you can manage me" not in hello
    assert await membership_of(harness, "bea") == (Role.MEMBER, True)
    assert (await command(harness, "bea", "members")).startswith("Sorry, /members")


async def test_a_group_administrator_who_adds_the_bot_becomes_its_moderator(
    harness: Harness,
) -> None:
    [hello, *_] = await harness.dispatch(BotAdded(origin(harness, "owner", admin=True)))

    assert "Owner, you can manage me here as a moderator." in hello
    assert await membership_of(harness, "owner") == (Role.MODERATOR, True)
    assert (await command(harness, "owner", "members")).startswith("1 member")


async def test_a_moderator_removed_and_added_back_who_re_adds_the_bot_stays_a_member(
    harness: Harness,
) -> None:
    await group_with_moderator(harness)
    await harness.dispatch(MemberLeft(origin(harness, "admin"), person("mo")))
    await harness.dispatch(MemberJoined(origin(harness, "admin"), person("mo")))
    await harness.dispatch(BotAdded(origin(harness, "mo")))

    assert await membership_of(harness, "mo") == (Role.MEMBER, True)
