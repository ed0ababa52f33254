"""Polls: clear errors for bad input, one changeable vote per member, results at the close."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from facilitator.commands.spec import ArgumentError
from facilitator.domain.events import (
    ButtonPressed,
    CommandInvoked,
    MessageReceived,
    Origin,
    PollVoteCast,
)
from facilitator.domain.model import ParticipationKind, Platform, PlatformUser, Role
from facilitator.domain.outbox import OutboxEntry, OutboxStatus
from facilitator.features.polls.domain import PollDraft
from facilitator.features.polls.parsing import parse_poll
from facilitator.features.polls.ports import PollRepository
from facilitator.features.polls.service import REMIND, Polls, poll_key
from facilitator.markup import Destination, OutboundMessage, RichText, Style
from tests.conftest import Harness, prompt_words

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


# -- parsing ----------------------------------------------------------------------------------


def test_a_poll_with_quoted_options_flags_and_a_closing_time_is_understood() -> None:
    draft = parse_poll(
        '"Which day suits you?" "Monday" "Wednesday afternoon" Friday multi remind closes in 2d',
        NOW,
        "America/Santiago",
        prompt_words(),
    )
    assert draft.question == "Which day suits you?"
    assert draft.options == ("Monday", "Wednesday afternoon", "Friday")
    assert (draft.multiple, draft.anonymous, draft.remind) == (True, False, True)
    assert draft.closes_at == NOW + timedelta(days=2)


def test_a_closing_date_is_read_in_the_communitys_time_zone() -> None:
    draft = parse_poll('"Q?" "A" "B" closes 2026-11-05 15:00', NOW, "America/Santiago")
    assert draft.closes_at == datetime(2026, 11, 5, 18, 0, tzinfo=UTC)  # UTC-3 in November


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ('"Only one?" "Yes"', "polls.errors.too_few"),
        ('"Q?" ' + " ".join(f'"o{n}"' for n in range(11)), "polls.errors.too_many"),
        ('"Q?" "A" ""', "polls.errors.empty_option"),
        ('"' + "x" * 301 + '" "A" "B"', "polls.errors.question_too_long"),
        ('"Q?" "A" "' + "y" * 101 + '"', "polls.errors.option_too_long"),
        ('"Q?" "Yes" "yes"', "polls.errors.duplicate_option"),
        ('"Q?" "A" "B" closes 2026-11-01', "polls.errors.in_the_past"),
        ('"Q?" "A" "B" closes in soon', "polls.errors.bad_close"),
        ('"Q?" "A" "B" closes in 2m', "polls.errors.too_soon"),
        ('"Q?" "A" "B" remind', "polls.errors.remind_needs_close"),
        ('""', "polls.errors.no_question"),
    ],
)
def test_bad_poll_input_names_what_to_fix(raw: str, key: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        parse_poll(raw, NOW, "UTC")
    assert caught.value.key == key


# -- through the core -------------------------------------------------------------------------


def press(harness: Harness, user: str, value: str) -> ButtonPressed:
    harness.seq += 1
    origin = Origin(
        platform=Platform.CONSOLE,
        event_id=f"press:{harness.seq}",
        chat_id="demo",
        user=PlatformUser(Platform.CONSOLE, user, user.title(), "en"),
        occurred_at=harness.clock.now(),
    )
    return ButtonPressed(origin, "poll_vote", value)


async def posted_poll(harness: Harness, text: str) -> OutboundMessage:
    await harness.community()
    [created] = await harness.say(text, user="ana")
    assert created.startswith("Poll #1 is posted.")
    await harness.app.dispatcher.dispatch_due()
    return harness.messenger.sent[-1][1]


async def test_a_poll_is_posted_with_one_button_per_option(harness: Harness) -> None:
    message = await posted_poll(harness, '/poll "Lunch or dinner?" Lunch Dinner closes in 1d')
    assert message.body.plain().splitlines() == [
        "📊 Lunch or dinner?",
        "1. Lunch",
        "2. Dinner",
        "Choose one with the buttons below; you can change your vote until the poll closes.",
        "Closes on 2026-11-03 09:00 (America/Santiago).",
    ]
    assert [[(b.label, b.value) for b in row] for row in message.buttons] == [
        [("Lunch", "1:0")],
        [("Dinner", "1:1")],
    ]
    assert message.poll is not None and message.poll.options == ("Lunch", "Dinner")


async def test_bad_input_gets_a_clear_message_and_the_usage(harness: Harness) -> None:
    await harness.community()
    [reply] = await harness.say('/poll "Only one option?" "Yes"', user="ana")
    assert reply.splitlines()[0] == (
        "A poll needs at least 2 options; I found 1. Put each option between quotes."
    )
    assert reply.splitlines()[1].startswith('Usage: /poll "Question?" "Option A"')


async def test_each_member_has_one_vote_they_can_change_until_the_close(
    harness: Harness,
) -> None:
    await posted_poll(harness, '/poll "Lunch or dinner?" Lunch Dinner')
    [first] = await harness.dispatch(press(harness, "bea", "1:0"))
    [changed] = await harness.dispatch(press(harness, "bea", "1:1"))
    await harness.dispatch(press(harness, "carla", "1:1"))
    assert first == (
        "Your vote on “Lunch or dinner?”: Lunch. You can change it until the poll closes."
    )
    assert changed.startswith("Your vote on “Lunch or dinner?”: Dinner.")
    [closing] = await harness.say("/poll close", user="ana")
    assert closing == "Closing poll #1 “Lunch or dinner?”: the results follow."
    await harness.app.dispatcher.dispatch_due()
    results = harness.messenger.sent[-1][1]
    assert results.body.plain().splitlines() == [
        "📊 Results: Lunch or dinner?",
        "• Lunch: 0 (0%)",
        "• Dinner: 2 (100%)",
        "2 votes in total.",
    ]
    assert results.attachment is not None and results.attachment.mime_type == "image/png"
    assert results.attachment.content.startswith(b"\x89PNG")
    [late] = await harness.dispatch(press(harness, "dora", "1:0"))
    assert late == "The poll “Lunch or dinner?” is closed."
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_key("demo")
        assert community is not None
        assert await uow.ledger.count(community.id, ParticipationKind.POLL_VOTE.value) == 2


async def test_a_multiple_choice_press_toggles_one_option(harness: Harness) -> None:
    await posted_poll(harness, '/poll "Topics?" Water Energy Transport multi')
    await harness.dispatch(press(harness, "bea", "1:0"))
    [both] = await harness.dispatch(press(harness, "bea", "1:2"))
    [one] = await harness.dispatch(press(harness, "bea", "1:0"))
    [none] = await harness.dispatch(press(harness, "bea", "1:2"))
    assert "Water, Transport." in both
    assert "Transport." in one and "Water" not in one
    assert none == "You took back your vote on “Topics?”."


async def test_a_poll_closes_by_itself_at_its_deadline(harness: Harness) -> None:
    await posted_poll(harness, '/poll "Lunch or dinner?" Lunch Dinner closes in 3h')
    await harness.dispatch(press(harness, "bea", "1:0"))
    harness.clock.advance(hours=2, minutes=59)
    assert await harness.app.dispatcher.dispatch_due() == 0
    harness.clock.advance(minutes=1)
    assert await harness.app.dispatcher.dispatch_due() == 1
    assert harness.messenger.last().startswith("📊 Results: Lunch or dinner?")
    assert harness.messenger.sent[-1][1].attachment is None  # one vote: no chart needed
    [none] = await harness.say("/poll close", user="ana")
    assert none.startswith("There is no open poll to close here.")


async def test_only_the_author_or_a_moderator_closes_a_poll_early(harness: Harness) -> None:
    await posted_poll(harness, '/poll "Lunch or dinner?" Lunch Dinner closes in 3h')
    [refused] = await harness.say("/poll close 1", user="bea")
    await harness.grant("dora", Role.MODERATOR)
    [done] = await harness.say("/poll close 1", user="dora")
    assert refused.startswith("Poll #1 can be closed early only by")
    assert done.startswith("Closing poll #1")
    assert await harness.app.dispatcher.dispatch_due() == 1
    harness.clock.advance(hours=4)
    assert await harness.app.dispatcher.dispatch_due() == 0  # the deadline's close is gone


async def test_members_seen_lately_who_did_not_vote_get_one_reminder(harness: Harness) -> None:
    await harness.community()
    for user in ("bea", "carla", "dora"):
        await harness.say("hello", user=user)
    await posted_poll(harness, '/poll "Lunch or dinner?" Lunch Dinner remind closes in 2d')
    await harness.dispatch(press(harness, "bea", "1:0"))
    harness.clock.advance(hours=23, minutes=59)
    assert await harness.app.dispatcher.dispatch_due() == 0
    harness.clock.advance(minutes=1)  # a day before the close
    assert await harness.app.dispatcher.dispatch_due() == 1
    reminder = harness.messenger.sent[-1][1]
    mentioned = [
        span.text for b in reminder.body.blocks for span in b.spans if span.style is Style.MENTION
    ]
    assert mentioned == ["Carla", "Dora"]
    assert "closes on 2026-11-04 09:00" in reminder.body.plain()


def mentions(harness: Harness) -> list[str]:
    """Everyone the bot has named in a message so far."""
    return [
        span.text
        for _, message in harness.messenger.sent
        for block in message.body.blocks
        for span in block.spans
        if span.style is Style.MENTION
    ]


async def test_an_anonymous_poll_asked_to_remind_never_names_who_has_not_voted(
    harness: Harness,
) -> None:
    community = await harness.community()
    for user in ("bea", "carla", "dora"):
        await harness.say("hello", user=user)
    # As another feature or a stored poll could have it: anonymous, with a reminder.
    async with harness.app.uow_factory() as uow:
        poll = await harness.app.services.feature(Polls).create_in(
            uow,
            community,
            PollDraft(
                question="Lunch or dinner?",
                options=("Lunch", "Dinner"),
                anonymous=True,
                remind=True,
                closes_at=harness.clock.now() + timedelta(days=2),
            ),
            None,
            None,
        )
        await uow.commit()
    assert await harness.app.dispatcher.dispatch_due() == 1  # the poll
    await harness.dispatch(press(harness, "bea", f"{poll.id}:0"))
    harness.clock.advance(days=1)  # when the reminder of a poll that names no one would be due
    assert await harness.app.dispatcher.dispatch_due() == 0
    harness.clock.advance(days=1)
    assert await harness.app.dispatcher.dispatch_due() == 1
    assert harness.messenger.last().startswith("📊 Results: Lunch or dinner?")
    assert mentions(harness) == []


async def test_a_reminder_queued_for_an_anonymous_poll_is_skipped_without_naming_anyone(
    harness: Harness,
) -> None:
    await harness.community()
    for user in ("bea", "carla"):
        await harness.say("hello", user=user)
    await posted_poll(harness, '/poll "Lunch or dinner?" Lunch Dinner anonymous closes in 2d')
    # A reminder row left from before anonymous polls lost theirs.
    async with harness.app.uow_factory() as uow:
        poll = await uow.repo(PollRepository).get(1)
        assert poll is not None and poll.anonymous
        await uow.outbox.add(
            OutboxEntry(
                dedup_key=poll_key(poll.id, "remind"),
                kind=REMIND,
                destination=Destination(Platform.CONSOLE, "demo"),
                message=OutboundMessage(RichText()),
                due_at=harness.clock.now() + timedelta(days=1),
                community_id=poll.community_id,
            ),
            harness.clock.now(),
        )
        await uow.commit()
    sent = len(harness.messenger.sent)
    harness.clock.advance(days=1)
    assert await harness.app.dispatcher.dispatch_due() == 0
    assert len(harness.messenger.sent) == sent and mentions(harness) == []
    async with harness.app.uow_factory() as uow:
        reminder = await uow.outbox.by_key(poll_key(1, "remind"))
    assert reminder is not None and reminder.status is OutboxStatus.SKIPPED


@dataclass
class NativeMessenger:
    """A messenger like Telegram's: polls come back as `<message id>:<poll id>`."""

    sent: list[tuple[Destination, OutboundMessage]] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    counts: list[int] | None = None

    async def send(self, destination: Destination, message: OutboundMessage) -> str | None:
        self.sent.append((destination, message))
        return "77:5830001" if message.poll is not None else str(len(self.sent))

    async def close_poll(self, destination: Destination, message_id: str) -> list[int] | None:
        self.stopped.append(message_id)
        return self.counts


def group_origin(harness: Harness, user: str, n: int) -> Origin:
    return Origin(
        platform=Platform.TELEGRAM,
        event_id=f"tg:{n}",
        chat_id="-100500",
        user=PlatformUser(Platform.TELEGRAM, user, user.title(), "en"),
        occurred_at=harness.clock.now(),
        chat_title="Water",
        message_id=str(n),
    )


def vote(harness: Harness, voter: str, options: tuple[int, ...]) -> PollVoteCast:
    origin = Origin(
        platform=Platform.TELEGRAM,
        event_id=f"poll:5830001:voter:{voter}",
        chat_id=voter,
        user=PlatformUser(Platform.TELEGRAM, voter, voter.title(), "en"),
        occurred_at=harness.clock.now(),
        is_direct=True,
    )
    return PollVoteCast(origin, "5830001", options)


async def test_telegram_votes_find_their_poll_and_community_by_telegrams_poll_id(
    harness: Harness,
) -> None:
    messenger = NativeMessenger()
    harness.app.sender.messengers[Platform.TELEGRAM] = messenger
    await harness.dispatch(CommandInvoked(group_origin(harness, "ana", 1), "poll", '"Q?" A B'))
    await harness.app.dispatcher.dispatch_due()
    assert messenger.sent[-1][1].poll is not None
    for n, member in enumerate(("301", "302"), start=10):
        await harness.dispatch(MessageReceived(group_origin(harness, member, n), "hello"))
    await harness.dispatch(vote(harness, "301", (1,)))
    await harness.dispatch(vote(harness, "302", (0,)))
    await harness.dispatch(vote(harness, "302", ()))  # took the vote back
    await harness.dispatch(CommandInvoked(group_origin(harness, "ana", 2), "poll", "close"))
    await harness.app.dispatcher.dispatch_due()
    assert messenger.stopped == ["77"]
    assert messenger.sent[-1][1].body.plain().splitlines()[1:3] == ["• A: 0 (0%)", "• B: 1 (100%)"]
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, "-100500")
        assert community is not None
        assert await uow.ledger.count(community.id, ParticipationKind.POLL_VOTE.value) == 2


async def test_an_anonymous_telegram_poll_takes_its_counts_from_telegram(
    harness: Harness,
) -> None:
    messenger = NativeMessenger(counts=[4, 6])
    harness.app.sender.messengers[Platform.TELEGRAM] = messenger
    await harness.dispatch(
        CommandInvoked(group_origin(harness, "ana", 1), "poll", '"Q?" A B anonymous')
    )
    await harness.app.dispatcher.dispatch_due()
    assert messenger.sent[-1][1].poll is not None and messenger.sent[-1][1].poll.anonymous
    await harness.dispatch(CommandInvoked(group_origin(harness, "ana", 2), "poll", "close"))
    await harness.app.dispatcher.dispatch_due()
    assert "• B: 6 (60%)" in messenger.sent[-1][1].body.plain()
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, "-100500")
        assert community is not None
        [closed] = await uow.repo(PollRepository).closed_between(
            community.id,
            harness.clock.now() - timedelta(days=7),
            harness.clock.now() + timedelta(seconds=1),
        )
    assert closed.final_counts == (4, 6)  # what the weekly summary reads


async def test_closing_a_closed_poll_says_so_with_its_results(harness: Harness) -> None:
    await posted_poll(harness, '/poll "Lunch or dinner?" Lunch Dinner closes in 3h')
    await harness.dispatch(press(harness, "bea", "1:1"))
    harness.clock.advance(hours=3)
    assert await harness.app.dispatcher.dispatch_due() == 1
    [again] = await harness.say("/poll close 1", user="ana")
    assert again.splitlines() == [
        "Poll #1 “Lunch or dinner?” is already closed. Its results:",
        "📊 Results: Lunch or dinner?",
        "• Lunch: 0 (0%)",
        "• Dinner: 1 (100%)",
        "1 vote in total.",
    ]
    destination, message = harness.messenger.sent[-1]
    assert destination.user_id == "ana" and message.ephemeral  # to ana alone
    [spanish] = await harness.say("/poll close 1", user="bea", locale="es")
    assert spanish.startswith("La encuesta #1 «Lunch or dinner?» ya está cerrada.")
    assert await harness.app.dispatcher.dispatch_due() == 0  # nothing posted in the group
