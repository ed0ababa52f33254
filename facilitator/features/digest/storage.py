"""The digest's tables and SQL repository: who wants it and how often, the themes they
follow, and the group's answered questions it reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    and_,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, aliased, mapped_column

from facilitator.domain.model import DataSubject
from facilitator.features.digest.domain import AnsweredQuestion, Frequency, Subscription
from facilitator.features.knowledge.domain import GapStatus, ItemStatus, ItemType
from facilitator.features.knowledge.storage import KnowledgeGapRow, KnowledgeItemRow
from facilitator.storage.models import Base, BigId, IdentityRow, PersonRow
from facilitator.storage.personal import erase, rows_as_data
from facilitator.storage.repositories import insert_ignoring_conflicts


class DigestMemberRow(Base):
    """A member's digest choice in one community, and whether they may be named in it."""

    __tablename__ = "digest_members"
    __table_args__ = (
        UniqueConstraint("community_id", "person_id"),
        Index("ix_digest_members_frequency", "frequency"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    frequency: Mapped[str] = mapped_column(String(16), default=Frequency.OFF.value)
    # Named in the digest and the newsletter (when they answered a question): opt-in.
    named: Mapped[bool] = mapped_column(default=False)
    since: Mapped[datetime]
    last_sent_at: Mapped[datetime | None]


class DigestFollowRow(Base):
    """A theme a member follows in one community: its new items come first in their digest."""

    __tablename__ = "digest_follows"
    __table_args__ = (UniqueConstraint("community_id", "person_id", "theme"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    theme: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


def _subscription(row: DigestMemberRow) -> Subscription:
    return Subscription(
        community_id=row.community_id,
        person_id=row.person_id,
        frequency=Frequency(row.frequency),
        since=row.since,
        last_sent_at=row.last_sent_at,
        named=row.named,
    )


def _command(kind: str) -> str:
    return "faq" if kind == ItemType.FAQ.value else "lesson"


class SqlDigestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _row(self, community_id: int, person_id: int) -> DigestMemberRow | None:
        found: DigestMemberRow | None = await self.session.scalar(
            select(DigestMemberRow).where(
                DigestMemberRow.community_id == community_id,
                DigestMemberRow.person_id == person_id,
            )
        )
        return found

    async def _ensure(self, community_id: int, person_id: int, now: datetime) -> None:
        await self.session.execute(
            insert_ignoring_conflicts(self.session, DigestMemberRow).values(
                community_id=community_id,
                person_id=person_id,
                frequency=Frequency.OFF.value,
                named=False,
                since=now,
                last_sent_at=None,
            )
        )

    async def subscription(self, community_id: int, person_id: int) -> Subscription | None:
        row = await self._row(community_id, person_id)
        return _subscription(row) if row else None

    async def choose(
        self, community_id: int, person_id: int, frequency: Frequency, now: datetime
    ) -> None:
        await self._ensure(community_id, person_id, now)
        values: dict[str, Any] = {"frequency": frequency.value}
        current = await self._row(community_id, person_id)
        if current is not None and current.frequency == Frequency.OFF.value:
            # Turned on (again): the first digest covers from now, not from before.
            values.update(since=now, last_sent_at=None)
        await self.session.execute(
            update(DigestMemberRow)
            .where(
                DigestMemberRow.community_id == community_id,
                DigestMemberRow.person_id == person_id,
            )
            .values(**values)
        )

    async def set_named(
        self, community_id: int, person_id: int, named: bool, now: datetime
    ) -> None:
        await self._ensure(community_id, person_id, now)
        await self.session.execute(
            update(DigestMemberRow)
            .where(
                DigestMemberRow.community_id == community_id,
                DigestMemberRow.person_id == person_id,
            )
            .values(named=named)
        )

    async def subscribed(self) -> list[Subscription]:
        rows = await self.session.scalars(
            select(DigestMemberRow)
            .where(DigestMemberRow.frequency != Frequency.OFF.value)
            .order_by(DigestMemberRow.community_id, DigestMemberRow.person_id)
        )
        return [_subscription(row) for row in rows]

    async def mark_sent(self, community_id: int, person_id: int, at: datetime) -> None:
        await self.session.execute(
            update(DigestMemberRow)
            .where(
                DigestMemberRow.community_id == community_id,
                DigestMemberRow.person_id == person_id,
            )
            .values(last_sent_at=at)
        )

    async def follow(self, community_id: int, person_id: int, theme: str, now: datetime) -> bool:
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, DigestFollowRow).values(
                community_id=community_id, person_id=person_id, theme=theme, created_at=now
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def unfollow(self, community_id: int, person_id: int, theme: str) -> bool:
        result = await self.session.execute(
            delete(DigestFollowRow).where(
                DigestFollowRow.community_id == community_id,
                DigestFollowRow.person_id == person_id,
                DigestFollowRow.theme == theme,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def followed(self, community_id: int, person_id: int) -> list[str]:
        rows = await self.session.scalars(
            select(DigestFollowRow.theme)
            .where(
                DigestFollowRow.community_id == community_id,
                DigestFollowRow.person_id == person_id,
            )
            .order_by(DigestFollowRow.created_at, DigestFollowRow.id)
        )
        return list(rows)

    async def answered_questions(
        self, community_id: int, since: datetime, until: datetime, limit: int
    ) -> list[AnsweredQuestion]:
        answerer = aliased(IdentityRow)
        author = aliased(IdentityRow)
        named = (
            select(IdentityRow.display_name)
            .join(PersonRow, PersonRow.id == IdentityRow.person_id)
            .join(
                DigestMemberRow,
                and_(
                    DigestMemberRow.person_id == PersonRow.id,
                    DigestMemberRow.community_id == community_id,
                ),
            )
            .where(
                IdentityRow.id == func.coalesce(answerer.id, author.id),
                DigestMemberRow.named.is_(True),
                PersonRow.opted_out_tracking.is_(False),
            )
            .limit(1)
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(
                KnowledgeGapRow.query,
                KnowledgeItemRow.id,
                KnowledgeItemRow.title,
                KnowledgeItemRow.url,
                KnowledgeItemRow.type,
                named,
            )
            .join(KnowledgeItemRow, KnowledgeItemRow.id == KnowledgeGapRow.item_id)
            .outerjoin(answerer, answerer.id == KnowledgeGapRow.answer_identity)
            .outerjoin(author, author.id == KnowledgeItemRow.author_id)
            .where(
                KnowledgeGapRow.community_id == community_id,
                # A question asked privately is never shown to anyone else.
                KnowledgeGapRow.is_direct.is_(False),
                KnowledgeGapRow.status == GapStatus.CLOSED.value,
                KnowledgeGapRow.closed_at >= since,
                KnowledgeGapRow.closed_at < until,
                KnowledgeItemRow.status == ItemStatus.PUBLISHED.value,
            )
            .order_by(KnowledgeGapRow.closed_at, KnowledgeGapRow.id)
            .limit(limit)
        )
        return [
            AnsweredQuestion(query, int(item_id), title, url, name, _command(kind))
            for query, item_id, title, url, kind, name in rows.all()
        ]

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        mine = DigestMemberRow.person_id == subject.person_id
        follows = DigestFollowRow.person_id == subject.person_id
        return {
            "digest": await rows_as_data(
                self.session,
                select(
                    DigestMemberRow.community_id,
                    DigestMemberRow.frequency,
                    DigestMemberRow.named,
                    DigestMemberRow.since,
                    DigestMemberRow.last_sent_at,
                )
                .where(mine)
                .order_by(DigestMemberRow.id),
            ),
            "followed_themes": await rows_as_data(
                self.session,
                select(
                    DigestFollowRow.community_id,
                    DigestFollowRow.theme,
                    DigestFollowRow.created_at,
                )
                .where(follows)
                .order_by(DigestFollowRow.id),
            ),
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        return await erase(
            self.session,
            {
                "digest": delete(DigestMemberRow).where(
                    DigestMemberRow.person_id == subject.person_id
                ),
                "followed_themes": delete(DigestFollowRow).where(
                    DigestFollowRow.person_id == subject.person_id
                ),
            },
        )
