"""Polls and their votes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    delete,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.domain.model import DataSubject
from facilitator.features.polls.domain import Poll, PollDraft, PollStatus
from facilitator.storage.models import Base, BigId
from facilitator.storage.personal import erase, rows_as_data

# -- tables ----------------------------------------------------------------------------------


class PollRow(Base):
    __tablename__ = "polls"
    __table_args__ = (Index("ix_polls_community_status", "community_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(300))
    options: Mapped[list[str]] = mapped_column(JSON)
    multiple: Mapped[bool] = mapped_column(default=False)
    anonymous: Mapped[bool] = mapped_column(default=False)
    remind: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    thread_id: Mapped[str | None] = mapped_column(String(64))
    message_ref: Mapped[str | None] = mapped_column(String(64))
    # Telegram's poll id: its votes arrive naming only this.
    native_ref: Mapped[str | None] = mapped_column(String(128), index=True)
    final_counts: Mapped[list[int] | None] = mapped_column(JSON)


class PollVoteRow(Base):
    """One member's current choice in a poll (changed, not added to, when they vote again)."""

    __tablename__ = "poll_votes"

    poll_id: Mapped[int] = mapped_column(
        # The column object, not its dotted name: the prompt checks read that name as a key.
        ForeignKey(PollRow.id, ondelete="CASCADE"),
        primary_key=True,
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    options: Mapped[list[int]] = mapped_column(JSON)
    voted_at: Mapped[datetime]


def _poll(row: PollRow) -> Poll:
    return Poll(
        id=row.id,
        community_id=row.community_id,
        question=row.question,
        options=tuple(row.options),
        multiple=row.multiple,
        anonymous=row.anonymous,
        remind=row.remind,
        status=PollStatus(row.status),
        created_at=row.created_at,
        created_by=row.created_by,
        closes_at=row.closes_at,
        closed_at=row.closed_at,
        thread_id=row.thread_id,
        message_ref=row.message_ref,
        native_ref=row.native_ref,
        final_counts=tuple(row.final_counts) if row.final_counts is not None else None,
    )


class SqlPollRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        community_id: int,
        draft: PollDraft,
        created_by: int | None,
        thread_id: str | None,
        now: datetime,
    ) -> Poll:
        row = PollRow(
            community_id=community_id,
            question=draft.question,
            options=list(draft.options),
            multiple=draft.multiple,
            anonymous=draft.anonymous,
            remind=draft.remind,
            status=PollStatus.OPEN.value,
            created_by=created_by,
            created_at=now,
            closes_at=draft.closes_at,
            thread_id=thread_id,
        )
        self.session.add(row)
        await self.session.flush()
        return _poll(row)

    async def get(self, poll_id: int) -> Poll | None:
        row = await self.session.get(PollRow, poll_id)
        return _poll(row) if row else None

    async def by_native_ref(self, native_ref: str) -> Poll | None:
        row = await self.session.scalar(select(PollRow).where(PollRow.native_ref == native_ref))
        return _poll(row) if row else None

    async def latest_open(self, community_id: int) -> Poll | None:
        row = await self.session.scalar(
            select(PollRow)
            .where(PollRow.community_id == community_id, PollRow.status == PollStatus.OPEN.value)
            .order_by(PollRow.id.desc())
            .limit(1)
        )
        return _poll(row) if row else None

    async def open_in(self, community_id: int, limit: int) -> list[Poll]:
        rows = await self.session.scalars(
            select(PollRow)
            .where(PollRow.community_id == community_id, PollRow.status == PollStatus.OPEN.value)
            .order_by(PollRow.id.desc())
            .limit(limit)
        )
        return [_poll(row) for row in rows]

    async def set_refs(
        self, poll_id: int, message_ref: str | None, native_ref: str | None
    ) -> None:
        await self.session.execute(
            update(PollRow)
            .where(PollRow.id == poll_id)
            .values(message_ref=message_ref, native_ref=native_ref)
        )

    async def vote(
        self, poll_id: int, person_id: int, options: Sequence[int], now: datetime
    ) -> None:
        row = await self.session.get(PollVoteRow, (poll_id, person_id))
        if not options:
            if row is not None:
                await self.session.delete(row)
                await self.session.flush()
            return
        if row is None:
            self.session.add(
                PollVoteRow(
                    poll_id=poll_id, person_id=person_id, options=list(options), voted_at=now
                )
            )
        else:
            row.options, row.voted_at = list(options), now
        await self.session.flush()

    async def votes(self, poll_id: int) -> dict[int, tuple[int, ...]]:
        rows = await self.session.scalars(
            select(PollVoteRow).where(PollVoteRow.poll_id == poll_id)
        )
        return {row.person_id: tuple(row.options) for row in rows}

    async def close(self, poll_id: int, counts: Sequence[int], now: datetime) -> bool:
        """Close an open poll with its final counts; False if it was closed already."""
        result = await self.session.execute(
            update(PollRow)
            .where(PollRow.id == poll_id, PollRow.status == PollStatus.OPEN.value)
            .values(status=PollStatus.CLOSED.value, closed_at=now, final_counts=list(counts))
        )
        return bool(getattr(result, "rowcount", 0))

    async def closed_between(
        self, community_id: int, since: datetime, until: datetime
    ) -> list[Poll]:
        """Polls that closed in [since, until): what the weekly summary reports."""
        rows = await self.session.scalars(
            select(PollRow)
            .where(
                PollRow.community_id == community_id,
                PollRow.status == PollStatus.CLOSED.value,
                PollRow.closed_at >= since,
                PollRow.closed_at < until,
            )
            .order_by(PollRow.closed_at)
        )
        return [_poll(r) for r in rows]

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        votes = select(PollRow.id, PollRow.question, PollVoteRow.options, PollVoteRow.voted_at)
        created = select(PollRow.id, PollRow.question, PollRow.created_at)
        return {
            "poll_votes": await rows_as_data(
                self.session,
                votes.join(PollRow, PollRow.id == PollVoteRow.poll_id).where(
                    PollVoteRow.person_id == subject.person_id
                ),
            ),
            "polls_created": await rows_as_data(
                self.session, created.where(PollRow.created_by == subject.person_id)
            ),
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        """Their votes go (the closed polls' final counts stay); their polls stay unnamed."""
        person_id = subject.person_id
        erased = await erase(
            self.session,
            {"poll_votes": delete(PollVoteRow).where(PollVoteRow.person_id == person_id)},
        )
        await self.session.execute(
            update(PollRow).where(PollRow.created_by == person_id).values(created_by=None)
        )
        return erased
