"""The outbox table: queueing with a unique key, claims with row locks, outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from facilitator.delivery.codec import (
    decode_destination,
    decode_message,
    encode_destination,
    encode_message,
)
from facilitator.domain.model import Platform
from facilitator.domain.outbox import (
    Fallback,
    OutboxEntry,
    OutboxRecord,
    OutboxStatus,
    Outcome,
)
from facilitator.ports import Backlog
from facilitator.storage.models import OutboxRow
from facilitator.storage.repositories import insert_ignoring_conflicts

_ACTIVE = (OutboxStatus.CLAIMED.value, OutboxStatus.SENDING.value)
# What monitoring counts: rows not finished, and those that need a moderator's eye.
BACKLOG_STATUSES = (
    OutboxStatus.HELD,
    OutboxStatus.PENDING,
    OutboxStatus.CLAIMED,
    OutboxStatus.SENDING,
    OutboxStatus.UNREACHABLE,
    OutboxStatus.UNCERTAIN,
    OutboxStatus.FAILED,
)


def _fallback(data: dict[str, Any] | None) -> Fallback | None:
    if not data:
        return None
    return Fallback(
        chat_id=str(data["chat_id"]),
        user_id=str(data["user_id"]),
        name=str(data["name"]),
        thread_id=data.get("thread_id"),
    )


def _record(row: OutboxRow) -> OutboxRecord:
    return OutboxRecord(
        id=row.id,
        dedup_key=row.dedup_key,
        kind=row.kind,
        destination=decode_destination(row.destination),
        message=decode_message(row.message),
        status=OutboxStatus(row.status),
        due_at=row.due_at,
        available_at=row.available_at,
        attempts=row.attempts,
        community_id=row.community_id,
        person_id=row.person_id,
        is_nudge=row.is_nudge,
        fallback=_fallback(row.fallback),
        created_at=row.created_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
        platform_ref=row.platform_ref,
    )


class SqlOutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def add(self, entry: OutboxEntry, now: datetime) -> bool:
        fallback = entry.fallback
        status = OutboxStatus.HELD if entry.held else OutboxStatus.PENDING
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, OutboxRow).values(
                dedup_key=entry.dedup_key[:200],
                kind=entry.kind[:40],
                community_id=entry.community_id,
                person_id=entry.person_id,
                platform=entry.destination.platform.value,
                chat_id=entry.destination.chat_id,
                destination=encode_destination(entry.destination),
                message=encode_message(entry.message),
                fallback=None
                if fallback is None
                else {
                    "chat_id": fallback.chat_id,
                    "user_id": fallback.user_id,
                    "name": fallback.name,
                    "thread_id": fallback.thread_id,
                },
                is_nudge=entry.is_nudge,
                status=status.value,
                due_at=entry.due_at,
                available_at=entry.due_at,
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def recover(self, now: datetime) -> tuple[int, int]:
        requeued = await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.status == OutboxStatus.CLAIMED.value,
                OutboxRow.available_at <= now,
            )
            .values(status=OutboxStatus.PENDING.value, claimed_by=None, updated_at=now)
        )
        # Handed to the platform by a dispatcher that never said how it went: it may have
        # arrived, so it is never sent again; moderators see it in /outbox.
        interrupted = await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.status == OutboxStatus.SENDING.value,
                OutboxRow.available_at <= now,
            )
            .values(
                status=OutboxStatus.UNCERTAIN.value,
                last_error="interrupted while sending",
                updated_at=now,
            )
        )
        return (
            int(getattr(requeued, "rowcount", 0) or 0),
            int(getattr(interrupted, "rowcount", 0) or 0),
        )

    async def claim(
        self,
        now: datetime,
        worker: str,
        lease_seconds: float,
        limit: int,
        platforms: Sequence[Platform],
    ) -> list[OutboxRecord]:
        if not platforms or limit <= 0:
            return []
        busy = aliased(OutboxRow)
        # A conversation another dispatcher is working on stays with it, so that its messages
        # keep their order and its pacing stays in one process. Written as NOT IN over the
        # few busy conversations rather than NOT EXISTS: right after a burst of rows is queued
        # the planner's statistics still see an empty table, and PostgreSQL then chose a nested
        # loop comparing every pending row with every busy one (half a second per claim with
        # 5,000 rows), where NOT IN always hashes the busy conversations once.
        # A conversation whose due message waits to be tried again (the platform asked us to
        # slow down, or the send failed) waits with it: nothing overtakes that message.
        elsewhere = tuple_(OutboxRow.platform, OutboxRow.chat_id).in_(
            select(busy.platform, busy.chat_id).where(
                busy.available_at > now,
                (busy.status.in_(_ACTIVE) & (busy.claimed_by != worker))
                | ((busy.status == OutboxStatus.PENDING.value) & (busy.due_at <= now)),
            )
        )
        query = (
            select(OutboxRow)
            .where(
                OutboxRow.status == OutboxStatus.PENDING.value,
                OutboxRow.available_at <= now,
                OutboxRow.platform.in_([p.value for p in platforms]),
                ~elsewhere,
            )
            # In the order they were queued, which is the order `_without_overtaking` keeps
            # within a conversation. Taken by due time instead, a row handed back by a dead
            # dispatcher (due again only when its lease ended) came after the later rows of its
            # conversation, which it then blocked: once a whole claim's worth of such rows was
            # waiting, every claim came back empty and the outbox stopped for good.
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True, of=OutboxRow)
        rows = list(await self.session.scalars(query))
        rows = await self._without_overtaking(rows, now, worker)
        lease_until = now + timedelta(seconds=lease_seconds)
        for row in rows:
            row.status = OutboxStatus.CLAIMED.value
            row.claimed_by = worker
            row.available_at = lease_until
            row.updated_at = now
        await self.session.flush()
        # Sent in the order they were queued.
        return [_record(r) for r in sorted(rows, key=lambda r: r.id)]

    async def _without_overtaking(
        self, rows: list[OutboxRow], now: datetime, worker: str
    ) -> list[OutboxRow]:
        """Drop the rows of a conversation that has an earlier due row we did not get: another
        dispatcher is claiming it right now (SKIP LOCKED hid it), and it goes first."""
        if not rows:
            return rows
        first: dict[tuple[str, str], int] = {}
        for row in rows:
            lane = (row.platform, row.chat_id)
            first[lane] = min(first.get(lane, row.id), row.id)
        earlier = await self.session.execute(
            select(OutboxRow.platform, OutboxRow.chat_id, func.min(OutboxRow.id))
            .where(
                OutboxRow.chat_id.in_({chat for _, chat in first}),
                OutboxRow.id < max(first.values()),
                ((OutboxRow.status == OutboxStatus.PENDING.value) & (OutboxRow.due_at <= now))
                | (OutboxRow.status.in_(_ACTIVE) & (OutboxRow.claimed_by != worker)),
            )
            .group_by(OutboxRow.platform, OutboxRow.chat_id)
        )
        blocked = {
            (platform, chat)
            for platform, chat, earliest in earlier.all()
            if (platform, chat) in first and earliest < first[(platform, chat)]
        }
        return [row for row in rows if (row.platform, row.chat_id) not in blocked]

    async def start_sending(
        self, record_id: int, worker: str, now: datetime, lease_seconds: float
    ) -> bool:
        result = await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.id == record_id,
                OutboxRow.status == OutboxStatus.CLAIMED.value,
                OutboxRow.claimed_by == worker,
            )
            .values(
                status=OutboxStatus.SENDING.value,
                attempts=OutboxRow.attempts + 1,
                available_at=now + timedelta(seconds=lease_seconds),
                updated_at=now,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def finish(self, record_id: int, worker: str, outcome: Outcome, now: datetime) -> None:
        values: dict[str, Any] = {
            "status": outcome.status.value,
            "updated_at": now,
            "last_error": outcome.error[:500] if outcome.error else None,
        }
        if outcome.status is OutboxStatus.SENT:
            values.update(sent_at=now, platform_ref=outcome.platform_ref, claimed_by=None)
        if outcome.retry_at is not None:
            values.update(available_at=outcome.retry_at, claimed_by=None)
        if outcome.new_chat_id is not None:
            row = await self.session.get(OutboxRow, record_id)
            if row is not None:
                values.update(
                    chat_id=outcome.new_chat_id,
                    destination={
                        **row.destination,
                        "chat_id": outcome.new_chat_id,
                        "thread_id": None,
                        "reply_to_message_id": None,
                    },
                )
        # Whoever holds it: a send that outlived its lease still reports what happened.
        await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.id == record_id,
                OutboxRow.claimed_by == worker,
                OutboxRow.status.in_((OutboxStatus.SENDING.value, OutboxStatus.UNCERTAIN.value)),
            )
            .values(values)
        )

    async def release(self, record_ids: Sequence[int], worker: str) -> None:
        if not record_ids:
            return
        await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.id.in_(list(record_ids)),
                OutboxRow.status == OutboxStatus.CLAIMED.value,
                OutboxRow.claimed_by == worker,
            )
            .values(
                status=OutboxStatus.PENDING.value, claimed_by=None, available_at=OutboxRow.due_at
            )
        )

    async def take_unreachable(self, limit: int) -> list[OutboxRecord]:
        query = (
            select(OutboxRow)
            .where(OutboxRow.status == OutboxStatus.UNREACHABLE.value)
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        rows = list(await self.session.scalars(query))
        for row in rows:
            row.status = OutboxStatus.REDIRECTED.value
        await self.session.flush()
        return [_record(r) for r in rows]

    async def get(self, record_id: int) -> OutboxRecord | None:
        row = await self.session.get(OutboxRow, record_id)
        return _record(row) if row else None

    async def by_key(self, dedup_key: str) -> OutboxRecord | None:
        row = await self.session.scalar(select(OutboxRow).where(OutboxRow.dedup_key == dedup_key))
        return _record(row) if row else None

    async def counts(self, community_id: int | None) -> dict[OutboxStatus, int]:
        query = select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
        if community_id is not None:
            query = query.where(OutboxRow.community_id == community_id)
        result = await self.session.execute(query)
        return {OutboxStatus(status): int(n) for status, n in result.all()}

    async def backlog(self, now: datetime) -> Backlog:
        statuses = [s.value for s in BACKLOG_STATUSES]
        counts = dict.fromkeys(statuses, 0)
        result = await self.session.execute(
            select(OutboxRow.status, func.count())
            .where(OutboxRow.status.in_(statuses))
            .group_by(OutboxRow.status)
        )
        counts.update({status: int(n) for status, n in result.all()})
        oldest = await self.session.scalar(
            select(func.min(OutboxRow.due_at)).where(
                OutboxRow.status == OutboxStatus.PENDING.value, OutboxRow.available_at <= now
            )
        )
        return Backlog(counts, oldest)

    async def listing(
        self, community_id: int | None, statuses: Sequence[OutboxStatus], limit: int
    ) -> list[OutboxRecord]:
        query = (
            select(OutboxRow)
            .where(OutboxRow.status.in_([s.value for s in statuses]))
            .order_by(OutboxRow.updated_at.desc(), OutboxRow.id.desc())
            .limit(limit)
        )
        if community_id is not None:
            query = query.where(OutboxRow.community_id == community_id)
        return [_record(r) for r in await self.session.scalars(query)]

    async def transition(
        self,
        record_id: int,
        from_statuses: Sequence[OutboxStatus],
        to_status: OutboxStatus,
        now: datetime,
    ) -> bool:
        values: dict[str, Any] = {"status": to_status.value, "updated_at": now}
        if to_status is OutboxStatus.PENDING:
            # Approved early, a nudge still waits for its time (quiet hours); retried, it goes now.
            due = case((OutboxRow.due_at > now, OutboxRow.due_at), else_=now)
            values.update(available_at=due, attempts=0, claimed_by=None, last_error=None)
        result = await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.id == record_id,
                OutboxRow.status.in_([s.value for s in from_statuses]),
            )
            .values(values)
        )
        return bool(getattr(result, "rowcount", 0))

    async def cancel(self, key_prefix: str, now: datetime) -> int:
        escaped = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        result = await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.dedup_key.like(escaped + "%", escape="\\"),
                OutboxRow.status.in_((OutboxStatus.HELD.value, OutboxStatus.PENDING.value)),
            )
            .values(status=OutboxStatus.CANCELLED.value, updated_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)
