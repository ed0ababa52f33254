"""Matchmaking's tables and SQL repository."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.domain.model import DataSubject
from facilitator.features.matchmaking.domain import Answer, Match, MatchStatus
from facilitator.storage.models import Base, BigId, QuestionRow
from facilitator.storage.personal import erase, rows_as_data
from facilitator.storage.repositories import insert_ignoring_conflicts


class MatchOptInRow(Base):
    """`/match on`: the person takes part in the monthly rounds (off unless they say so)."""

    __tablename__ = "match_opt_ins"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool]
    changed_at: Mapped[datetime]


class MatchRow(Base):
    """A proposed introduction between an asker and an expert of another community."""

    __tablename__ = "matches"
    __table_args__ = (
        # Never the same pair twice, whoever asked.
        UniqueConstraint("pair_low", "pair_high"),
        # At most one match a round for each side.
        UniqueConstraint("round", "asker_id"),
        UniqueConstraint("round", "expert_id"),
        Index("ix_matches_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round: Mapped[str] = mapped_column(String(7))
    asker_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    pair_low: Mapped[int] = mapped_column(BigId)
    pair_high: Mapped[int] = mapped_column(BigId)
    asker_community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE")
    )
    expert_community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE")
    )
    # The asker's question: shown to the expert only once both accepted.
    question: Mapped[str] = mapped_column(Text)
    theme: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    asker_answer: Mapped[str | None] = mapped_column(String(16))
    expert_answer: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    introduced_at: Mapped[datetime | None]
    checked_back_at: Mapped[datetime | None]
    asker_met: Mapped[bool | None]
    expert_met: Mapped[bool | None]
    awaiting_learning: Mapped[bool] = mapped_column(default=False)
    learning_item_id: Mapped[int | None] = mapped_column(BigId)


def _match(row: MatchRow) -> Match:
    return Match(
        round=row.round,
        asker_id=row.asker_id,
        expert_id=row.expert_id,
        asker_community_id=row.asker_community_id,
        expert_community_id=row.expert_community_id,
        question=row.question,
        theme=row.theme,
        created_at=row.created_at,
        status=MatchStatus(row.status),
        asker_answer=Answer(row.asker_answer) if row.asker_answer else None,
        expert_answer=Answer(row.expert_answer) if row.expert_answer else None,
        introduced_at=row.introduced_at,
        checked_back_at=row.checked_back_at,
        asker_met=row.asker_met,
        expert_met=row.expert_met,
        awaiting_learning=row.awaiting_learning,
        learning_item_id=row.learning_item_id,
        id=row.id,
    )


def _changed(result: Any) -> bool:
    return bool(getattr(result, "rowcount", 0))


class SqlMatchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def opted_in(self, person_id: int) -> bool:
        row = await self.session.get(MatchOptInRow, person_id, populate_existing=True)
        return bool(row and row.enabled)

    async def set_opted_in(self, person_id: int, on: bool, now: datetime) -> None:
        row = await self.session.get(MatchOptInRow, person_id)
        if row is None:
            self.session.add(MatchOptInRow(person_id=person_id, enabled=on, changed_at=now))
        else:
            row.enabled = on
            row.changed_at = now
        await self.session.flush()

    async def everyone_opted_in(self) -> list[int]:
        found = await self.session.scalars(
            select(MatchOptInRow.person_id)
            .where(MatchOptInRow.enabled.is_(True))
            .order_by(MatchOptInRow.changed_at, MatchOptInRow.person_id)
        )
        return list(found)

    async def open_questions(
        self, person_id: int, community_id: int, since: datetime
    ) -> list[tuple[str, datetime]]:
        rows = await self.session.execute(
            select(QuestionRow.text, QuestionRow.asked_at)
            .where(
                QuestionRow.community_id == community_id,
                QuestionRow.person_id == person_id,
                QuestionRow.answered_at.is_(None),
                QuestionRow.bot_answered.is_(False),
                QuestionRow.text.is_not(None),
                QuestionRow.asked_at >= since,
            )
            .order_by(QuestionRow.asked_at.desc(), QuestionRow.id.desc())
        )
        return [(str(text), asked_at) for text, asked_at in rows.all() if text]

    async def add(self, match: Match) -> Match | None:
        low, high = sorted((match.asker_id, match.expert_id))
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, MatchRow)
            .values(
                round=match.round,
                asker_id=match.asker_id,
                expert_id=match.expert_id,
                pair_low=low,
                pair_high=high,
                asker_community_id=match.asker_community_id,
                expert_community_id=match.expert_community_id,
                question=match.question,
                theme=match.theme,
                status=match.status.value,
                created_at=match.created_at,
                awaiting_learning=False,
            )
            .returning(MatchRow.id)
        )
        new_id = result.scalar()
        return None if new_id is None else await self.get(int(new_id))

    async def get(self, match_id: int) -> Match | None:
        row = await self.session.get(MatchRow, match_id, populate_existing=True)
        return None if row is None else _match(row)

    async def in_round(self, round_: str) -> list[Match]:
        rows = await self.session.scalars(
            select(MatchRow).where(MatchRow.round == round_).order_by(MatchRow.id)
        )
        return [_match(row) for row in rows]

    async def pairs_of(self, persons: Sequence[int]) -> set[frozenset[int]]:
        if not persons:
            return set()
        rows = await self.session.execute(
            select(MatchRow.pair_low, MatchRow.pair_high).where(
                or_(MatchRow.pair_low.in_(persons), MatchRow.pair_high.in_(persons))
            )
        )
        return {frozenset((low, high)) for low, high in rows}

    async def answer(self, match_id: int, side: str, answer: Answer) -> Match | None:
        column = MatchRow.asker_answer if side == "asker" else MatchRow.expert_answer
        result = await self.session.execute(
            update(MatchRow)
            .where(
                MatchRow.id == match_id,
                MatchRow.status == MatchStatus.PROPOSED.value,
                column.is_(None),
            )
            .values({column.key: answer.value})
            .execution_options(synchronize_session=False)
        )
        return await self.get(match_id) if _changed(result) else None

    async def introduce(self, match_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(MatchRow)
            .where(
                MatchRow.id == match_id,
                MatchRow.status == MatchStatus.PROPOSED.value,
                MatchRow.asker_answer == Answer.ACCEPTED.value,
                MatchRow.expert_answer == Answer.ACCEPTED.value,
            )
            .values(status=MatchStatus.INTRODUCED.value, introduced_at=now)
            .execution_options(synchronize_session=False)
        )
        return _changed(result)

    async def decline(self, match_id: int) -> bool:
        result = await self.session.execute(
            update(MatchRow)
            .where(MatchRow.id == match_id, MatchRow.status == MatchStatus.PROPOSED.value)
            .values(status=MatchStatus.DECLINED.value)
            .execution_options(synchronize_session=False)
        )
        return _changed(result)

    async def expire(self, before: datetime) -> list[Match]:
        rows = list(
            await self.session.scalars(
                select(MatchRow).where(
                    MatchRow.status == MatchStatus.PROPOSED.value, MatchRow.created_at < before
                )
            )
        )
        expired = []
        for row in rows:
            result = await self.session.execute(
                update(MatchRow)
                .where(MatchRow.id == row.id, MatchRow.status == MatchStatus.PROPOSED.value)
                .values(status=MatchStatus.EXPIRED.value)
                .execution_options(synchronize_session=False)
            )
            if _changed(result):
                expired.append(row.id)
        return [m for m in [await self.get(i) for i in expired] if m is not None]

    async def due_check_back(self, before: datetime, now: datetime) -> list[Match]:
        ids = list(
            await self.session.scalars(
                select(MatchRow.id).where(
                    MatchRow.status == MatchStatus.INTRODUCED.value,
                    MatchRow.introduced_at < before,
                    MatchRow.checked_back_at.is_(None),
                )
            )
        )
        due = []
        for match_id in ids:
            result = await self.session.execute(
                update(MatchRow)
                .where(MatchRow.id == match_id, MatchRow.checked_back_at.is_(None))
                .values(checked_back_at=now)
                .execution_options(synchronize_session=False)
            )
            if _changed(result):
                due.append(match_id)
        return [m for m in [await self.get(i) for i in due] if m is not None]

    async def met(self, match_id: int, side: str, met: bool) -> Match | None:
        column = MatchRow.asker_met if side == "asker" else MatchRow.expert_met
        values: dict[str, object] = {column.key: met}
        if side == "asker" and met:
            values["awaiting_learning"] = True
        result = await self.session.execute(
            update(MatchRow)
            .where(
                MatchRow.id == match_id,
                MatchRow.status == MatchStatus.INTRODUCED.value,
                MatchRow.checked_back_at.is_not(None),
                column.is_(None),
            )
            .values(values)
            .execution_options(synchronize_session=False)
        )
        return await self.get(match_id) if _changed(result) else None

    async def awaiting_learning(self, asker_id: int) -> Match | None:
        row = await self.session.scalar(
            select(MatchRow)
            .where(MatchRow.asker_id == asker_id, MatchRow.awaiting_learning.is_(True))
            .order_by(MatchRow.id.desc())
            .limit(1)
        )
        return None if row is None else await self.get(row.id)

    async def learnt(self, match_id: int, item_id: int | None) -> bool:
        result = await self.session.execute(
            update(MatchRow)
            .where(MatchRow.id == match_id, MatchRow.awaiting_learning.is_(True))
            .values(awaiting_learning=False, learning_item_id=item_id)
            .execution_options(synchronize_session=False)
        )
        return _changed(result)

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        person = subject.person_id
        # Their own side of each match: the other person is named only once introduced, and
        # only the asker's own question is theirs to export.
        asked = select(
            MatchRow.round,
            MatchRow.status,
            MatchRow.theme,
            MatchRow.question,
            MatchRow.asker_answer.label("answer"),
            MatchRow.asker_met.label("met"),
            MatchRow.created_at,
        ).where(MatchRow.asker_id == person)
        offered = select(
            MatchRow.round,
            MatchRow.status,
            MatchRow.theme,
            MatchRow.expert_answer.label("answer"),
            MatchRow.expert_met.label("met"),
            MatchRow.created_at,
        ).where(MatchRow.expert_id == person)
        opt_in = select(MatchOptInRow.enabled, MatchOptInRow.changed_at).where(
            MatchOptInRow.person_id == person
        )
        return {
            "match_opt_in": await rows_as_data(self.session, opt_in),
            "matches_asked": await rows_as_data(self.session, asked.order_by(MatchRow.id)),
            "matches_as_expert": await rows_as_data(self.session, offered.order_by(MatchRow.id)),
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        person = subject.person_id
        return await erase(
            self.session,
            {
                "matches": delete(MatchRow).where(
                    or_(MatchRow.asker_id == person, MatchRow.expert_id == person)
                ),
                "match_opt_in": delete(MatchOptInRow).where(MatchOptInRow.person_id == person),
            },
        )
