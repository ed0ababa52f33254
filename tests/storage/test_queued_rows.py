"""Queued rows (ledger entries, questions, question topics) on SQLite and PostgreSQL: written
in one statement, yet never missed by a read, never lost at commit, never left behind by a
delete."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select

from facilitator.domain.events import MessageReceived, Origin
from facilitator.domain.model import (
    LedgerEntry,
    NewQuestion,
    ParticipationKind,
    Platform,
    PlatformUser,
)
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.features.profiles.storage import QuestionTopicRow
from facilitator.storage.models import LedgerRow, PersonRow, QuestionRow
from facilitator.storage.queued import QueuedRows
from tests.conftest import Database
from tests.storage.test_repository_contract import BIG_TELEGRAM_ID, add_community, uow

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def entry(community_id: int, person_id: int, identity_id: int, n: int) -> LedgerEntry:
    return LedgerEntry(
        community_id=community_id,
        person_id=person_id,
        identity_id=identity_id,
        kind=ParticipationKind.MESSAGE_POSTED,
        occurred_at=NOW,
        source_event_id=f"chat:1:msg:{n}",
        ref=str(n),
    )


async def person(db: Database, user_id: str) -> tuple[int, int]:
    async with uow(db) as u:
        member = await u.members.ensure(PlatformUser(Platform.TELEGRAM, user_id, "Ana"), NOW)
        await u.commit()
    return member.person_id, member.identity_id


def queues(u: object) -> list[QueuedRows]:
    return list(u.session.info["queued_rows"])  # type: ignore[attr-defined]


def waiting(u: object) -> dict[str, int]:
    """Rows queued, by table."""
    return {q.table.name: len(q.rows) for q in queues(u) if q.rows}


async def test_queued_rows_wait_for_a_read_of_their_table_or_the_commit(
    database: Database,
) -> None:
    community_id = await add_community(database)
    person_id, identity_id = await person(database, "1")
    async with uow(database) as u:
        for n in range(5):
            await u.ledger.add(entry(community_id, person_id, identity_id, n))
        question = await u.questions.add(
            NewQuestion(
                community_id=community_id,
                member=(await u.members.identity(Platform.TELEGRAM, "1")),  # type: ignore[arg-type]
                source_event_id="chat:1:msg:9",
                message_id="9",
                thread_id=None,
                text="¿Quién sabe?",
                lang="es",
                asked_at=NOW,
            )
        )
        assert question
        await u.repo(ProfileRepository).set_question_topic(
            community_id, "chat:1:msg:9", "water", ["tariffs"]
        )
        # Statements on other tables leave the queues alone: one insert per table in the end.
        await u.communities.by_key("water")
        assert waiting(u) == {"ledger": 5, "question_topics": 1}
        # A read of the table sees every queued row.
        assert await u.ledger.count(community_id) == 5
        assert waiting(u) == {"question_topics": 1}
        await u.commit()
    async with uow(database) as u:
        assert await u.ledger.count(community_id) == 5
        topics = await u.session.scalars(select(QuestionTopicRow.theme))  # type: ignore[attr-defined]
        assert list(topics) == ["water"]


async def test_a_topic_given_while_its_question_waits_is_written_after_it(
    database: Database,
) -> None:
    """A batch's new question is queued (its event is known to have stored none) and its topic
    is given before the question is written: both are written in the right order, and a topic
    for an event that stored no question is dropped."""
    community_id = await add_community(database)
    await person(database, "1")
    ana = PlatformUser(Platform.TELEGRAM, "1", "Ana")
    said = MessageReceived(
        Origin(Platform.TELEGRAM, "chat:1:msg:9", BIG_TELEGRAM_ID, ana, NOW, message_id="9"),
        "¿Quién sabe?",
    )
    async with uow(database) as u:
        await u.prefetch([said], NOW)
        member = await u.members.ensure(ana, NOW)
        assert await u.questions.add(
            NewQuestion(community_id, member, "chat:1:msg:9", "9", None, said.text, "es", NOW)
        )
        profiles = u.repo(ProfileRepository)
        await profiles.set_question_topic(community_id, "chat:1:msg:9", "water", ["tariffs"])
        await profiles.set_question_topic(community_id, "chat:1:msg:10", "none", [])
        assert waiting(u) == {"questions": 1, "question_topics": 2}
        await u.commit()
    async with uow(database) as u:
        rows = await u.session.execute(  # type: ignore[attr-defined]
            select(QuestionRow.message_id, QuestionTopicRow.theme).join(
                QuestionTopicRow, QuestionTopicRow.question_id == QuestionRow.id
            )
        )
        assert rows.all() == [("9", "water")]


async def test_a_rolled_back_unit_writes_none_of_its_queue(database: Database) -> None:
    community_id = await add_community(database)
    person_id, identity_id = await person(database, "1")
    async with uow(database) as u:
        await u.ledger.add(entry(community_id, person_id, identity_id, 1))
    async with uow(database) as u:
        assert await u.ledger.count(community_id) == 0


async def test_a_delete_writes_the_queue_first_so_its_cascade_takes_the_rows(
    database: Database,
) -> None:
    """Entries queued for a person deleted later in the same unit (`/forgetme`) are written
    before the DELETE, so ON DELETE CASCADE removes them; written at commit instead, they
    would point at a person who is gone."""
    community_id = await add_community(database)
    person_id, identity_id = await person(database, "1")
    other_id, other_identity = await person(database, "2")
    async with uow(database) as u:
        await u.ledger.add(entry(community_id, person_id, identity_id, 1))
        await u.ledger.add(entry(community_id, other_id, other_identity, 2))
        await u.session.execute(delete(PersonRow).where(PersonRow.id == person_id))  # type: ignore[attr-defined]
        await u.commit()
    async with uow(database) as u:
        rows = await u.session.execute(  # type: ignore[attr-defined]
            select(LedgerRow.person_id, func.count()).group_by(LedgerRow.person_id)
        )
        assert dict(rows.all()) == {other_id: 1}
