"""The outbox through the real Telegram messenger to the fake Bot API, across a restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import SecretStr

from adapters.telegram.adapter import make_bot
from adapters.telegram.limiter import FloodLimiter
from adapters.telegram.messenger import TelegramMessenger
from facilitator.bootstrap import App
from facilitator.domain.model import Platform
from facilitator.domain.outbox import Fallback, OutboxEntry, OutboxStatus
from facilitator.markup import Destination, NativePoll, OutboundMessage, RichText
from tests.adapters.fakes.telegram_api import (
    DEFAULT_TOKEN,
    FakeTelegramAPI,
    ManualClock,
    supergroup_chat,
)
from tests.adapters.telegram_support import VirtualTime, wait_until
from tests.conftest import FrozenClock, build_test_app, make_settings

GROUP = -1001234567890
PEOPLE = [700_000 + n for n in range(40)]


class HeldBack:
    """The flood limiter's sleep, never over: a send it makes wait stays waiting, as in a long
    flood window, until its task is cancelled."""

    def __init__(self) -> None:
        self.waiting = 0

    async def sleep(self, seconds: float) -> None:
        self.waiting += 1
        try:
            await asyncio.Event().wait()
        finally:
            self.waiting -= 1


@contextlib.asynccontextmanager
async def process(
    api: FakeTelegramAPI,
    database: Path,
    clock: FrozenClock,
    virtual: VirtualTime,
    limiter: FloodLimiter | None = None,
) -> AsyncIterator[App]:
    """One bot process: its own engine, PTB bot, flood limiter and dispatcher."""
    settings = make_settings(
        f"sqlite+aiosqlite:///{database}",
        telegram_bot_token=SecretStr(DEFAULT_TOKEN),
        telegram_api_base_url=api.base_url,
    )
    app = build_test_app(settings, clock=clock)
    await app.storage.create_all()
    bot, _ = make_bot(settings)
    await bot.initialize()
    limiter = limiter or FloodLimiter(clock=virtual.clock, sleep=virtual.sleep)
    app.sender.messengers[Platform.TELEGRAM] = TelegramMessenger(bot, limiter, sleep=virtual.sleep)
    try:
        yield app
    finally:
        await bot.shutdown()
        await app.aclose()


def dm(n: int, person: int, clock: FrozenClock) -> OutboxEntry:
    return OutboxEntry(
        dedup_key=f"dm:{n}",
        kind="test",
        destination=Destination(Platform.TELEGRAM, str(person), is_direct=True),
        message=OutboundMessage(RichText.of(f"dm {n}")),
        due_at=clock.now(),
        fallback=Fallback(str(GROUP), str(person), f"Person {person}"),
    )


def poll_post(group: int, clock: FrozenClock) -> OutboxEntry:
    return OutboxEntry(
        dedup_key=f"poll:{group}",
        kind="test",
        destination=Destination(Platform.TELEGRAM, str(group)),
        message=OutboundMessage(
            RichText.of("Which day?"), poll=NativePoll("Which day?", ("Monday", "Friday"))
        ),
        due_at=clock.now(),
    )


def group_post(n: int, clock: FrozenClock) -> OutboxEntry:
    return OutboxEntry(
        dedup_key=f"group:{n}",
        kind="test",
        destination=Destination(Platform.TELEGRAM, str(GROUP)),
        message=OutboundMessage(RichText.of(f"group {n}")),
        due_at=clock.now(),
    )


async def test_a_restart_in_a_burst_delivers_each_message_once_within_the_flood_limits(
    tmp_path: Path, clock: FrozenClock
) -> None:
    manual = ManualClock()
    virtual = VirtualTime(manual)
    async with FakeTelegramAPI(clock=manual) as api:
        api.add_chat(supergroup_chat(GROUP))
        api.enforce_limits()
        database = tmp_path / "bot.db"
        async with process(api, database, clock, virtual) as first:
            async with first.uow_factory() as uow:
                entries = [dm(n, PEOPLE[n % len(PEOPLE)], clock) for n in range(120)]
                entries += [group_post(n, clock) for n in range(30)]
                for entry in entries:
                    await uow.outbox.add(entry, clock.now())
                await uow.commit()
            running = asyncio.create_task(first.dispatcher.run_forever())
            await api.wait_for_calls("sendMessage", 50, timeout=20)
            await first.dispatcher.stop()
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        sent_before = len([c for c in api.calls_to("sendMessage") if c.ok])
        assert 50 <= sent_before < 150
        # A new process knows nothing of the old one's flood windows: like a real restart, it
        # starts a minute later (otherwise Telegram answers 429, which is waited out).
        manual.advance(60)

        async with process(api, database, clock, virtual) as second:
            await second.dispatcher.dispatch_due()
            async with second.uow_factory() as uow:
                counts = await uow.outbox.counts(None)

        delivered = Counter(
            (str(c.params["chat_id"]), c.result["text"])
            for c in api.calls_to("sendMessage")
            if c.ok
        )
        assert len(delivered) == 150 and max(delivered.values()) == 1
        assert counts == {OutboxStatus.SENT: 150}
        assert api.violations == [] and api.rate_limited_count == 0
        group_texts = [t for (chat, t) in delivered if chat == str(GROUP)]
        assert group_texts == [f"group {n}" for n in range(30)]  # in order, across the restart


async def test_a_crash_while_the_limiter_holds_posts_back_leaves_only_posts_in_flight_uncertain(
    tmp_path: Path, clock: FrozenClock
) -> None:
    manual = ManualClock()
    groups = [-1_001_000_000_000 - n for n in range(40)]
    async with FakeTelegramAPI(clock=manual) as api:
        for group in groups:
            api.add_chat(supergroup_chat(group))
        api.enforce_limits()
        api.hold("sendPoll", after=25)  # Telegram has the next ones when the process dies
        database = tmp_path / "bot.db"
        held_back = HeldBack()
        limiter = FloodLimiter(clock=manual, sleep=held_back.sleep)  # 30 a second
        async with process(api, database, clock, VirtualTime(manual), limiter) as first:
            async with first.uow_factory() as uow:
                for group in groups:
                    await uow.outbox.add(poll_post(group, clock), clock.now())
                await uow.commit()
            running = asyncio.create_task(first.dispatcher.run_forever())
            await wait_until(
                lambda: (
                    first.dispatcher.sent == 25 and len(api.held) == 5 and held_back.waiting == 10
                ),
                what="25 posts sent, 5 in flight and 10 held back by the flood limiter",
            )
            # The process dies: nothing is handed back or recorded.
            running.cancel()
            await first.dispatcher.abort()
            await asyncio.gather(running, return_exceptions=True)
        in_flight = {call.params["chat_id"] for call in api.held}
        assert len(api.calls_to("sendPoll")) == 30  # the other 10 never left the process
        api.release()
        manual.advance(60)

        async with process(api, database, clock, VirtualTime(manual)) as second:
            await second.dispatcher.dispatch_due()
            assert len(api.calls_to("sendPoll")) == 30  # the dead process's claims hold
            clock.advance(minutes=15)
            await second.dispatcher.dispatch_due()
            async with second.uow_factory() as uow:
                counts = await uow.outbox.counts(None)
                uncertain = await uow.outbox.listing(None, [OutboxStatus.UNCERTAIN], 40)

        # Only the posts Telegram may have had are uncertain; those the limiter held back
        # were claimed again after the lease and sent.
        assert {int(r.destination.chat_id) for r in uncertain} == in_flight
        assert counts == {OutboxStatus.SENT: 35, OutboxStatus.UNCERTAIN: 5}
        posted = Counter(call.params["chat_id"] for call in api.calls_to("sendPoll"))
        assert posted == Counter(groups)  # every group once, none twice
        assert api.violations == []


async def test_people_who_blocked_the_bot_are_mentioned_once_in_the_group_with_a_start_link(
    tmp_path: Path, clock: FrozenClock
) -> None:
    virtual = VirtualTime(ManualClock())
    async with FakeTelegramAPI() as api:
        api.add_chat(supergroup_chat(GROUP))
        api.block(PEOPLE[0])
        api.block(PEOPLE[1])
        async with process(api, tmp_path / "bot.db", clock, virtual) as app:
            async with app.uow_factory() as uow:
                for n in range(3):
                    await uow.outbox.add(dm(n, PEOPLE[n], clock), clock.now())
                await uow.commit()
            await app.dispatcher.dispatch_due()
            await app.dispatcher.dispatch_due()
        [mention] = [c for c in api.calls_to("sendMessage") if c.params["chat_id"] == GROUP]
        text = mention.params["text"]
        assert f'<a href="tg://user?id={PEOPLE[0]}">Person {PEOPLE[0]}</a>' in text
        assert f'<a href="tg://user?id={PEOPLE[1]}">Person {PEOPLE[1]}</a>' in text
        assert '<a href="https://t.me/facilitator_test_bot?start=hello">' in text
        private = [c.params["chat_id"] for c in api.calls_to("sendMessage") if c.ok]
        assert private.count(PEOPLE[2]) == 1
