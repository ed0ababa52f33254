"""Bookmarks' table and SQL repository."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, UniqueConstraint, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.domain.model import DataSubject
from facilitator.features.bookmarks.ports import SavedItem
from facilitator.features.knowledge.domain import ItemStatus
from facilitator.features.knowledge.storage import KnowledgeItemRow
from facilitator.storage.models import Base, BigId
from facilitator.storage.personal import erase, rows_as_data
from facilitator.storage.repositories import insert_ignoring_conflicts


class BookmarkRow(Base):
    """A repository item a member keeps, in the community where they kept it."""

    __tablename__ = "bookmarks"
    __table_args__ = (
        UniqueConstraint("community_id", "person_id", "item_id"),
        Index("ix_bookmarks_owner", "person_id", "community_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(
        ForeignKey(KnowledgeItemRow.id, ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]


class SqlBookmarkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, community_id: int, person_id: int, item_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, BookmarkRow).values(
                community_id=community_id, person_id=person_id, item_id=item_id, created_at=now
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def remove(self, community_id: int, person_id: int, item_id: int) -> bool:
        result = await self.session.execute(
            delete(BookmarkRow).where(
                BookmarkRow.community_id == community_id,
                BookmarkRow.person_id == person_id,
                BookmarkRow.item_id == item_id,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def count(self, community_id: int, person_id: int) -> int:
        found = await self.session.scalar(
            select(func.count()).where(
                BookmarkRow.community_id == community_id, BookmarkRow.person_id == person_id
            )
        )
        return int(found or 0)

    async def saved(self, community_id: int, person_id: int, limit: int) -> list[SavedItem]:
        rows = await self.session.execute(
            select(KnowledgeItemRow.id, KnowledgeItemRow.title, KnowledgeItemRow.url)
            .join(BookmarkRow, BookmarkRow.item_id == KnowledgeItemRow.id)
            .where(
                BookmarkRow.community_id == community_id,
                BookmarkRow.person_id == person_id,
                KnowledgeItemRow.status == ItemStatus.PUBLISHED.value,
                or_(
                    KnowledgeItemRow.community_id == community_id,
                    KnowledgeItemRow.community_id.is_(None),
                ),
            )
            .order_by(BookmarkRow.created_at.desc(), BookmarkRow.id.desc())
            .limit(limit)
        )
        return [SavedItem(int(i), title, url) for i, title, url in rows.all()]

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        kept = select(BookmarkRow.community_id, BookmarkRow.item_id, BookmarkRow.created_at)
        return {
            "bookmarks": await rows_as_data(
                self.session,
                kept.where(BookmarkRow.person_id == subject.person_id).order_by(BookmarkRow.id),
            )
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        return await erase(
            self.session,
            {"bookmarks": delete(BookmarkRow).where(BookmarkRow.person_id == subject.person_id)},
        )
