"""Surveys in storage, on SQLite and PostgreSQL: answers stored once per person, an
anonymous survey's without person or time, drafts, status changes, and each community's
surveys kept apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from facilitator.bootstrap import repositories
from facilitator.domain.model import DataSubject, Platform, PlatformUser
from facilitator.features.surveys.domain import (
    Answer,
    Draft,
    Question,
    QuestionKind,
    Survey,
    SurveyStatus,
)
from facilitator.features.surveys.ports import SurveyRepository
from facilitator.storage.engine import session_factory
from facilitator.storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.conftest import Database

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
QUESTIONS = (
    Question(QuestionKind.SCALE, "Useful?"),
    Question(QuestionKind.CHOICE, "Day?", ("Mon", "Fri")),
    Question(QuestionKind.TEXT, key="surveys.templates.annual.need", gaps=True),
)


def uow(db: Database) -> SqlUnitOfWork:
    return SqlUnitOfWorkFactory(session_factory(db.engine), repositories())()


async def setup(db: Database) -> tuple[int, int, list[int]]:
    """Two communities and three people: (community, other community, person ids)."""
    async with uow(db) as u:
        ids = []
        for key in ("water", "soil"):
            community = await u.communities.add(
                key=key,
                platform=Platform.TELEGRAM,
                chat_id=f"-100{len(ids)}",
                title=key,
                timezone="UTC",
                language="en",
                now=NOW,
            )
            ids.append(community.id)
        people = []
        for number in (1, 2, 3):
            member = await u.members.ensure(
                PlatformUser(Platform.TELEGRAM, str(number), f"P{number}"), NOW
            )
            people.append(member.person_id)
        await u.commit()
    return ids[0], ids[1], people


async def test_surveys_round_trip_and_answers_are_stored_once(database: Database) -> None:
    community, other, (ana, ben, _) = await setup(database)
    async with uow(database) as u:
        repo = u.repo(SurveyRepository)
        named = await repo.add(
            Survey(community, ana, "Named", QUESTIONS, False, NOW, NOW + timedelta(days=3))
        )
        theirs = await repo.add(Survey(other, None, "Theirs", QUESTIONS, True, NOW))
        await u.commit()
    assert named.id is not None and theirs.id is not None
    async with uow(database) as u:
        repo = u.repo(SurveyRepository)
        found = await repo.get(named.id)
        assert found is not None and found.questions == QUESTIONS
        assert found.deadline == NOW + timedelta(days=3) and found.status is SurveyStatus.DRAFT
        assert [s.title for s in await repo.in_community(community, 10)] == ["Named"]
        assert await repo.set_status(named.id, SurveyStatus.OPEN, NOW)
        assert not await repo.set_status(named.id, SurveyStatus.OPEN, NOW)
        assert [s.id for s in await repo.open_with_deadline()] == [named.id]
        answers = [Answer("r1", 0, "4", ana, NOW), Answer("r1", 1, "0", ana, NOW)]
        assert await repo.respond(named.id, ana, answers)
        assert not await repo.respond(named.id, ana, [Answer("r2", 0, "1", ana, NOW)])
        assert await repo.respond(named.id, ben, [Answer("r3", 0, "2", ben, NOW)])
        assert await repo.has_answered(named.id, ana)
        assert await repo.respondents(named.id) == {ana, ben}
        assert await repo.response_counts([named.id, theirs.id]) == {named.id: 2}
        assert [a.value for a in await repo.answers(named.id)] == ["4", "0", "2"]
        assert await repo.mark_reminded(named.id, NOW)
        assert not await repo.mark_reminded(named.id, NOW)
        await u.commit()


async def test_anonymous_answers_carry_no_person_and_forgetting_leaves_them(
    database: Database,
) -> None:
    community, _, (ana, _, _) = await setup(database)
    async with uow(database) as u:
        repo = u.repo(SurveyRepository)
        survey = await repo.add(Survey(community, None, "Anon", QUESTIONS, True, NOW))
        assert survey.id is not None
        await repo.respond(survey.id, ana, [Answer("token", 0, "5"), Answer("token", 2, "x")])
        await u.commit()
    async with database.engine.connect() as connection:
        rows = (
            await connection.execute(text("SELECT person_id, answered_at FROM survey_answers"))
        ).all()
    assert [tuple(row) for row in rows] == [(None, None), (None, None)]
    async with uow(database) as u:
        repo = u.repo(SurveyRepository)
        subject = DataSubject(ana, ())
        assert (await repo.export_person(subject))["survey_answers"] == []
        assert await repo.forget_person(subject) == {
            "surveys_created": 0,
            "survey_answers": 0,
            "surveys_answered": 1,
            "survey_drafts": 0,
        }
        assert len(await repo.answers(survey.id)) == 2
        await u.commit()


async def test_drafts_are_kept_per_person_and_the_latest_is_pending(database: Database) -> None:
    community, _, (ana, ben, _) = await setup(database)
    async with uow(database) as u:
        repo = u.repo(SurveyRepository)
        first = await repo.add(Survey(community, None, "One", QUESTIONS, False, NOW))
        second = await repo.add(Survey(community, None, "Two", QUESTIONS, False, NOW))
        assert first.id is not None and second.id is not None
        await repo.save_draft(Draft(first.id, ana, 0, {}), NOW)
        await repo.save_draft(Draft(second.id, ana, 1, {0: "3"}), NOW + timedelta(minutes=1))
        await repo.save_draft(Draft(first.id, ana, 2, {0: "1", 1: "0,1"}), NOW)
        assert await repo.draft(first.id, ana) == Draft(first.id, ana, 2, {0: "1", 1: "0,1"})
        assert await repo.pending_draft(ana) == Draft(second.id, ana, 1, {0: "3"})
        assert await repo.pending_draft(ben) is None
        await repo.drop_draft(second.id, ana)
        pending = await repo.pending_draft(ana)
        assert pending is not None and pending.survey_id == first.id
        await u.commit()
