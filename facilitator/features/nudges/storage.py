"""Nudges' storage: who was nudged for what, and the activity the planner reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.domain.model import DataSubject, ParticipationKind, Question
from facilitator.features.nudges.domain import Activity, NudgeKind
from facilitator.storage.models import Base, BigId, LedgerRow, QuestionRow
from facilitator.storage.personal import erase, rows_as_data
from facilitator.storage.repositories import (
    insert_ignoring_conflicts,
    open_questions_query,
    to_question,
)

# -- tables ----------------------------------------------------------------------------------


class NudgeRow(Base):
    """One nudge to one person: caps count these, and a question pings nobody twice."""

    __tablename__ = "nudges"
    __table_args__ = (
        UniqueConstraint("community_id", "person_id", "kind", "ref"),
        Index("ix_nudges_recent", "community_id", "person_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(128))
    outbox_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


_ACTIVITY = (ParticipationKind.MESSAGE_POSTED.value,)


class SqlNudgeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        community_id: int,
        person_id: int,
        kind: NudgeKind,
        ref: str,
        now: datetime,
        outbox_key: str | None,
    ) -> bool:
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, NudgeRow).values(
                community_id=community_id,
                person_id=person_id,
                kind=kind.value,
                ref=ref[:128],
                outbox_key=outbox_key[:200] if outbox_key else None,
                created_at=now,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def last(self, community_id: int, person_id: int, kind: NudgeKind) -> datetime | None:
        return await self.session.scalar(
            select(func.max(NudgeRow.created_at)).where(
                NudgeRow.community_id == community_id,
                NudgeRow.person_id == person_id,
                NudgeRow.kind == kind.value,
            )
        )

    async def nudged_for(self, community_id: int, kind: NudgeKind, ref: str) -> set[int]:
        rows = await self.session.scalars(
            select(NudgeRow.person_id).where(
                NudgeRow.community_id == community_id,
                NudgeRow.kind == kind.value,
                NudgeRow.ref == ref,
            )
        )
        return set(rows)

    async def activity(self, community_id: int) -> dict[int, Activity]:
        result = await self.session.execute(
            select(LedgerRow.person_id, func.count(), func.max(LedgerRow.occurred_at))
            .where(LedgerRow.community_id == community_id, LedgerRow.kind.in_(_ACTIVITY))
            .group_by(LedgerRow.person_id)
        )
        found: dict[int, Activity] = {}
        for person, count, last in result.all():
            found[int(person)] = Activity(int(person), int(count), last)
        return found

    async def open_questions(
        self, community_id: int, asked_after: datetime, asked_before: datetime, limit: int
    ) -> list[Question]:
        rows = await self.session.scalars(
            open_questions_query(
                community_id,
                asked_after,
                asked_before,
                limit,
                QuestionRow.bot_answered.is_(False),
            )
        )
        return [to_question(r) for r in rows]

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        nudges = select(NudgeRow.community_id, NudgeRow.kind, NudgeRow.ref, NudgeRow.created_at)
        return {
            "nudges": await rows_as_data(
                self.session, nudges.where(NudgeRow.person_id == subject.person_id)
            )
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        return await erase(
            self.session,
            {"nudges": delete(NudgeRow).where(NudgeRow.person_id == subject.person_id)},
        )
