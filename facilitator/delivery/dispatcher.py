"""Sends due outbox rows through each platform's messenger, once each, in order per chat.

Every proactive message is a row of the `outbox` table before anything is sent. A dispatcher
claims due rows (row locks with SKIP LOCKED on PostgreSQL, so several processes can run one),
queues them in one lane per conversation, and sends lanes concurrently. Pacing is the
messengers' own (Telegram's flood limiter, Slack's per-channel pacer): the dispatcher only keeps
enough sends in flight for them to run at their limit.

Each row is marked `sending` in its own transaction when it is handed to the platform: when
its messenger's pacing lets its first request go (`delivery.handover`), or before `send` for a
messenger that does not say when (`AnnouncesHandOver`); it gets its outcome right after. A
dispatcher that stops cleanly (`stop()`) finishes what is in flight and hands back what it had
claimed, so a restart sends each message exactly once. One that dies abruptly leaves its claimed
rows, those still waiting for their turn in a messenger's pacing included, to be claimed again
when their lease ends, and the rows it was sending at that moment as `uncertain`: they may have
arrived, so they are never repeated, and `/outbox` shows them to moderators.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from facilitator.delivery.handover import HandOverRefused, on_hand_over
from facilitator.domain.errors import (
    ConversationMoved,
    ConversationUnavailable,
    DeliveryError,
    RecipientUnreachable,
    RetryLater,
    StorageUnavailable,
)
from facilitator.domain.model import Platform
from facilitator.domain.outbox import OutboxEntry, OutboxRecord, OutboxStatus, Outcome
from facilitator.i18n import Catalogue
from facilitator.markup import Block, Destination, OutboundMessage, RichText, Span, Style
from facilitator.ports import (
    AnnouncesHandOver,
    Clock,
    DeliveryOutcome,
    Messenger,
    Metrics,
    NoMetrics,
    StartLinks,
    UnitOfWork,
    UnitOfWorkFactory,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Errors back off 30 s, 1 min, 2 min, … up to an hour between attempts.
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_MAX_SECONDS = 3600.0
# How long a claim or a send may take before another dispatcher treats its owner as dead.
# Generous: one group takes 20 messages a minute, so a long lane takes minutes.
CLAIM_LEASE_SECONDS = 900.0
SEND_LEASE_SECONDS = 900.0
START_PAYLOAD = "hello"
REDIRECT_SCAN_SECONDS = 300.0
# How each attempt's outcome is counted (`Metrics.delivery`).
MEASURED: dict[OutboxStatus, DeliveryOutcome] = {
    OutboxStatus.SENT: "sent",
    OutboxStatus.PENDING: "retry",
    OutboxStatus.FAILED: "failed",
    OutboxStatus.UNREACHABLE: "unreachable",
    OutboxStatus.SKIPPED: "skipped",
}


# A row whose message is made when it is due (a poll's results, a reminder to non-voters);
# None means there is nothing to send any more, and the row is skipped.
Composer = Callable[[OutboxRecord], Awaitable[OutboundMessage | None]]
# Runs in the transaction that records a sent row, with what the platform answered.
SentHook = Callable[[UnitOfWork, OutboxRecord, str | None], Awaitable[None]]
# Runs in the transaction that records a row as unreachable (the person has not opened a
# private chat with the bot, or closed it), at that time.
UnreachableHook = Callable[[UnitOfWork, OutboxRecord, datetime], Awaitable[None]]


class _RowHandOver:
    """Marks one row `sending` the first time its messenger is about to send a request for
    it (a message in several parts, or sent again after a short wait, is marked once)."""

    def __init__(self, dispatcher: Dispatcher, row: OutboxRecord) -> None:
        self._dispatcher = dispatcher
        self._row = row
        self.started: bool | None = None  # None: nothing was handed to the platform yet
        self.failure: BaseException | None = None

    async def __call__(self) -> None:
        if self.started is None:
            try:
                self.started = await self._dispatcher._start_sending(self._row)
            except BaseException as error:
                self.failure = error
                raise
        if not self.started:
            raise HandOverRefused(f"outbox row {self._row.id} is no longer ours")


def new_worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff(attempts: int) -> timedelta:
    return timedelta(
        seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    )


class Dispatcher:
    """One per process. `dispatch_due()` sends what is due now and returns; `run_forever()`
    keeps doing so until `stop()`."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        messengers: Mapping[Platform, Messenger],
        catalogue: Catalogue,
        clock: Clock,
        *,
        worker_id: str | None = None,
        batch: int = 200,
        concurrency: int = 64,
        max_attempts: int = MAX_ATTEMPTS,
        metrics: Metrics | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._metrics = metrics or NoMetrics()
        # The composition root's live table: adapters attached later are used too.
        self._messengers = messengers
        self._catalogue = catalogue
        self._clock = clock
        self.worker_id = worker_id or new_worker_id()
        self._batch = batch
        self._gate = asyncio.Semaphore(concurrency)
        self._max_attempts = max_attempts
        self._lanes: dict[str, deque[OutboxRecord]] = {}
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}
        self._queued_ids: set[int] = set()
        self._progress = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._stopping = False
        # Held while claimed rows are on their way into the lanes: `stop()` waits for it, so
        # that a claim under way when it is called is handed back too.
        self._claiming = asyncio.Lock()
        self.composers: dict[str, Composer] = {}
        self.sent_hooks: list[SentHook] = []
        self.unreachable_hooks: list[UnreachableHook] = []
        self._unreachable_seen = False
        self._next_redirect_scan = 0.0
        self.sent = 0
        self.failed = 0

    # -- control --------------------------------------------------------------------------------

    def notify(self) -> None:
        """Something was queued: look for due rows now instead of at the next idle tick."""
        self._wakeup.set()

    async def dispatch_due(self) -> int:
        """Send every row due now (and what becomes due meanwhile); returns how many were sent."""
        before = self.sent
        self._stopping = False
        while await self._refill():
            await self._drain()
        await self._drain()
        return self.sent - before

    async def send_due_quietly(self) -> int:
        """`dispatch_due` for callers that must go on whatever happens (the local demo): a
        failure is logged, and the rows wait for the next call."""
        try:
            return await self.dispatch_due()
        except StorageUnavailable as error:  # an outage: its traceback says nothing
            log.warning("outbox not dispatched: %s", error)
            return 0
        except Exception:  # the chat goes on; the log says why
            log.exception("outbox not dispatched")
            return 0

    async def run_forever(self, idle_seconds: float = 1.0) -> None:
        """Claim and send until `stop()`. Cancelling this task stops claiming only: sends in
        flight go on until `stop()` drains them (or `abort()`, or the event loop, ends them)."""
        self._stopping = False
        while not self._stopping:
            try:
                await self._refill()
            except StorageUnavailable as error:  # an outage: its traceback says nothing
                log.warning("outbox claim failed: %s", error)
            except Exception:  # a bug: log it and try again
                log.exception("outbox claim failed")
            if self._stopping:
                break
            self._wakeup.clear()
            self._progress.clear()
            waits = [asyncio.ensure_future(self._wakeup.wait())]
            if self._queued_ids:
                waits.append(asyncio.ensure_future(self._progress.wait()))
            try:
                await asyncio.wait(waits, timeout=idle_seconds, return_when="FIRST_COMPLETED")
            finally:
                for waiter in waits:
                    waiter.cancel()

    async def stop(self) -> None:
        """Stop claiming, finish the sends in flight, and hand back what was claimed."""
        self._stopping = True
        self._wakeup.set()
        async with self._claiming:
            waiting = [row.id for lane in self._lanes.values() for row in lane]
            for lane in self._lanes.values():
                lane.clear()
            if waiting:
                async with self._uow_factory() as uow:
                    await uow.outbox.release(waiting, self.worker_id)
                    await uow.commit()
                self._queued_ids.difference_update(waiting)
                log.info("outbox rows handed back", extra={"count": len(waiting)})
        await self._drain()

    async def abort(self) -> None:
        """Stop at once, as a crash would: nothing is handed back or recorded."""
        self._stopping = True
        self._wakeup.set()
        tasks = list(self._lane_tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lanes.clear()
        self._queued_ids.clear()

    async def _drain(self) -> None:
        while self._lane_tasks:
            await asyncio.gather(*list(self._lane_tasks.values()), return_exceptions=True)

    # -- claiming -------------------------------------------------------------------------------

    async def _refill(self) -> bool:
        """Claim due rows into the lanes, keeping about one batch in hand; True if any came."""
        await self._redirect_unreachable()
        # Shielded: cancelling `run_forever` must not leave rows claimed and never queued (they
        # would wait for their lease to end); `stop()` waits for the claim and hands them back.
        return await asyncio.shield(self._claim_into_lanes())

    async def _claim_into_lanes(self) -> bool:
        async with self._claiming:
            room = self._batch - len(self._queued_ids)
            if room < self._batch // 2 or self._stopping:
                return False
            platforms = [p for p in Platform if p in self._messengers]
            now = self._clock.now()
            async with self._uow_factory() as uow:
                requeued, interrupted = await uow.outbox.recover(now)
                rows = await uow.outbox.claim(
                    now, self.worker_id, CLAIM_LEASE_SECONDS, room, platforms
                )
                await uow.commit()
            for row in rows:
                if row.id in self._queued_ids:
                    continue
                self._queued_ids.add(row.id)
                self._lanes.setdefault(row.lane, deque()).append(row)
                if row.lane not in self._lane_tasks:
                    task = asyncio.create_task(self._run_lane(row.lane))
                    self._lane_tasks[row.lane] = task
        if requeued or interrupted:
            self._metrics.outbox_recovered(requeued, interrupted)
            log.warning(
                "outbox rows of a stopped dispatcher recovered",
                extra={"requeued": requeued, "uncertain": interrupted},
            )
        return bool(rows)

    async def _run_lane(self, lane: str) -> None:
        queue = self._lanes[lane]
        try:
            while True:
                # A row leaves its lane only once it may be sent: until then `stop()` can hand
                # it back.
                async with self._gate:
                    if not queue or self._stopping:
                        return
                    row = queue.popleft()
                    try:
                        if not await self._deliver(row):
                            await self._hand_back_lane(queue)
                    except StorageUnavailable as error:  # the row's lease recovers it
                        log.warning(
                            "outbox row not completed: %s", error, extra={"outbox_id": row.id}
                        )
                    except Exception:  # a bug: the row's lease recovers it
                        log.exception("outbox row not completed", extra={"outbox_id": row.id})
                    finally:
                        self._queued_ids.discard(row.id)
                        self._progress.set()
        finally:
            if not queue:
                self._lanes.pop(lane, None)
            self._lane_tasks.pop(lane, None)

    async def _hand_back_lane(self, queue: deque[OutboxRecord]) -> None:
        """A row of this conversation will be tried again later: the rows queued behind it are
        handed back, so that none of them arrives before it."""
        waiting = [row.id for row in queue]
        queue.clear()
        if not waiting:
            return
        async with self._uow_factory() as uow:
            await uow.outbox.release(waiting, self.worker_id)
            await uow.commit()
        self._queued_ids.difference_update(waiting)

    # -- sending --------------------------------------------------------------------------------

    async def _deliver(self, row: OutboxRecord) -> bool:
        """Try one row; False when it is to be tried again later (the conversation waits)."""
        if row.is_nudge and row.person_id is not None:
            async with self._uow_factory() as uow:
                now = self._clock.now()
                people = await uow.members.by_person(row.person_id)
                if any(m.opted_out_nudges for m in people):
                    await uow.outbox.start_sending(row.id, self.worker_id, now, 0)
                    await uow.outbox.finish(
                        row.id, self.worker_id, Outcome(OutboxStatus.SKIPPED, "opted out"), now
                    )
                    await uow.commit()
                    self._metrics.delivery(row.destination.platform, "skipped")
                    return True
        handover = _RowHandOver(self, row)
        messenger = self._messengers.get(row.destination.platform)
        try:
            if not (isinstance(messenger, AnnouncesHandOver) and messenger.announces_hand_over):
                await handover()  # the messenger does not say when: marked before it is called
            outcome = await self._attempt(row, handover)
        except HandOverRefused:
            return True  # another dispatcher took it over after our lease ended
        now = self._clock.now()
        async with self._uow_factory() as uow:
            if handover.started is None:
                # Nothing reached the platform (no messenger, nothing to compose, a failure
                # before the first request): the attempt is counted all the same.
                await uow.outbox.start_sending(row.id, self.worker_id, now, 0)
            await uow.outbox.finish(row.id, self.worker_id, outcome, now)
            if outcome.status is OutboxStatus.SENT:
                for hook in self.sent_hooks:
                    await hook(uow, row, outcome.platform_ref)
            if outcome.status is OutboxStatus.UNREACHABLE:
                for unreachable in self.unreachable_hooks:
                    await unreachable(uow, row, now)
            await uow.commit()
        self._metrics.delivery(row.destination.platform, MEASURED[outcome.status])
        if outcome.status is OutboxStatus.UNREACHABLE:
            self._unreachable_seen = True
        if outcome.status is OutboxStatus.SENT:
            self.sent += 1
        elif outcome.status is OutboxStatus.FAILED:
            self.failed += 1
            log.warning(
                "outbox message given up",
                extra={"outbox_id": row.id, "kind": row.kind, "error": outcome.error},
            )
        return outcome.retry_at is None

    async def _start_sending(self, row: OutboxRecord) -> bool:
        """Mark `row` as being handed to the platform; False if it is no longer ours."""
        async with self._uow_factory() as uow:
            started = await uow.outbox.start_sending(
                row.id, self.worker_id, self._clock.now(), SEND_LEASE_SECONDS
            )
            await uow.commit()
        return started

    async def _attempt(self, row: OutboxRecord, handover: _RowHandOver) -> Outcome:
        messenger = self._messengers.get(row.destination.platform)
        if messenger is None:
            return self._retry(row, "no messenger for the platform")
        try:
            message = row.message
            composer = self.composers.get(row.kind)
            if composer is not None:
                composed = await composer(row)
                if composed is None:
                    return Outcome(OutboxStatus.SKIPPED, "nothing to send any more")
                message = composed
            with on_hand_over(handover):
                ref = await messenger.send(row.destination, message)
        except HandOverRefused:
            raise
        except RetryLater as error:
            self._metrics.rate_limited(row.destination.platform)
            log.info(
                "outbox send postponed by the platform",
                extra={"outbox_id": row.id, "retry_after": error.retry_after},
            )
            if row.attempts + 1 >= self._max_attempts:
                return Outcome(OutboxStatus.FAILED, f"still rate limited: {error}")
            retry_at = self._clock.now() + timedelta(seconds=max(error.retry_after, 1.0))
            return Outcome(OutboxStatus.PENDING, str(error), retry_at=retry_at)
        except RecipientUnreachable as error:
            if row.destination.is_direct and row.fallback is not None:
                return Outcome(OutboxStatus.UNREACHABLE, f"private chat closed: {error}")
            return Outcome(OutboxStatus.FAILED, f"recipient unreachable: {error}")
        except ConversationUnavailable as error:
            return Outcome(OutboxStatus.FAILED, f"conversation unavailable: {error}")
        except ConversationMoved as error:
            log.info("outbox conversation moved", extra={"outbox_id": row.id})
            return Outcome(
                OutboxStatus.PENDING,
                "conversation moved",
                retry_at=self._clock.now(),
                new_chat_id=error.new_chat_id,
            )
        except DeliveryError as error:
            return self._retry(row, f"{type(error).__name__}: {error}")
        except Exception as error:  # a bug in a messenger must not lose the row
            if handover.failure is not None:
                # Marking the row failed (its database is out of reach) before anything went
                # out: the row stays claimed, and its lease recovers it.
                raise handover.failure from None
            log.exception("messenger failed", extra={"outbox_id": row.id})
            return self._retry(row, f"{type(error).__name__}: {error}")
        return Outcome(OutboxStatus.SENT, platform_ref=ref)

    def _retry(self, row: OutboxRecord, error: str) -> Outcome:
        attempts = row.attempts + 1
        if attempts >= self._max_attempts:
            return Outcome(OutboxStatus.FAILED, f"gave up after {attempts} attempts: {error}")
        return Outcome(OutboxStatus.PENDING, error, retry_at=self._clock.now() + backoff(attempts))

    # -- people the bot cannot write to privately -----------------------------------------------

    async def _redirect_unreachable(self) -> None:
        """Private messages that could not be delivered become one mention per group.

        Looked for after this process met a closed private chat, and every few minutes for
        rows a stopped process left behind."""
        loop = asyncio.get_running_loop()
        if not self._unreachable_seen and loop.time() < self._next_redirect_scan:
            return
        self._unreachable_seen = False
        self._next_redirect_scan = loop.time() + REDIRECT_SCAN_SECONDS
        async with self._uow_factory() as uow:
            rows = await uow.outbox.take_unreachable(500)
            if not rows:
                return
            groups: dict[tuple[Platform, str, str | None], list[OutboxRecord]] = defaultdict(list)
            for row in rows:
                assert row.fallback is not None
                key = (row.destination.platform, row.fallback.chat_id, row.fallback.thread_id)
                groups[key].append(row)
            now = self._clock.now()
            for (platform, chat_id, thread_id), members in groups.items():
                community = await uow.communities.by_chat(platform, chat_id)
                locale = community.language if community else "en"
                message = self.mention_message(platform, locale, members)
                await uow.outbox.add(
                    OutboxEntry(
                        dedup_key=f"mention:{platform}:{chat_id}:{members[0].id}",
                        kind="mention",
                        destination=Destination(platform, chat_id, thread_id=thread_id),
                        message=message,
                        due_at=now,
                        community_id=community.id if community else None,
                    ),
                    now,
                )
            await uow.commit()
        log.info("private messages redirected to group mentions", extra={"count": len(rows)})

    def mention_message(
        self, platform: Platform, locale: str, rows: list[OutboxRecord]
    ) -> OutboundMessage:
        """Mentions of everyone in `rows`, a word on why, and a link to start a private chat."""
        url = self.start_link(platform)
        return mention_message(
            [(r.fallback.user_id, r.fallback.name) for r in rows if r.fallback is not None],
            self._catalogue.render(locale, "outbox.mention.body"),
            (self._catalogue.text(locale, "outbox.mention.start"), url) if url else None,
        )

    def start_link(self, platform: Platform) -> str | None:
        messenger = self._messengers.get(platform)
        if isinstance(messenger, StartLinks):
            return messenger.start_link(START_PAYLOAD)
        return None


def mention_message(
    people: list[tuple[str, str]], body: RichText, link: tuple[str, str] | None = None
) -> OutboundMessage:
    """One group message that mentions several people at once, then says `body`; `link` is
    (label, url), e.g. to start a private chat with the bot."""
    seen: dict[str, str] = {}
    for user_id, name in people:
        seen.setdefault(user_id, name)
    spans: list[Span] = []
    for user_id, name in seen.items():
        if spans:
            spans.append(Span(", "))
        spans.append(Span(name, Style.MENTION, user_id=user_id))
    text = RichText((Block(tuple(spans)),)) + body
    if link is not None:
        label, url = link
        text += RichText((Block((Span(label, Style.LINK, url=url),)),))
    return OutboundMessage(text)
