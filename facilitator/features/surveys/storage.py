"""Surveys' tables and SQL repository.

An anonymous survey's answers are rows with no person and no time, keyed by a random response
token (so not even their order tells anything); who answered is a separate set without time
(`survey_respondents`), which drives the reminders and the "once" check."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.domain.model import DataSubject
from facilitator.features.surveys.domain import (
    Answer,
    Draft,
    Question,
    QuestionKind,
    Survey,
    SurveyStatus,
)
from facilitator.storage.models import Base, BigId
from facilitator.storage.personal import erase, rows_as_data
from facilitator.storage.repositories import insert_ignoring_conflicts


class SurveyRow(Base):
    __tablename__ = "surveys"
    __table_args__ = (Index("ix_surveys_community", "community_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(Text)
    # [{"kind", "text", "options", "key", "gaps"}], as `Question`.
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    anonymous: Mapped[bool]
    template: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    deadline: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class SurveyAnswerRow(Base):
    """One answer; `person_id` and `answered_at` stay empty for an anonymous survey."""

    __tablename__ = "survey_answers"

    survey_id: Mapped[int] = mapped_column(
        ForeignKey(SurveyRow.id, ondelete="CASCADE"), primary_key=True
    )
    response: Mapped[str] = mapped_column(String(32), primary_key=True)
    question: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    answered_at: Mapped[datetime | None]
    value: Mapped[str] = mapped_column(Text)


class SurveyRespondentRow(Base):
    """Who answered a survey: no time, no link to the answers."""

    __tablename__ = "survey_respondents"

    survey_id: Mapped[int] = mapped_column(
        ForeignKey(SurveyRow.id, ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SurveyDraftRow(Base):
    """A member's answers so far, while they answer question by question."""

    __tablename__ = "survey_drafts"

    survey_id: Mapped[int] = mapped_column(
        ForeignKey(SurveyRow.id, ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int]
    answers: Mapped[str] = mapped_column(Text)  # {"<question>": "<value>"} as JSON
    updated_at: Mapped[datetime]


def _question(data: dict[str, Any]) -> Question:
    return Question(
        kind=QuestionKind(str(data["kind"])),
        text=str(data.get("text") or ""),
        options=tuple(str(o) for o in data.get("options") or ()),
        key=data.get("key"),
        gaps=bool(data.get("gaps")),
    )


def _stored(question: Question) -> dict[str, Any]:
    return {
        "kind": question.kind.value,
        "text": question.text,
        "options": list(question.options),
        "key": question.key,
        "gaps": question.gaps,
    }


def _survey(row: SurveyRow) -> Survey:
    return Survey(
        community_id=row.community_id,
        created_by=row.created_by,
        title=row.title,
        questions=tuple(_question(q) for q in row.questions),
        anonymous=row.anonymous,
        created_at=row.created_at,
        deadline=row.deadline,
        status=SurveyStatus(row.status),
        template=row.template,
        id=row.id,
        sent_at=row.sent_at,
        reminded_at=row.reminded_at,
        closed_at=row.closed_at,
    )


def _draft(row: SurveyDraftRow) -> Draft:
    values = json.loads(row.answers)
    return Draft(
        row.survey_id,
        row.person_id,
        row.position,
        {int(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {},
    )


class SqlSurveyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, survey: Survey) -> Survey:
        row = SurveyRow(
            community_id=survey.community_id,
            created_by=survey.created_by,
            title=survey.title,
            questions=[_stored(q) for q in survey.questions],
            anonymous=survey.anonymous,
            template=survey.template,
            status=survey.status.value,
            created_at=survey.created_at,
            deadline=survey.deadline,
        )
        self.session.add(row)
        await self.session.flush()
        return _survey(row)

    async def get(self, survey_id: int) -> Survey | None:
        row = await self.session.get(SurveyRow, survey_id, populate_existing=True)
        return None if row is None else _survey(row)

    async def in_community(self, community_id: int, limit: int) -> list[Survey]:
        rows = await self.session.scalars(
            select(SurveyRow)
            .where(SurveyRow.community_id == community_id)
            .order_by(SurveyRow.id.desc())
            .limit(limit)
        )
        return [_survey(row) for row in rows]

    async def set_status(self, survey_id: int, status: SurveyStatus, now: datetime) -> bool:
        values: dict[str, Any] = {"status": status.value}
        if status is SurveyStatus.OPEN:
            values["sent_at"] = now
        elif status is SurveyStatus.CLOSED:
            values["closed_at"] = now
        result = await self.session.execute(
            update(SurveyRow)
            .where(SurveyRow.id == survey_id, SurveyRow.status != status.value)
            .values(**values)
        )
        return bool(getattr(result, "rowcount", 0))

    async def mark_reminded(self, survey_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(SurveyRow)
            .where(SurveyRow.id == survey_id, SurveyRow.reminded_at.is_(None))
            .values(reminded_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def open_with_deadline(self) -> list[Survey]:
        rows = await self.session.scalars(
            select(SurveyRow)
            .where(SurveyRow.status == SurveyStatus.OPEN.value, SurveyRow.deadline.is_not(None))
            .order_by(SurveyRow.id)
        )
        return [_survey(row) for row in rows]

    async def respond(self, survey_id: int, person_id: int, answers: Sequence[Answer]) -> bool:
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, SurveyRespondentRow).values(
                survey_id=survey_id, person_id=person_id
            )
        )
        if not getattr(result, "rowcount", 0):
            return False
        for answer in answers:
            self.session.add(
                SurveyAnswerRow(
                    survey_id=survey_id,
                    response=answer.response,
                    question=answer.question,
                    person_id=answer.person_id,
                    answered_at=answer.answered_at,
                    value=answer.value,
                )
            )
        await self.session.flush()
        return True

    async def respondents(self, survey_id: int) -> set[int]:
        found = await self.session.scalars(
            select(SurveyRespondentRow.person_id).where(SurveyRespondentRow.survey_id == survey_id)
        )
        return set(found)

    async def has_answered(self, survey_id: int, person_id: int) -> bool:
        found = await self.session.scalar(
            select(func.count()).where(
                SurveyRespondentRow.survey_id == survey_id,
                SurveyRespondentRow.person_id == person_id,
            )
        )
        return bool(found)

    async def answers(self, survey_id: int) -> list[Answer]:
        rows = await self.session.scalars(
            select(SurveyAnswerRow)
            .where(SurveyAnswerRow.survey_id == survey_id)
            .order_by(SurveyAnswerRow.response, SurveyAnswerRow.question)
        )
        return [Answer(r.response, r.question, r.value, r.person_id, r.answered_at) for r in rows]

    async def response_counts(self, survey_ids: Sequence[int]) -> dict[int, int]:
        if not survey_ids:
            return {}
        rows = await self.session.execute(
            select(SurveyRespondentRow.survey_id, func.count())
            .where(SurveyRespondentRow.survey_id.in_(list(survey_ids)))
            .group_by(SurveyRespondentRow.survey_id)
        )
        return {int(survey): int(count) for survey, count in rows.all()}

    async def draft(self, survey_id: int, person_id: int) -> Draft | None:
        row = await self.session.get(
            SurveyDraftRow, (survey_id, person_id), populate_existing=True
        )
        return None if row is None else _draft(row)

    async def pending_draft(self, person_id: int) -> Draft | None:
        row = await self.session.scalar(
            select(SurveyDraftRow)
            .where(SurveyDraftRow.person_id == person_id)
            .order_by(SurveyDraftRow.updated_at.desc(), SurveyDraftRow.survey_id.desc())
            .limit(1)
        )
        return None if row is None else _draft(row)

    async def save_draft(self, draft: Draft, now: datetime) -> None:
        answers = json.dumps({str(k): v for k, v in draft.values.items()}, ensure_ascii=False)
        row = await self.session.get(SurveyDraftRow, (draft.survey_id, draft.person_id))
        if row is None:
            self.session.add(
                SurveyDraftRow(
                    survey_id=draft.survey_id,
                    person_id=draft.person_id,
                    position=draft.position,
                    answers=answers,
                    updated_at=now,
                )
            )
        else:
            row.position, row.answers, row.updated_at = draft.position, answers, now
        await self.session.flush()

    async def drop_draft(self, survey_id: int, person_id: int) -> None:
        await self.session.execute(
            delete(SurveyDraftRow).where(
                SurveyDraftRow.survey_id == survey_id, SurveyDraftRow.person_id == person_id
            )
        )

    async def drop_drafts(self, survey_id: int) -> int:
        result = await self.session.execute(
            delete(SurveyDraftRow).where(SurveyDraftRow.survey_id == survey_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        # An anonymous survey's answers name nobody: they cannot be found, nor handed out.
        person = subject.person_id
        created = select(SurveyRow.community_id, SurveyRow.title, SurveyRow.created_at).where(
            SurveyRow.created_by == person
        )
        answered = select(SurveyRespondentRow.survey_id).where(
            SurveyRespondentRow.person_id == person
        )
        answers = select(
            SurveyAnswerRow.survey_id,
            SurveyAnswerRow.question,
            SurveyAnswerRow.value,
            SurveyAnswerRow.answered_at,
        ).where(SurveyAnswerRow.person_id == person)
        drafts = select(
            SurveyDraftRow.survey_id, SurveyDraftRow.answers, SurveyDraftRow.updated_at
        ).where(SurveyDraftRow.person_id == person)
        return {
            "surveys_created": await rows_as_data(self.session, created.order_by(SurveyRow.id)),
            "surveys_answered": await rows_as_data(
                self.session, answered.order_by(SurveyRespondentRow.survey_id)
            ),
            "survey_answers": await rows_as_data(
                self.session,
                answers.order_by(SurveyAnswerRow.survey_id, SurveyAnswerRow.question),
            ),
            "survey_drafts": await rows_as_data(
                self.session, drafts.order_by(SurveyDraftRow.survey_id)
            ),
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        # The community keeps its surveys, without their author; a member's own answers go,
        # and with them their place among the respondents. Anonymous answers stay: nothing
        # ties them to anyone.
        person = subject.person_id
        return await erase(
            self.session,
            {
                "surveys_created": update(SurveyRow)
                .where(SurveyRow.created_by == person)
                .values(created_by=None),
                "survey_answers": delete(SurveyAnswerRow).where(
                    SurveyAnswerRow.person_id == person
                ),
                "surveys_answered": delete(SurveyRespondentRow).where(
                    SurveyRespondentRow.person_id == person
                ),
                "survey_drafts": delete(SurveyDraftRow).where(SurveyDraftRow.person_id == person),
            },
        )
