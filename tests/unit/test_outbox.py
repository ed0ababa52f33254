"""The outbox: each proactive message queued once, sent once, retried within bounds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from facilitator.delivery.handover import about_to_send
from facilitator.domain.errors import (
    ConversationMoved,
    ConversationUnavailable,
    DeliveryError,
    RecipientUnreachable,
    RetryLater,
)
from facilitator.domain.model import Platform, PlatformUser, Role
from facilitator.domain.outbox import Fallback, OutboxEntry, OutboxStatus
from facilitator.markup import Destination, OutboundMessage, RichText, Style
from tests.conftest import Harness

GROUP = "-100200"


@dataclass
class ScriptedMessenger:
    """Answers each send with the next scripted result for its chat: an exception or "ok"."""

    script: dict[str, list[Exception | str]] = field(default_factory=dict)
    sent: list[tuple[Destination, OutboundMessage]] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    link: str | None = "https://t.me/facilitator_test_bot?start=hello"

    async def send(self, destination: Destination, message: OutboundMessage) -> str | None:
        self.attempts.append(destination.chat_id)
        outcomes = self.script.get(destination.chat_id) or []
        outcome = outcomes.pop(0) if outcomes else "ok"
        if isinstance(outcome, Exception):
            raise outcome
        self.sent.append((destination, message))
        return str(len(self.sent))

    def start_link(self, payload: str) -> str | None:
        return self.link

    def to(self, chat_id: str) -> list[str]:
        return [m.body.plain() for d, m in self.sent if d.chat_id == chat_id]


async def queue(
    harness: Harness,
    key: str,
    chat_id: str,
    text: str | None = None,
    *,
    due_in: timedelta = timedelta(0),
    platform: Platform = Platform.TELEGRAM,
    direct: bool = False,
    fallback: Fallback | None = None,
    community_id: int | None = None,
    person_id: int | None = None,
    is_nudge: bool = False,
) -> bool:
    entry = OutboxEntry(
        dedup_key=key,
        kind="test",
        destination=Destination(platform, chat_id, is_direct=direct),
        message=OutboundMessage(RichText.of(text or key)),
        due_at=harness.clock.now() + due_in,
        community_id=community_id,
        person_id=person_id,
        is_nudge=is_nudge,
        fallback=fallback,
    )
    async with harness.app.uow_factory() as uow:
        added = await uow.outbox.add(entry, harness.clock.now())
        await uow.commit()
    return added


def scripted(harness: Harness, script: dict[str, list[Exception | str]]) -> ScriptedMessenger:
    messenger = ScriptedMessenger(script)
    harness.app.sender.messengers[Platform.TELEGRAM] = messenger
    return messenger


async def statuses(harness: Harness) -> dict[str, OutboxStatus]:
    async with harness.app.uow_factory() as uow:
        found = {}
        for key in ("a", "b", "c", "dm1", "dm2", "dm3", "group", "moved", "nudge"):
            record = await uow.outbox.by_key(key)
            if record is not None:
                found[key] = record.status
        return found


async def test_the_same_key_is_queued_once_and_sent_once(harness: Harness) -> None:
    assert await queue(harness, "a", GROUP, "first")
    assert not await queue(harness, "a", GROUP, "second")
    assert await harness.app.dispatcher.dispatch_due() == 1
    assert await harness.app.dispatcher.dispatch_due() == 0
    assert harness.messenger.texts() == ["first"]


async def test_a_message_waits_for_its_due_time(harness: Harness) -> None:
    await queue(harness, "a", GROUP, "later", due_in=timedelta(hours=2))
    assert await harness.app.dispatcher.dispatch_due() == 0
    harness.clock.advance(hours=2)
    assert await harness.app.dispatcher.dispatch_due() == 1
    assert harness.messenger.texts() == ["later"]


async def test_messages_to_one_chat_keep_their_order(harness: Harness) -> None:
    for n in range(12):
        await queue(harness, f"m{n}", GROUP if n % 2 else "-100300", f"{n}")
    await harness.app.dispatcher.dispatch_due()
    to_group = [m.body.plain() for d, m in harness.messenger.sent if d.chat_id == GROUP]
    assert to_group == ["1", "3", "5", "7", "9", "11"]


async def test_retry_after_is_honoured_before_the_next_attempt(harness: Harness) -> None:
    messenger = scripted(harness, {GROUP: [RetryLater(30), RetryLater(30)]})
    await queue(harness, "a", GROUP)
    assert await harness.app.dispatcher.dispatch_due() == 0
    harness.clock.advance(seconds=29)
    assert await harness.app.dispatcher.dispatch_due() == 0
    assert messenger.attempts == [GROUP]  # not tried again before the platform said
    harness.clock.advance(seconds=1)
    await harness.app.dispatcher.dispatch_due()
    harness.clock.advance(seconds=30)
    assert await harness.app.dispatcher.dispatch_due() == 1
    assert messenger.attempts == [GROUP] * 3
    assert messenger.to(GROUP) == ["a"]


async def test_errors_back_off_and_give_up_after_a_bounded_number_of_attempts(
    harness: Harness,
) -> None:
    messenger = scripted(harness, {GROUP: [DeliveryError("network: ConnectError")] * 20})
    await queue(harness, "a", GROUP)
    for _ in range(20):
        await harness.app.dispatcher.dispatch_due()
        harness.clock.advance(hours=1)
    assert len(messenger.attempts) == 8
    assert (await statuses(harness))["a"] is OutboxStatus.FAILED


async def test_backoff_grows_between_attempts(harness: Harness) -> None:
    messenger = scripted(harness, {GROUP: [DeliveryError("boom")] * 3})
    await queue(harness, "a", GROUP)
    await harness.app.dispatcher.dispatch_due()
    harness.clock.advance(seconds=29)
    await harness.app.dispatcher.dispatch_due()
    assert len(messenger.attempts) == 1
    harness.clock.advance(seconds=1)
    await harness.app.dispatcher.dispatch_due()
    assert len(messenger.attempts) == 2
    harness.clock.advance(seconds=59)
    await harness.app.dispatcher.dispatch_due()
    assert len(messenger.attempts) == 2
    harness.clock.advance(seconds=1)
    await harness.app.dispatcher.dispatch_due()
    assert len(messenger.attempts) == 3


async def test_an_unavailable_conversation_fails_at_once_without_retries(
    harness: Harness,
) -> None:
    messenger = scripted(harness, {GROUP: [ConversationUnavailable("bot was kicked")]})
    await queue(harness, "a", GROUP)
    await harness.app.dispatcher.dispatch_due()
    harness.clock.advance(hours=5)
    await harness.app.dispatcher.dispatch_due()
    assert messenger.attempts == [GROUP]
    assert (await statuses(harness))["a"] is OutboxStatus.FAILED


async def test_a_moved_conversation_gets_the_message_at_its_new_id(harness: Harness) -> None:
    messenger = scripted(harness, {GROUP: [ConversationMoved("-100999")]})
    await queue(harness, "moved", GROUP, "hello")
    await harness.app.dispatcher.dispatch_due()
    await harness.app.dispatcher.dispatch_due()
    assert messenger.to("-100999") == ["hello"]
    assert (await statuses(harness))["moved"] is OutboxStatus.SENT


async def test_closed_private_chats_become_one_mention_in_the_group_with_a_start_link(
    harness: Harness,
) -> None:
    messenger = scripted(
        harness,
        {
            "11": [RecipientUnreachable("bot was blocked by the user")],
            "12": [RecipientUnreachable("bot can't initiate conversation")],
        },
    )
    for n, user in ((1, "11"), (2, "12"), (3, "13")):
        await queue(
            harness,
            f"dm{n}",
            user,
            f"private {n}",
            direct=True,
            fallback=Fallback(GROUP, user, f"Person {n}"),
        )
    await harness.app.dispatcher.dispatch_due()
    await harness.app.dispatcher.dispatch_due()
    assert messenger.to("13") == ["private 3"]
    [mention] = [m for d, m in messenger.sent if d.chat_id == GROUP]
    spans = [span for block in mention.body.blocks for span in block.spans]
    assert [(s.text, s.user_id) for s in spans if s.style is Style.MENTION] == [
        ("Person 1", "11"),
        ("Person 2", "12"),
    ]
    [link] = [s for s in spans if s.style is Style.LINK]
    assert link.url == "https://t.me/facilitator_test_bot?start=hello"
    assert "start a chat with me" in mention.body.plain()
    found = await statuses(harness)
    assert (found["dm1"], found["dm2"], found["dm3"]) == (
        OutboxStatus.REDIRECTED,
        OutboxStatus.REDIRECTED,
        OutboxStatus.SENT,
    )


async def test_a_nudge_is_not_sent_to_someone_who_opted_out_meanwhile(harness: Harness) -> None:
    async with harness.app.uow_factory() as uow:
        member = await uow.members.ensure(
            PlatformUser(Platform.TELEGRAM, "11", "Ana"), harness.clock.now()
        )
        await uow.commit()
    await queue(harness, "nudge", "11", direct=True, person_id=member.person_id, is_nudge=True)
    async with harness.app.uow_factory() as uow:
        await uow.members.set_opt_out(member.person_id, nudges=True)
        await uow.commit()
    assert await harness.app.dispatcher.dispatch_due() == 0
    assert harness.messenger.sent == []
    assert (await statuses(harness))["nudge"] is OutboxStatus.SKIPPED


async def test_moderators_see_failures_in_outbox_and_can_send_one_again(
    harness: Harness,
) -> None:
    community = await harness.community()
    harness.app.sender.messengers[Platform.CONSOLE] = ScriptedMessenger(
        {"demo": [ConversationUnavailable("not_in_channel")]}
    )
    entry_key = "c"
    await queue(harness, entry_key, "demo", platform=Platform.CONSOLE, community_id=community.id)
    await harness.app.dispatcher.dispatch_due()
    harness.app.sender.messengers[Platform.CONSOLE] = harness.messenger
    await harness.grant("dora", Role.MODERATOR)
    [refused] = await harness.say("/outbox", user="carla")
    [shown] = await harness.say("/outbox", user="dora")
    async with harness.app.uow_factory() as uow:
        record = await uow.outbox.by_key(entry_key)
    assert record is not None
    assert refused.startswith("Sorry, /outbox is for the moderator role")
    assert "0 waiting" in shown and "1 failed" in shown
    assert f"#{record.id} test to the group" in shown
    assert "given up after 1 attempts. conversation unavailable: not_in_channel" in shown
    [done] = await harness.say(f"/outbox retry {record.id}", user="dora")
    assert done == f"Message #{record.id} will be sent again now."
    [again] = await harness.say(f"/outbox retry {record.id}", user="dora")
    assert again.startswith(f"Message #{record.id} is not a failed")
    assert await harness.app.dispatcher.dispatch_due() == 1


@dataclass
class PacedMessenger:
    """Sends each message in `parts` requests, telling the sender before each (as the Telegram
    and Slack messengers do once their pacing lets a request go); `before_first` runs while the
    message still waits for its turn."""

    harness: Harness
    parts: int = 2
    before_first: Callable[[], Awaitable[None]] | None = None
    seen: list[tuple[OutboxStatus, int]] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    announces_hand_over = True

    async def status(self) -> None:
        async with self.harness.app.uow_factory() as uow:
            record = await uow.outbox.by_key("a")
        assert record is not None
        self.seen.append((record.status, record.attempts))

    async def send(self, destination: Destination, message: OutboundMessage) -> str | None:
        await self.status()
        if self.before_first is not None:
            await self.before_first()
        for part in range(self.parts):
            await about_to_send()
            await self.status()
            self.sent.append(f"{message.body.plain()} {part}")
        return "1"


async def test_a_row_is_marked_sending_once_when_its_first_part_leaves_not_while_it_waits(
    harness: Harness,
) -> None:
    messenger = PacedMessenger(harness)
    harness.app.sender.messengers[Platform.TELEGRAM] = messenger  # type: ignore[assignment]
    await queue(harness, "a", GROUP)
    assert await harness.app.dispatcher.dispatch_due() == 1
    assert messenger.seen == [
        (OutboxStatus.CLAIMED, 0),  # waiting for its turn: a crash now sends it again later
        (OutboxStatus.SENDING, 1),
        (OutboxStatus.SENDING, 1),  # the second part counts no second attempt
    ]
    assert messenger.sent == ["a 0", "a 1"]
    assert await statuses(harness) == {"a": OutboxStatus.SENT}


async def test_a_row_another_dispatcher_took_over_while_it_waited_for_its_turn_is_not_sent(
    harness: Harness,
) -> None:
    async def taken_over() -> None:
        """This dispatcher's claim outlived its lease; another one claimed the row."""
        harness.clock.advance(minutes=16)
        async with harness.app.uow_factory() as uow:
            await uow.outbox.recover(harness.clock.now())
            [row] = await uow.outbox.claim(
                harness.clock.now(), "other", 900, 10, [Platform.TELEGRAM]
            )
            await uow.commit()
        assert row.dedup_key == "a"

    messenger = PacedMessenger(harness, before_first=taken_over)
    harness.app.sender.messengers[Platform.TELEGRAM] = messenger  # type: ignore[assignment]
    await queue(harness, "a", GROUP)
    assert await harness.app.dispatcher.dispatch_due() == 0
    assert messenger.sent == []
    assert await statuses(harness) == {"a": OutboxStatus.CLAIMED}  # the other one's to send
