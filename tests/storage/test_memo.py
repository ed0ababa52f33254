"""The unit of work's memo forgets by the models' foreign keys, and its listeners belong to the
session factory that sets them up, not to a class for every session."""

from __future__ import annotations

from sqlalchemy import delete, event

from facilitator.domain.model import Platform, PlatformUser
from facilitator.storage.engine import UnitSession, session_factory
from facilitator.storage.memo import changed_tables
from facilitator.storage.models import CommunityRow, LedgerRow, PersonRow
from facilitator.storage.queued import write_before
from tests.conftest import Database
from tests.storage.test_repository_contract import NOW, add_community, said, uow


def names(tables: object) -> set[str]:
    return {table.name for table in tables}  # type: ignore[attr-defined]


def test_a_delete_changes_what_refers_to_it_through_on_delete_and_an_update_only_itself() -> None:
    persons = PersonRow.__table__
    assert names(changed_tables(persons, deleted=False)) == {"persons"}  # type: ignore[arg-type]
    deleted = names(changed_tables(persons, deleted=True))  # type: ignore[arg-type]
    # CASCADE (identities, memberships, the ledger, questions) and SET NULL (who answered).
    assert {"persons", "identities", "memberships", "ledger", "questions"} <= deleted
    assert "communities" not in deleted
    # An ORM statement's table is an alias of the table; nothing refers to the ledger.
    assert names(changed_tables(delete(LedgerRow).table, deleted=True)) == {"ledger"}  # type: ignore[arg-type]


async def test_deleting_a_community_forgets_its_memberships_and_questions(
    database: Database,
) -> None:
    community_id = await add_community(database)
    ana = PlatformUser(Platform.TELEGRAM, "1", "Ana")
    async with uow(database) as u:
        await u.prefetch([said(ana, "e1", "m1", ("m0", None))], NOW)
        member = await u.members.ensure(ana, NOW)
        await u.members.join(member.person_id, community_id, NOW)
        assert await u.members.membership(member.person_id, community_id) is not None
        await u.session.execute(delete(CommunityRow).where(CommunityRow.id == community_id))  # type: ignore[attr-defined]
        assert await u.communities.by_chat(Platform.TELEGRAM, "-1001234567890123") is None
        assert await u.members.membership(member.person_id, community_id) is None
        assert await u.questions.by_message(community_id, "m0") is None
        await u.commit()


def test_the_listeners_belong_to_each_session_factory(database: Database) -> None:
    assert not event.contains(UnitSession, "do_orm_execute", write_before)
    first, second = session_factory(database.engine), session_factory(database.engine)
    for sessions in (first, second):
        made = sessions.kw["sync_session_class"]
        assert event.contains(made, "do_orm_execute", write_before)
    assert first.kw["sync_session_class"] is not second.kw["sync_session_class"]
