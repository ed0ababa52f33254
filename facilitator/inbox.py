"""The durable inbox: raw inbound events are stored before the platform is acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta

from facilitator import surface
from facilitator.commands.spec import split_command
from facilitator.context import Reply
from facilitator.core import Facilitator
from facilitator.delivery.replies import ReplyLanes
from facilitator.domain.errors import StorageUnavailable, UndecodablePayload
from facilitator.domain.events import InboundEvent, MessageReceived, ReactionChanged
from facilitator.domain.model import Platform
from facilitator.ports import Clock, Decoder, InboxDelivery, InboxRecord, UnitOfWorkFactory

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
LEASE_SECONDS = 60.0
BATCH = 100  # rows handled in one transaction
# How long the inbox waits for an event's replies to go out before handling the next one of
# its group: long enough for a conversation at its usual speed (so a crash loses at most the
# replies being sent), short enough that a slow one does not hold the others.
REPLY_WAIT_SECONDS = 0.25
Sender = Callable[[Sequence[Reply]], Awaitable[None]]
# platform, delivery id, payload, ordering key, sender (its platform user id, when known)
Delivery = tuple[Platform, str, str, str, str | None]


def shares_a_transaction(events: Sequence[InboundEvent]) -> bool:
    """Whether these events may share a transaction with others: group messages that are not
    commands, and reactions, which change no person, community or role and whose replies may
    wait for the others' commit; and what bots do (ignored)."""
    return all(event.origin.user.is_bot or _group_chatter(event) for event in events)


def _group_chatter(event: InboundEvent) -> bool:
    """A message that is not a command, or a reaction, in a group."""
    if event.origin.is_direct:
        return False
    if isinstance(event, MessageReceived):
        return split_command(event.text) is None
    return isinstance(event, ReactionChanged)


def _settle(
    arrived: asyncio.Future[bool], *, result: bool = False, error: BaseException | None = None
) -> None:
    if arrived.done() or arrived.get_loop().is_closed():
        return  # its caller gave up waiting (a dropped request): nothing to tell
    if error is not None:
        arrived.set_exception(error)
    else:
        arrived.set_result(result)


class Inbox:
    """Stores raw events, then processes them: in order within a conversation, concurrently
    across conversations. A restart processes whatever was stored and not yet done."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        core: Facilitator,
        decoders: Mapping[Platform, Decoder],
        send: Sender,
        clock: Clock,
        concurrency: int = 8,
        *,
        prefetch: bool = True,
    ) -> None:
        self._uow_factory = uow_factory
        # Whether a transaction of several events looks up what they will ask at once first
        # (`UnitOfWork.prefetch`): a speed-up that changes no outcome.
        self.prefetch = prefetch
        self._core = core
        self._decoders = dict(decoders)
        # Replies leave the inbox at once: each conversation's are sent in a lane of their
        # own, so a slow conversation never holds back the events of the others.
        self.replies = ReplyLanes(send, core.services.metrics)
        self._clock = clock
        self._concurrency = concurrency
        self._wakeup = asyncio.Event()
        self.rejected = 0
        self.processed = 0
        self._stored = 0  # rows this process has stored: `process_pending` looks again if any
        self._arriving: list[tuple[Delivery, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    def register(self, platform: Platform, decoder: Decoder) -> None:
        self._decoders[platform] = decoder

    async def accept(
        self,
        platform: Platform,
        delivery_id: str,
        payload: str,
        ordering_key: str,
        sender: str | None = None,
    ) -> bool:
        """Store one raw event durably; False if this delivery was stored before. `sender`
        (the platform user id of who sent it) is how /forgetme finds their raw payloads.

        Events that arrive together (webhook requests under load) share one transaction, a
        group commit: the first to arrive starts a writer, which stores everything waiting
        by the time it runs, and each caller returns once its own row is committed.

        A platform's delivery id never starts with `surface.SURFACE`: those rows run as the
        member they name (`act`), so one arriving here is refused."""
        if delivery_id.startswith(surface.SURFACE):
            log.warning("delivery refused: a surface's id", extra={"platform": platform.value})
            return False
        loop = asyncio.get_running_loop()
        arrived: asyncio.Future[bool] = loop.create_future()
        self._arriving.append(((platform, delivery_id, payload, ordering_key, sender), arrived))
        writer = self._writer
        if writer is None or writer.done() or writer.get_loop() is not loop:
            self._writer = loop.create_task(self._write_arrived())
        return await arrived

    async def _write_arrived(self) -> None:
        while self._arriving:
            batch, self._arriving = self._arriving[:BATCH], self._arriving[BATCH:]
            try:
                await self._store_arrived(batch)
            except Exception as error:  # noqa: BLE001 - handed to each caller
                if len(batch) == 1:
                    _settle(batch[0][1], error=error)
                    continue
                # One bad row must not fail the others: each alone, as before.
                for one in batch:
                    try:
                        await self._store_arrived([one])
                    except Exception as alone:  # noqa: BLE001 - handed to its caller
                        _settle(one[1], error=alone)

    async def _store_arrived(self, batch: list[tuple[Delivery, asyncio.Future[bool]]]) -> None:
        now = self._clock.now()
        added: set[tuple[Platform, str]] = set()
        async with self._uow_factory() as uow:
            for platform in dict.fromkeys(p for (p, *_), _ in batch):
                rows: list[InboxDelivery] = [
                    (d, key, payload, sender)
                    for (p, d, payload, key, sender), _ in batch
                    if p is platform
                ]
                for record in await uow.inbox.add_many(platform, rows, now):
                    added.add((platform, record.delivery_id))
            await uow.commit()
        if added:
            self._stored += len(added)
            self._wakeup.set()
        for (platform, delivery_id, *_), arrived in batch:
            key = (platform, delivery_id[:128])
            new = key in added
            added.discard(key)  # the same delivery twice in a batch: stored once
            if not new:
                log.info("duplicate delivery ignored", extra={"platform": platform.value})
            _settle(arrived, result=new)

    async def accept_many(
        self,
        platform: Platform,
        deliveries: Sequence[tuple[str, str, str] | tuple[str, str, str, str | None]],
        *,
        handle: bool = False,
    ) -> int:
        """Store a batch (delivery id, payload, ordering key, and the sender if known) in one
        transaction, as a long poll receives it; returns how many were new.

        With `handle`, the new rows are stored already leased to this process and handled
        at once, before this returns (long polling: the next poll waits for them). That
        saves claiming them again. If handling fails, they stay leased and the worker
        (`run_forever`) takes them up when the lease ends, as after a crash."""
        rows: list[InboxDelivery] = [
            (d, key, payload, sender[0] if sender else None)
            for d, payload, key, *sender in deliveries
            if not d.startswith(surface.SURFACE)  # as `accept`: never a surface's row
        ]
        now = self._clock.now()
        handle = handle and platform in self._decoders
        async with self._uow_factory() as uow:
            lease = LEASE_SECONDS if handle else None
            records = await uow.inbox.add_many(platform, rows, now, lease)
            await uow.commit()
        added = len(records)
        if added < len(deliveries):
            log.info(
                "duplicate deliveries ignored",
                extra={"platform": platform.value, "duplicates": len(deliveries) - added},
            )
        if handle:
            try:
                await self._handle(records)
            except Exception as error:  # noqa: BLE001 - the rows stay leased, taken up later
                log.warning(
                    "stored batch not handled; the worker takes it up when its lease ends",
                    extra={"platform": platform.value, "error": type(error).__name__},
                )
        elif added:
            self._stored += added
            self._wakeup.set()
        return added

    async def act(self, platform: Platform, delivery_id: str, payload: str, sender: str) -> bool:
        """A command from another surface (`facilitator.surface`): stored like a delivery,
        leased to this process and run at once, its replies sent before this returns; False
        when the same delivery was stored before. If running it fails, the row stays leased
        and a worker takes it up when the lease ends."""
        assert delivery_id.startswith(surface.SURFACE)
        now = self._clock.now()
        async with self._uow_factory() as uow:
            records = await uow.inbox.add_many(
                platform, [(delivery_id, sender, payload, sender)], now, LEASE_SECONDS
            )
            await uow.commit()
        if not records:
            return False
        # Like any event, it waits a moment for its own replies (`REPLY_WAIT_SECONDS`), not
        # for every conversation's.
        await self._handle(records)
        return True

    async def process_pending(self, limit: int = 200, *, wait: bool = True) -> int:
        """Claim and process stored events until none is left; returns how many were handled.
        With `wait`, also waits until their replies were sent (the worker loop does not: a
        conversation's replies go out at its own pace while the next events are handled).

        A claimed batch is split by conversation into lanes; the lanes are spread over
        `concurrency` groups that run concurrently, and each group handles its events in
        arrival order in transactions of up to `BATCH` rows (so a conversation keeps its
        order). If a transaction fails, its rows are handled again one by one, so one bad
        event never holds back the others."""
        total = await self._process_pending(limit)
        if wait:
            await self.replies.drain()
        return total

    async def _process_pending(self, limit: int) -> int:
        total = 0
        while True:
            stored = self._stored
            async with self._uow_factory() as uow:
                # Only the platforms this process decodes: another process sharing the
                # database (`demo` beside `serve`, a Slack `run` beside a Telegram `serve`)
                # handles the others, instead of this one rejecting them as undecodable.
                batch = await uow.inbox.claim(
                    self._clock.now(), LEASE_SECONDS, limit, list(self._decoders)
                )
                await uow.commit()
            if not batch:
                return total
            await self._handle(batch)
            total += len(batch)
            if len(batch) < limit and self._stored == stored:
                # The claim took every row that was waiting, and this process has stored
                # none since: asking again would find nothing. Rows another process stores
                # meanwhile are found at the next round (`run_forever`).
                return total

    async def _handle(self, batch: Sequence[InboxRecord]) -> None:
        """Handle claimed rows: split by conversation into lanes, spread over `concurrency`
        groups that run concurrently; raises the first group's failure."""
        lanes: dict[str, list[InboxRecord]] = defaultdict(list)
        for record in batch:
            lanes[f"{record.platform}:{record.ordering_key}"].append(record)
        groups: list[list[InboxRecord]] = [[] for _ in range(self._concurrency)]
        for records in sorted(lanes.values(), key=len, reverse=True):
            min(groups, key=len).extend(records)
        # Every group runs to its end even when another fails: a plain gather would return
        # at the first failure and leave the other groups running unattended, their own
        # failures never seen. Then the first failure ends this round (the worker loop
        # logs it and starts again); any others are logged here.
        results = await asyncio.gather(
            *(self._run_group(g) for g in groups if g), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures[1:]:
            if isinstance(failure, StorageUnavailable):
                log.warning("inbox group stopped: %s", failure)
            else:
                log.error("inbox group failed", exc_info=failure)
        if failures:
            raise failures[0]

    async def _run_group(self, records: list[InboxRecord]) -> None:
        """A group's rows in arrival order, lane by lane. Runs of plain events (group
        messages and reactions: nothing to reply, nobody changed) share a transaction of up
        to `BATCH` rows; any other event has one of its own, and its replies are sent before
        the next is handled, so a crash can lose at most the replies of the one event being
        sent (replies go out after the commit, at most once)."""
        records.sort(key=lambda r: r.id)
        run: list[tuple[InboxRecord, Sequence[InboundEvent]]] = []
        silenced: list[tuple[InboxRecord, Sequence[InboundEvent]]] = []
        for record in records:
            try:
                events = await self._decode(record)
            except UndecodablePayload as error:
                await self._run_together(run)
                run = []
                await self._reject(record, error)
                continue
            if self._core.silenced(events):
                # A member over their command budget, already told: nothing runs, nothing
                # is said, nothing else depends on it. Done in bulk, in any order.
                silenced.append((record, events))
                if len(silenced) >= BATCH:
                    await self._mark_silenced(silenced)
                    silenced = []
                continue
            if shares_a_transaction(events):
                run.append((record, events))
                if len(run) >= BATCH:
                    await self._run_together(run)
                    run = []
            else:
                await self._run_together(run)
                run = []
                await self._process(record, events)
        await self._run_together(run)
        await self._mark_silenced(silenced)

    async def _mark_silenced(
        self, silenced: list[tuple[InboxRecord, Sequence[InboundEvent]]]
    ) -> None:
        if not silenced:
            return
        async with self._uow_factory() as uow:
            await uow.inbox.mark_all_done([r.id for r, _ in silenced], self._clock.now())
            await uow.commit()
        self.processed += len(silenced)
        for _, events in silenced:
            self._core.services.metrics.inbound(events, "done")

    async def _run_together(self, run: list[tuple[InboxRecord, Sequence[InboundEvent]]]) -> None:
        if len(run) == 1 or (run and not await self._process_together(run)):
            for record, events in run:
                await self._process(record, events)

    async def _process_together(
        self, run: list[tuple[InboxRecord, Sequence[InboundEvent]]]
    ) -> bool:
        """Handle several rows in one transaction; False (nothing written) if any fails."""
        events = [event for _, row_events in run for event in row_events]
        try:
            async with self._uow_factory() as uow:
                now = self._clock.now()
                if self.prefetch:
                    await uow.prefetch(events, now)
                replies: list[Reply] = []
                for event in events:
                    replies.extend(await self._core.handle(event, uow))
                await uow.inbox.mark_all_done([record.id for record, _ in run], now)
                await uow.commit()
        except Exception:  # noqa: BLE001 - retried one by one, which logs each failure
            log.warning(
                "inbound batch failed; handling its events one by one",
                extra={"events": len(run)},
            )
            return False
        self.processed += len(run)
        for _, row_events in run:
            self._core.services.metrics.inbound(row_events, "done")
        if replies:
            await self.replies.settle(self.replies.put(replies), REPLY_WAIT_SECONDS)
        return True

    async def run_forever(self, idle_seconds: float = 1.0) -> None:
        while True:
            await self.process_pending(wait=False)
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=idle_seconds)

    async def _reject(self, record: InboxRecord, error: UndecodablePayload) -> None:
        self._log_rejected(record, error)
        async with self._uow_factory() as uow:
            await uow.inbox.mark_rejected(record.id, error.reason[:1000], self._clock.now())
            await uow.commit()

    async def _process(self, record: InboxRecord, events: Sequence[InboundEvent]) -> None:
        replies: list[Reply] = []
        try:
            async with self._uow_factory() as uow:
                for event in events:
                    replies.extend(await self._core.handle(event, uow))
                await uow.inbox.mark_done(record.id, self._clock.now())
                await uow.commit()
        except Exception as error:  # one failing event must not stop the others
            if isinstance(error, StorageUnavailable):  # an outage: its traceback says nothing
                log.warning("inbound event not handled: %s", error, extra={"inbox_id": record.id})
            else:
                log.exception("inbound event failed", extra={"inbox_id": record.id})
            # While the database is down this fails too; the row then stays claimed and is
            # taken up again when its lease ends.
            retry_at = None
            if record.attempts < MAX_ATTEMPTS:
                retry_at = self._clock.now() + timedelta(seconds=2**record.attempts)
            self._core.services.metrics.inbound(events, "retry" if retry_at else "failed")
            async with self._uow_factory() as uow:
                await uow.inbox.mark_failed(record.id, repr(error)[:1000], retry_at)
                await uow.commit()
            return
        self.processed += 1
        self._core.services.metrics.inbound(events, "done")
        if replies:
            await self.replies.settle(self.replies.put(replies), REPLY_WAIT_SECONDS)

    def _log_rejected(self, record: InboxRecord, error: UndecodablePayload) -> None:
        """The reason is kept with the row; the log gets the error's type and the delivery id
        only, since a decoder's message may quote the payload (a member's text)."""
        self.rejected += 1
        self._core.services.metrics.inbound((), "rejected")
        cause = error.__cause__ if error.__cause__ is not None else error
        log.warning(
            "inbound payload rejected",
            extra={
                "platform": record.platform.value,
                "inbox_id": record.id,
                "delivery_id": record.delivery_id[:128],
                "error": type(cause).__name__,
            },
        )

    async def _decode(self, record: InboxRecord) -> Sequence[InboundEvent]:
        if record.delivery_id.startswith(surface.SURFACE):
            return surface.decode(record.delivery_id, record.payload)
        decoder = self._decoders.get(record.platform)
        if decoder is None:
            raise UndecodablePayload(f"no decoder for platform {record.platform}")
        try:
            return await decoder.decode(record.payload)
        except UndecodablePayload:
            raise
        except Exception as error:  # decoders parse untrusted input; any failure is a rejection
            raise UndecodablePayload(f"{type(error).__name__}: {error}") from error
