"""What monitoring reads from the queues: inbox and outbox rows by status, and the oldest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from facilitator.bootstrap import repositories
from facilitator.domain.model import Platform
from facilitator.domain.outbox import OutboxEntry, OutboxStatus, Outcome
from facilitator.markup import Destination, OutboundMessage, RichText
from facilitator.storage.engine import session_factory
from facilitator.storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.conftest import Database

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def uow(db: Database) -> SqlUnitOfWork:
    return SqlUnitOfWorkFactory(session_factory(db.engine), repositories())()


def entry(key: str, due: datetime, *, held: bool = False) -> OutboxEntry:
    return OutboxEntry(
        dedup_key=key,
        kind="test",
        destination=Destination(Platform.TELEGRAM, key),
        message=OutboundMessage(RichText.of(key)),
        due_at=due,
        held=held,
    )


async def test_an_empty_database_has_no_backlog(database: Database) -> None:
    async with uow(database) as u:
        inbox = await u.inbox.backlog()
        outbox = await u.outbox.backlog(NOW)
    assert inbox.oldest is None and set(inbox.counts.values()) == {0}
    assert {"pending", "processing", "retry", "failed"} <= set(inbox.counts)
    assert outbox.oldest is None and set(outbox.counts.values()) == {0}
    assert {"held", "pending", "sending", "uncertain", "failed"} <= set(outbox.counts)


async def test_inbox_backlog_counts_unfinished_rows_and_the_oldest_arrival(
    database: Database,
) -> None:
    async with uow(database) as u:
        for n, minutes_ago in enumerate([50, 40, 30, 20, 10]):
            arrived = NOW - timedelta(minutes=minutes_ago)
            await u.inbox.add(Platform.TELEGRAM, f"u{n}", "chat", "{}", arrived)
        await u.commit()
    async with uow(database) as u:
        first, second, third, _processing = await u.inbox.claim(NOW, 60, 4)
        await u.inbox.mark_done(first.id, NOW)
        await u.inbox.mark_rejected(second.id, "bad", NOW)
        await u.inbox.mark_failed(third.id, "boom", NOW + timedelta(minutes=1))
        await u.commit()
    async with uow(database) as u:
        backlog = await u.inbox.backlog()
    # u0 done and u1 rejected are finished; u2 waits for a retry, u3 is being processed.
    assert dict(backlog.counts) == {"pending": 1, "processing": 1, "retry": 1, "failed": 0}
    assert backlog.oldest == NOW - timedelta(minutes=30)


async def test_outbox_backlog_counts_by_status_and_ages_only_rows_due_now(
    database: Database,
) -> None:
    async with uow(database) as u:
        await u.outbox.add(entry("late", NOW - timedelta(hours=2)), NOW)
        await u.outbox.add(entry("due", NOW - timedelta(minutes=5)), NOW)
        await u.outbox.add(entry("later", NOW + timedelta(hours=1)), NOW)
        await u.outbox.add(entry("held", NOW - timedelta(days=1), held=True), NOW)
        await u.outbox.add(entry("sent", NOW - timedelta(days=2)), NOW)
        await u.commit()
    async with uow(database) as u:
        claimed = await u.outbox.claim(NOW, "w", 60, 10, [Platform.TELEGRAM])
        by_key = {row.dedup_key: row for row in claimed}
        sent, late = by_key["sent"], by_key["late"]
        await u.outbox.start_sending(sent.id, "w", NOW, 60)
        await u.outbox.finish(sent.id, "w", Outcome(OutboxStatus.SENT), NOW)
        await u.outbox.start_sending(late.id, "w", NOW, 60)
        # The late one failed once and waits a minute: pending again, but not due yet.
        retry = Outcome(OutboxStatus.PENDING, "boom", retry_at=NOW + timedelta(minutes=1))
        await u.outbox.finish(late.id, "w", retry, NOW)
        await u.outbox.release([by_key["due"].id], "w")
        await u.commit()
    async with uow(database) as u:
        backlog = await u.outbox.backlog(NOW)
        a_minute_later = await u.outbox.backlog(NOW + timedelta(minutes=1))
    assert backlog.counts["pending"] == 3 and backlog.counts["held"] == 1
    assert backlog.counts["claimed"] == backlog.counts["sending"] == 0
    assert "sent" not in backlog.counts
    assert backlog.oldest == NOW - timedelta(minutes=5)
    assert a_minute_later.oldest == NOW - timedelta(hours=2)


async def test_retention_deletes_finished_inbox_rows_and_keeps_waiting_ones(
    database: Database,
) -> None:
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=5)
    async with uow(database) as u:
        for key, arrived in [("done", old), ("rejected", old), ("waiting", old), ("new", recent)]:
            await u.inbox.add(Platform.SLACK, key, "C1", '{"text": "private words"}', arrived)
        await u.commit()
    async with uow(database) as u:
        rows = {r.delivery_id: r for r in await u.inbox.claim(NOW, 60, 10)}
        await u.inbox.mark_done(rows["done"].id, NOW)
        await u.inbox.mark_rejected(rows["rejected"].id, "bad", NOW)
        await u.inbox.mark_done(rows["new"].id, NOW)
        await u.commit()
    async with uow(database) as u:
        assert await u.inbox.purge(NOW - timedelta(days=30)) == 2
        await u.commit()
    async with uow(database) as u:
        remaining = await u.inbox.counts()
        # A platform redelivering a purged event would be stored again; none does after days.
        assert not await u.inbox.add(Platform.SLACK, "new", "C1", "{}", NOW)
    assert remaining == {"processing": 1, "done": 1}
