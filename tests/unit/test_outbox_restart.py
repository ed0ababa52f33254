"""A dispatcher stopped in the middle of a burst, and a new one started on the same database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from facilitator.bootstrap import App
from facilitator.delivery.dispatcher import Dispatcher
from facilitator.domain.errors import StorageUnavailable
from facilitator.domain.model import Platform
from facilitator.domain.outbox import OutboxEntry, OutboxStatus
from facilitator.i18n import Catalogue
from facilitator.markup import Destination, OutboundMessage, RichText
from facilitator.ports import UnitOfWork
from tests.conftest import FrozenClock, build_test_app, make_settings
from tests.log_scan import LogScan

BURST = 150
PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


@dataclass
class GatedMessenger:
    """Sends the first `free` messages at once; later ones wait for `gate` while in flight."""

    free: int
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    started: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    freed: asyncio.Event = field(default_factory=asyncio.Event)
    busy: asyncio.Event = field(default_factory=asyncio.Event)
    busy_at: int = 60

    async def send(self, destination: Destination, message: OutboundMessage) -> str | None:
        self.started.append(destination.chat_id)
        if len(self.started) >= self.busy_at:
            self.busy.set()
        if len(self.started) > self.free:
            await self.gate.wait()
        await asyncio.sleep(0)
        self.sent.append(destination.chat_id)
        if len(self.sent) >= self.free:
            self.freed.set()
        return None


async def start_app(tmp_path: Path, clock: FrozenClock, messenger: object) -> App:
    """One "process": its own engine, core and dispatcher on the shared database file."""
    app = build_test_app(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}"), clock=clock
    )
    await app.storage.create_all()
    app.sender.messengers[Platform.TELEGRAM] = messenger  # type: ignore[assignment]
    return app


async def queue_burst(app: App, clock: FrozenClock) -> None:
    async with app.uow_factory() as uow:
        for n in range(BURST):
            chat = str(1000 + n)
            await uow.outbox.add(
                OutboxEntry(
                    dedup_key=f"burst:{n}",
                    kind="test",
                    destination=Destination(Platform.TELEGRAM, chat, is_direct=True),
                    message=OutboundMessage(RichText.of(f"message {n}")),
                    due_at=clock.now(),
                ),
                clock.now(),
            )
        await uow.commit()


async def status_counts(app: App) -> dict[OutboxStatus, int]:
    async with app.uow_factory() as uow:
        return await uow.outbox.counts(None)


async def test_a_clean_restart_in_a_burst_sends_each_message_exactly_once(
    tmp_path: Path, clock: FrozenClock
) -> None:
    first_messenger = GatedMessenger(free=40)
    first = await start_app(tmp_path, clock, first_messenger)
    await queue_burst(first, clock)
    running = asyncio.create_task(first.dispatcher.run_forever())
    await first_messenger.freed.wait()
    stopping = asyncio.create_task(first.dispatcher.stop())
    await asyncio.sleep(0)
    first_messenger.gate.set()  # what was in flight completes while stopping
    await stopping
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    await first.aclose()
    assert 40 <= len(first_messenger.sent) < BURST

    second_messenger = GatedMessenger(free=BURST)
    second = await start_app(tmp_path, clock, second_messenger)
    await second.dispatcher.dispatch_due()

    deliveries = Counter(first_messenger.sent + second_messenger.sent)
    assert len(deliveries) == BURST  # nothing lost
    assert max(deliveries.values()) == 1  # nothing sent twice
    assert await status_counts(second) == {OutboxStatus.SENT: BURST}
    await second.aclose()


async def test_a_crash_in_a_burst_never_repeats_a_message_and_shows_the_uncertain_ones(
    tmp_path: Path, clock: FrozenClock
) -> None:
    first_messenger = GatedMessenger(free=40)
    first = await start_app(tmp_path, clock, first_messenger)
    await queue_burst(first, clock)
    running = asyncio.create_task(first.dispatcher.run_forever())
    await first_messenger.freed.wait()
    await first_messenger.busy.wait()  # 20 sends in flight when the process dies
    running.cancel()
    await first.dispatcher.abort()
    await asyncio.gather(running, return_exceptions=True)
    in_flight = len(first_messenger.started) - len(first_messenger.sent)
    await first.aclose()
    assert in_flight > 0

    second_messenger = GatedMessenger(free=BURST)
    second = await start_app(tmp_path, clock, second_messenger)
    await second.dispatcher.dispatch_due()
    assert second_messenger.sent == []  # the dead process's claims hold until their lease ends
    clock.advance(minutes=15)
    await second.dispatcher.dispatch_due()

    deliveries = Counter(first_messenger.sent + second_messenger.sent)
    assert max(deliveries.values()) == 1
    counts = await status_counts(second)
    # Uncertain: every send in flight, and any row marked "sending" (or sent, and not yet
    # recorded) a moment before the crash.
    assert counts[OutboxStatus.UNCERTAIN] >= in_flight
    assert counts[OutboxStatus.SENT] + counts[OutboxStatus.UNCERTAIN] == BURST
    async with second.uow_factory() as uow:
        uncertain = await uow.outbox.listing(None, [OutboxStatus.UNCERTAIN], BURST)
    # Nothing is lost silently: each message arrived once or is shown as uncertain.
    assert set(deliveries) | {r.destination.chat_id for r in uncertain} == {
        str(1000 + n) for n in range(BURST)
    }
    assert all(r.last_error == "interrupted while sending" for r in uncertain)
    await second.aclose()


async def test_a_message_queued_while_running_is_sent_without_waiting_for_the_idle_tick(
    tmp_path: Path, clock: FrozenClock
) -> None:
    messenger = GatedMessenger(free=1)
    app = await start_app(tmp_path, clock, messenger)
    running = asyncio.create_task(app.dispatcher.run_forever(idle_seconds=3600))
    await asyncio.sleep(0)
    async with app.uow_factory() as uow:
        await uow.outbox.add(
            OutboxEntry(
                dedup_key="late",
                kind="test",
                destination=Destination(Platform.TELEGRAM, "-100", thread_id=None),
                message=OutboundMessage(RichText.of("hello")),
                due_at=clock.now() - timedelta(seconds=1),
            ),
            clock.now(),
        )
        await uow.commit()
    app.dispatcher.notify()
    await messenger.freed.wait()
    await app.dispatcher.stop()
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert messenger.sent == ["-100"]
    await app.aclose()


async def test_a_stop_while_a_claim_is_under_way_hands_back_what_that_claim_took(
    tmp_path: Path, clock: FrozenClock
) -> None:
    messenger = GatedMessenger(free=BURST)
    app = await start_app(tmp_path, clock, messenger)
    await queue_burst(app, clock)
    claimed, proceed = asyncio.Event(), asyncio.Event()

    @contextlib.asynccontextmanager
    async def slow_claims() -> AsyncIterator[UnitOfWork]:
        """Units of work whose outbox claim, once made, waits for `proceed` to return."""
        async with app.uow_factory() as uow:
            claim = uow.outbox.claim

            async def claim_then_wait(*args: object, **kwargs: object) -> object:
                rows = await claim(*args, **kwargs)  # type: ignore[arg-type]
                claimed.set()
                await proceed.wait()
                return rows

            uow.outbox.claim = claim_then_wait  # type: ignore[method-assign]
            yield uow

    dispatcher = Dispatcher(
        slow_claims,  # type: ignore[arg-type]
        {Platform.TELEGRAM: messenger},
        app.services.catalogue,
        clock,
    )
    running = asyncio.create_task(dispatcher.run_forever())
    await claimed.wait()
    # As `serve` does at shutdown: stop() while the loop may be in the middle of a claim.
    stopping = asyncio.create_task(dispatcher.stop())
    await asyncio.sleep(0)
    proceed.set()
    await stopping
    await running

    assert messenger.sent == []
    # Nothing is left claimed until its lease ends: the next process sends it at once.
    assert await status_counts(app) == {OutboxStatus.PENDING: BURST}
    await app.aclose()


class _OutageUnitOfWork:
    """A unit of work whose database is out of reach, as the SQL one reports it."""

    async def __aenter__(self) -> UnitOfWork:
        raise StorageUnavailable("ConnectionRefusedError")

    async def __aexit__(self, *exc: object) -> None:
        return None


async def test_an_outage_while_claiming_is_logged_as_warnings_without_a_traceback(
    clock: FrozenClock, log_scan: LogScan
) -> None:
    dispatcher = Dispatcher(_OutageUnitOfWork, {}, Catalogue.load(PROMPTS), clock)  # type: ignore[arg-type]
    running = asyncio.create_task(dispatcher.run_forever(idle_seconds=0.01))
    for _ in range(500):
        if len(log_scan.seen) >= 2:
            break
        await asyncio.sleep(0.01)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    lines = [s for s in log_scan.seen if s.logger == "facilitator.delivery.dispatcher"]
    assert len(lines) >= 2  # it went on trying
    assert all(s.level == logging.WARNING for s in lines)
    assert all(
        "outbox claim failed: database unavailable (ConnectionRefusedError)" in s.text
        for s in lines
    )
    assert all("Traceback" not in s.text for s in lines)
