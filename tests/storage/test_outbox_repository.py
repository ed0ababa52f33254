"""The outbox repository on SQLite and PostgreSQL, and two dispatchers sharing PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from facilitator.bootstrap import repositories
from facilitator.delivery.dispatcher import Dispatcher
from facilitator.domain.errors import DeliveryError
from facilitator.domain.model import Platform
from facilitator.domain.outbox import OutboxEntry, OutboxStatus, Outcome
from facilitator.i18n import Catalogue
from facilitator.markup import Destination, OutboundMessage, RichText
from facilitator.storage.database import Storage
from facilitator.storage.engine import session_factory
from facilitator.storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.conftest import POSTGRES_URL, REPO_ROOT, Database, FrozenClock, fresh_postgres_schema

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def uow(db: Database) -> SqlUnitOfWork:
    return SqlUnitOfWorkFactory(session_factory(db.engine), repositories())()


def entry(key: str, chat: str, due: datetime = NOW) -> OutboxEntry:
    return OutboxEntry(
        dedup_key=key,
        kind="test",
        destination=Destination(Platform.TELEGRAM, chat, thread_id="7", is_direct=False),
        message=OutboundMessage(RichText.of(f"text of {key}")),
        due_at=due,
    )


async def add(db: Database, *entries: OutboxEntry) -> list[bool]:
    async with uow(db) as u:
        added = [await u.outbox.add(e, NOW) for e in entries]
        await u.commit()
    return added


async def test_a_deduplication_key_is_stored_once(database: Database) -> None:
    assert await add(database, entry("k", "-1"), entry("k", "-2")) == [True, False]
    async with uow(database) as u:
        record = await u.outbox.by_key("k")
    assert record is not None and record.destination.chat_id == "-1"
    assert record.destination.thread_id == "7"
    assert record.message.body.plain() == "text of k"
    assert record.status is OutboxStatus.PENDING and record.due_at == NOW


async def test_concurrent_claims_never_share_a_row(database: Database) -> None:
    await add(database, *(entry(f"k{n}", str(n)) for n in range(120)))

    async def claim_all(worker: str) -> list[int]:
        taken: list[int] = []
        while True:
            async with uow(database) as u:
                rows = await u.outbox.claim(NOW, worker, 60, 25, [Platform.TELEGRAM])
                await u.commit()
            if not rows:
                return taken
            taken.extend(r.id for r in rows)

    first, second = await asyncio.gather(claim_all("a"), claim_all("b"))
    assert not set(first) & set(second)
    assert len(first) + len(second) == 120


async def test_a_conversation_held_by_one_worker_is_not_claimed_by_another(
    database: Database,
) -> None:
    await add(database, entry("first", "-5"), entry("second", "-5"), entry("other", "-6"))
    async with uow(database) as u:
        [row] = await u.outbox.claim(NOW, "a", 60, 1, [Platform.TELEGRAM])
        await u.commit()
    assert row.dedup_key == "first"
    async with uow(database) as u:
        rows = await u.outbox.claim(NOW, "b", 60, 10, [Platform.TELEGRAM])
        await u.commit()
    assert [r.dedup_key for r in rows] == ["other"]


async def test_expired_claims_return_and_interrupted_sends_become_uncertain(
    database: Database,
) -> None:
    await add(database, entry("claimed", "-1"), entry("sending", "-2"))
    async with uow(database) as u:
        rows = await u.outbox.claim(NOW, "dead", 60, 10, [Platform.TELEGRAM])
        sending = next(r for r in rows if r.dedup_key == "sending")
        assert await u.outbox.start_sending(sending.id, "dead", NOW, 60)
        await u.commit()
    async with uow(database) as u:
        assert await u.outbox.recover(NOW + timedelta(seconds=30)) == (0, 0)
        assert await u.outbox.recover(NOW + timedelta(seconds=61)) == (1, 1)
        await u.commit()
    async with uow(database) as u:
        claimed = await u.outbox.by_key("claimed")
        interrupted = await u.outbox.by_key("sending")
    assert claimed is not None and claimed.status is OutboxStatus.PENDING
    assert interrupted is not None and interrupted.status is OutboxStatus.UNCERTAIN


async def test_rows_of_a_dead_worker_are_sent_first_and_never_stall_the_claims(
    database: Database,
) -> None:
    # Two chats with three messages each; a worker claims the first of each, then dies.
    await add(database, *(entry(f"{chat}:{n}", chat) for n in range(3) for chat in ("-1", "-2")))
    async with uow(database) as u:
        taken = await u.outbox.claim(NOW, "dead", 60, 2, [Platform.TELEGRAM])
        await u.commit()
    assert [r.dedup_key for r in taken] == ["-1:0", "-2:0"]
    # After its lease, the rows it held are due again, later than the rows queued after them:
    # a claim of two at a time must still take each chat's first message first.
    later = NOW + timedelta(seconds=61)
    sent: list[str] = []
    for _ in range(6):
        async with uow(database) as u:
            await u.outbox.recover(later)  # as the dispatcher does before each claim
            rows = await u.outbox.claim(later, "alive", 60, 2, [Platform.TELEGRAM])
            for row in rows:
                assert await u.outbox.start_sending(row.id, "alive", later, 60)
                await u.outbox.finish(row.id, "alive", Outcome(OutboxStatus.SENT), later)
            await u.commit()
        sent.extend(r.dedup_key for r in rows)
    assert sorted(sent) == sorted(f"{chat}:{n}" for n in range(3) for chat in ("-1", "-2"))
    for chat in ("-1", "-2"):
        assert [k for k in sent if k.startswith(chat)] == [f"{chat}:{n}" for n in range(3)]


async def test_a_late_outcome_of_a_send_is_still_recorded(database: Database) -> None:
    await add(database, entry("k", "-1"))
    async with uow(database) as u:
        [row] = await u.outbox.claim(NOW, "slow", 60, 1, [Platform.TELEGRAM])
        await u.outbox.start_sending(row.id, "slow", NOW, 60)
        await u.commit()
    later = NOW + timedelta(minutes=5)
    async with uow(database) as u:
        await u.outbox.recover(later)
        await u.outbox.finish(row.id, "slow", Outcome(OutboxStatus.SENT, platform_ref="9"), later)
        await u.commit()
    async with uow(database) as u:
        record = await u.outbox.get(row.id)
    assert record is not None and record.status is OutboxStatus.SENT
    assert record.platform_ref == "9" and record.sent_at == later


async def test_cancel_by_key_prefix_touches_only_waiting_rows(database: Database) -> None:
    await add(database, entry("webinar:1:24h", "-1"), entry("webinar:1:1h", "-1"))
    await add(database, entry("webinar:10:1h", "-1"), entry("webinar_1", "-1"))
    async with uow(database) as u:
        assert await u.outbox.cancel("webinar:1:", NOW) == 2
        await u.commit()
    async with uow(database) as u:
        counts = await u.outbox.counts(None)
    assert counts == {OutboxStatus.CANCELLED: 2, OutboxStatus.PENDING: 2}


@dataclass
class SharedMessenger:
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, destination: Destination, message: OutboundMessage) -> str | None:
        await asyncio.sleep(0)  # let the other dispatcher run between sends
        self.sent.append((destination.chat_id, message.body.plain()))
        return None


async def test_two_dispatchers_on_postgresql_never_send_a_message_twice() -> None:
    async with fresh_postgres_schema() as schema:
        storages = [Storage(POSTGRES_URL, schema, repositories=repositories()) for _ in range(2)]
        await storages[0].create_all()
        clock = FrozenClock(NOW)
        catalogue = Catalogue.load(REPO_ROOT / "prompts")
        messenger = SharedMessenger()
        messengers = {Platform.TELEGRAM: messenger}
        try:
            async with storages[0].uow_factory() as u:
                for n in range(600):
                    await u.outbox.add(entry(f"k{n}", str(-(n % 60) - 1)), NOW)
                await u.commit()
            dispatchers = [
                Dispatcher(s.uow_factory, messengers, catalogue, clock, batch=40)  # type: ignore[arg-type]
                for s in storages
            ]
            counts = await asyncio.gather(*(d.dispatch_due() for d in dispatchers))
            async with storages[1].uow_factory() as u:
                statuses = await u.outbox.counts(None)
        finally:
            for storage in storages:
                await storage.dispose()
    texts = Counter(text for _, text in messenger.sent)
    assert len(texts) == 600 and max(texts.values()) == 1
    assert sum(counts) == 600 and min(counts) > 0  # both worked, on different rows
    assert statuses == {OutboxStatus.SENT: 600}
    for chat in {chat for chat, _ in messenger.sent}:
        order = [int(t.split("k")[1]) for c, t in messenger.sent if c == chat]
        assert order == sorted(order)  # one conversation stays with one dispatcher, in order


@dataclass
class StumblingMessenger:
    """Fails the first attempt at `stumble`; sends everything else."""

    stumble: str
    sent: list[str] = field(default_factory=list)
    failed: bool = False

    async def send(self, destination: Destination, message: OutboundMessage) -> str | None:
        text = message.body.plain()
        if text.endswith(self.stumble) and not self.failed:
            self.failed = True
            raise DeliveryError("connection reset")
        self.sent.append(text)
        return None


async def test_a_message_waiting_to_be_tried_again_is_not_overtaken(database: Database) -> None:
    # Five messages to one group and five to another; the second to the first group fails once.
    await add(database, *(entry(f"{chat}:{n}", chat) for n in range(5) for chat in ("-1", "-2")))
    clock = FrozenClock(NOW)
    messenger = StumblingMessenger(stumble="-1:1")
    catalogue = Catalogue.load(REPO_ROOT / "prompts")
    dispatcher = Dispatcher(
        SqlUnitOfWorkFactory(session_factory(database.engine), repositories()),
        {Platform.TELEGRAM: messenger},  # type: ignore[dict-item]
        catalogue,
        clock,
        batch=40,
    )
    await dispatcher.dispatch_due()
    # The other group got everything; this one got what came before the failure, and waits.
    assert [t for t in messenger.sent if "-2:" in t] == [f"text of -2:{n}" for n in range(5)]
    assert [t for t in messenger.sent if "-1:" in t] == ["text of -1:0"]
    async with uow(database) as u:
        counts = await u.outbox.counts(None)
    assert counts == {OutboxStatus.SENT: 6, OutboxStatus.PENDING: 4}
    # Once it is due again, the conversation goes on in the order it was queued.
    clock.advance(hours=1)
    await dispatcher.dispatch_due()
    assert [t for t in messenger.sent if "-1:" in t] == [f"text of -1:{n}" for n in range(5)]
