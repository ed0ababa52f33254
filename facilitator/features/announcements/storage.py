"""Announcements' tables and SQL repository."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.domain.model import DataSubject
from facilitator.features.announcements.domain import Announcement, AnnouncementStatus
from facilitator.storage.models import Base, BigId
from facilitator.storage.personal import erase, rows_as_data
from facilitator.storage.repositories import insert_ignoring_conflicts


class AnnouncementRow(Base):
    """A post to one community's group at its time, with private copies to subscribers."""

    __tablename__ = "announcements"
    __table_args__ = (
        Index("ix_announcements_due", "status", "due_at"),
        Index("ix_announcements_community", "community_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"), index=True
    )
    # Language -> text, in the order the author gave them.
    versions: Mapped[dict[str, Any]]
    due_at: Mapped[datetime]
    pin: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class AnnouncementSubscriberRow(Base):
    """A member who asked for a private copy of their community's announcements."""

    __tablename__ = "announcement_subscribers"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime]


def _announcement(row: AnnouncementRow) -> Announcement:
    # The order the author gave the versions in is stored beside them: a JSON object's key
    # order is not something every database promises to keep.
    order = row.versions.get("order") or list(row.versions.get("texts", {}))
    texts = row.versions.get("texts", {})
    return Announcement(
        community_id=row.community_id,
        author_id=row.author_id,
        versions={lang: str(texts[lang]) for lang in order if lang in texts},
        due_at=row.due_at,
        pin=row.pin,
        created_at=row.created_at,
        status=AnnouncementStatus(row.status),
        sent_at=row.sent_at,
        id=row.id,
    )


class SqlAnnouncementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        community_id: int,
        author_id: int,
        versions: Mapping[str, str],
        due_at: datetime,
        pin: bool,
        now: datetime,
    ) -> Announcement:
        row = AnnouncementRow(
            community_id=community_id,
            author_id=author_id,
            versions={"order": list(versions), "texts": dict(versions)},
            due_at=due_at,
            pin=pin,
            status=AnnouncementStatus.SCHEDULED.value,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return _announcement(row)

    async def get(self, announcement_id: int) -> Announcement | None:
        row = await self.session.get(AnnouncementRow, announcement_id, populate_existing=True)
        return None if row is None else _announcement(row)

    async def scheduled(self, community_id: int, limit: int) -> list[Announcement]:
        rows = await self.session.scalars(
            select(AnnouncementRow)
            .where(
                AnnouncementRow.community_id == community_id,
                AnnouncementRow.status == AnnouncementStatus.SCHEDULED.value,
            )
            .order_by(AnnouncementRow.due_at, AnnouncementRow.id)
            .limit(limit)
        )
        return [_announcement(row) for row in rows]

    async def count_scheduled(self, community_id: int) -> int:
        found = await self.session.scalar(
            select(func.count()).where(
                AnnouncementRow.community_id == community_id,
                AnnouncementRow.status == AnnouncementStatus.SCHEDULED.value,
            )
        )
        return int(found or 0)

    async def due(self, now: datetime, limit: int) -> list[Announcement]:
        # Every worker claims in this one order, so two never wait on each other in a circle.
        rows = await self.session.scalars(
            select(AnnouncementRow)
            .where(
                AnnouncementRow.status == AnnouncementStatus.SCHEDULED.value,
                AnnouncementRow.due_at <= now,
            )
            .order_by(AnnouncementRow.due_at, AnnouncementRow.id)
            .limit(limit)
        )
        return [_announcement(row) for row in rows]

    async def claim(self, announcement_id: int, now: datetime) -> bool:
        # A conditional update: on PostgreSQL a second worker's waits for the first's
        # transaction and then finds the row no longer scheduled; SQLite's immediate
        # transactions run one at a time.
        result = await self.session.execute(
            update(AnnouncementRow)
            .where(
                AnnouncementRow.id == announcement_id,
                AnnouncementRow.status == AnnouncementStatus.SCHEDULED.value,
            )
            .values(status=AnnouncementStatus.SENT.value, sent_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def cancel(self, announcement_id: int, community_id: int) -> bool:
        result = await self.session.execute(
            update(AnnouncementRow)
            .where(
                AnnouncementRow.id == announcement_id,
                AnnouncementRow.community_id == community_id,
                AnnouncementRow.status == AnnouncementStatus.SCHEDULED.value,
            )
            .values(status=AnnouncementStatus.CANCELLED.value)
        )
        return bool(getattr(result, "rowcount", 0))

    async def subscribe(self, community_id: int, person_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, AnnouncementSubscriberRow).values(
                community_id=community_id, person_id=person_id, created_at=now
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def unsubscribe(self, community_id: int, person_id: int) -> bool:
        result = await self.session.execute(
            delete(AnnouncementSubscriberRow).where(
                AnnouncementSubscriberRow.community_id == community_id,
                AnnouncementSubscriberRow.person_id == person_id,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def subscribers(self, community_id: int) -> set[int]:
        found = await self.session.scalars(
            select(AnnouncementSubscriberRow.person_id).where(
                AnnouncementSubscriberRow.community_id == community_id
            )
        )
        return set(found)

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        person = subject.person_id
        written = select(
            AnnouncementRow.community_id,
            AnnouncementRow.versions,
            AnnouncementRow.due_at,
            AnnouncementRow.status,
        ).where(AnnouncementRow.author_id == person)
        subscribed = select(
            AnnouncementSubscriberRow.community_id, AnnouncementSubscriberRow.created_at
        ).where(AnnouncementSubscriberRow.person_id == person)
        return {
            "announcements_written": await rows_as_data(
                self.session, written.order_by(AnnouncementRow.id)
            ),
            "announcement_subscriptions": await rows_as_data(
                self.session, subscribed.order_by(AnnouncementSubscriberRow.community_id)
            ),
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        # The community keeps what was announced to it; the author's name leaves it, and what
        # they had scheduled and not yet posted is cancelled.
        person = subject.person_id
        return await erase(
            self.session,
            {
                "announcements_cancelled": update(AnnouncementRow)
                .where(
                    AnnouncementRow.author_id == person,
                    AnnouncementRow.status == AnnouncementStatus.SCHEDULED.value,
                )
                .values(status=AnnouncementStatus.CANCELLED.value),
                "announcements_written": update(AnnouncementRow)
                .where(AnnouncementRow.author_id == person)
                .values(author_id=None),
                "announcement_subscriptions": delete(AnnouncementSubscriberRow).where(
                    AnnouncementSubscriberRow.person_id == person
                ),
            },
        )
