"""Raw inbound payloads: cleared after the retention period, or at once by the sender's
/forgetme, never before they are handled; a redelivery is still a duplicate afterwards. On
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from facilitator.bootstrap import FEATURES, repositories
from facilitator.domain.model import Platform, PlatformUser
from facilitator.features.participation.retention import Retention
from facilitator.features.privacy.service import PersonalRecords
from facilitator.settings import Settings
from facilitator.storage.engine import session_factory
from facilitator.storage.models import InboxRow
from facilitator.storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.conftest import Database

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
GROUP = "-1001500"


def factory(db: Database) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(session_factory(db.engine), repositories())


def uow(db: Database) -> SqlUnitOfWork:
    return factory(db)()


def update(n: int, sender: str, text: str) -> tuple[str, str, str, str]:
    """A stored Telegram update: (delivery id, ordering key, payload, sender)."""
    payload = f'{{"update_id": {n}, "message": {{"from": {{"id": {sender}}}, "text": "{text}"}}}}'
    return (str(n), GROUP, payload, sender)


async def rows(db: Database) -> dict[str, Any]:
    """Every inbox row's columns, by delivery id."""
    async with uow(db) as u:
        found = await u.session.execute(select(InboxRow.__table__))  # type: ignore[attr-defined]
        return {row.delivery_id: row for row in found}


async def store(db: Database, at: datetime, *deliveries: tuple[str, str, str, str]) -> None:
    async with uow(db) as u:
        await u.inbox.add_many(Platform.TELEGRAM, deliveries, at)
        await u.commit()


async def finish(db: Database, at: datetime, **outcomes: str) -> None:
    """Claim every waiting row and finish those named: done, rejected or failed (for good);
    the others stay leased (processing)."""
    async with uow(db) as u:
        claimed = {r.delivery_id: r.id for r in await u.inbox.claim(at, 60, 100)}
        for delivery_id, outcome in outcomes.items():
            row_id = claimed[delivery_id.removeprefix("u")]
            if outcome == "done":
                await u.inbox.mark_done(row_id, at)
            elif outcome == "rejected":
                await u.inbox.mark_rejected(row_id, "UndecodablePayload: quoting the text", at)
            else:
                await u.inbox.mark_failed(row_id, "RuntimeError('the text')", None)
        await u.commit()


def cleared(row: Any) -> bool:
    return (row.payload, row.sender, row.ordering_key, row.error) == (None, None, "", None)


def test_handled_payloads_are_kept_seven_days_by_default() -> None:
    assert Settings.model_fields["inbox_retention_days"].default == 7


async def test_retention_clears_handled_payloads_after_the_period_and_keeps_waiting_ones(
    database: Database,
) -> None:
    old = NOW - timedelta(days=8)
    await store(database, old, *(update(n, "111", f"old {n}") for n in range(1, 6)))
    await finish(database, old, u1="done", u2="rejected", u3="failed")  # u4, u5 leased
    async with uow(database) as u:  # u5 fails once and waits for its retry
        [five] = [
            r
            for r in await u.inbox.claim(old + timedelta(minutes=2), 60, 10)
            if r.delivery_id == "5"
        ]
        await u.inbox.mark_failed(five.id, "RuntimeError('again')", NOW + timedelta(minutes=1))
        await u.commit()
    await store(database, NOW - timedelta(days=1), update(6, "111", "recent"))
    await finish(database, NOW - timedelta(days=1), u6="done")
    await store(database, old, update(7, "111", "never claimed"))  # pending since

    job = Retention(factory(database), events_days=365, texts_days=90, payload_days=7)
    purged = await job.run(NOW)

    assert purged["inbox_payloads"] == 3
    assert purged["inbox_rows"] == 0
    stored = await rows(database)
    assert {d for d, row in stored.items() if cleared(row)} == {"1", "2", "3"}
    assert [(stored[d].status, stored[d].delivery_id) for d in ("1", "2", "3")] == [
        ("done", "1"),
        ("rejected", "2"),
        ("failed", "3"),
    ]
    for waiting in ("4", "5", "6", "7"):  # leased, retrying, recent, pending
        assert stored[waiting].payload is not None and stored[waiting].sender == "111"
    assert '"never claimed"' in (stored["7"].payload or "")
    assert (await job.run(NOW))["inbox_payloads"] == 0


async def test_a_delivery_whose_payload_was_cleared_is_still_a_duplicate(
    database: Database,
) -> None:
    old = NOW - timedelta(days=10)
    await store(database, old, update(1, "111", "hello"))
    await finish(database, old, u1="done")
    async with uow(database) as u:
        assert await u.inbox.clear_payloads(NOW - timedelta(days=7)) == 1
        await u.commit()

    async with uow(database) as u:
        again = await u.inbox.add_many(Platform.TELEGRAM, [update(1, "111", "hello")], NOW)
        alone = await u.inbox.add(Platform.TELEGRAM, "1", GROUP, "{}", NOW)
        await u.commit()
        claimed = await u.inbox.claim(NOW, 60, 10)

    assert (again, alone, claimed) == ([], False, [])
    assert cleared((await rows(database))["1"])


async def test_forgetting_a_member_clears_their_payloads_and_not_anothers(
    database: Database,
) -> None:
    async with uow(database) as u:
        ada = await u.members.ensure(PlatformUser(Platform.TELEGRAM, "111", "Ada"), NOW)
        await u.members.ensure(PlatformUser(Platform.TELEGRAM, "222", "Bea"), NOW)
        await u.commit()
    await store(
        database,
        NOW,
        update(1, "111", "Ada in the group"),
        update(2, "222", "Bea in the group"),
        update(3, "111", "Ada handled later"),
    )
    await finish(database, NOW, u1="done", u2="done")  # u3 stays leased
    async with uow(database) as u:  # another platform's account with the same user id
        await u.inbox.add(Platform.SLACK, "ev1", "C1", '{"text": "not Ada"}', NOW, "111")
        await u.commit()
    records = PersonalRecords.of(FEATURES)
    async with uow(database) as u:
        exported = await records.export(u, ada.person_id)

    assert [p["payload"]["message"]["text"] for p in exported["received_payloads"]] == [
        "Ada in the group",
        "Ada handled later",
    ]

    async with uow(database) as u:
        erased = await records.forget(u, ada.person_id)
        await u.commit()

    assert (erased["inbox_payloads"], erased["inbox_waiting"]) == (1, 1)
    stored = await rows(database)
    assert cleared(stored["1"]) and stored["1"].status == "done"
    assert stored["2"].payload is not None and stored["2"].sender == "222"
    assert stored["ev1"].payload is not None
    # Still to be handled: kept until it is, then cleared at once.
    assert "Ada handled later" in (stored["3"].payload or "")
    async with uow(database) as u:
        await u.inbox.mark_done(stored["3"].id, NOW)
        await u.commit()
    assert cleared((await rows(database))["3"])
    async with uow(database) as u:
        assert (await records.export(u, ada.person_id))["received_payloads"] == []
