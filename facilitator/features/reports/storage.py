"""Reports' table and SQL repository."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.domain.model import DataSubject
from facilitator.features.reports.domain import Report, ReportStatus
from facilitator.storage.models import Base, BigId
from facilitator.storage.personal import erase, rows_as_data
from facilitator.storage.repositories import insert_ignoring_conflicts


class ReportRow(Base):
    """A message a member flagged to the moderators (or, about a moderator, coordinators)."""

    __tablename__ = "reports"
    __table_args__ = (
        # A member reports a message once.
        UniqueConstraint("community_id", "reporter_id", "platform", "chat_id", "message_id"),
        Index("ix_reports_open", "community_id", "status", "created_at"),
        Index("ix_reports_reporter", "reporter_id", "community_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    reported_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"), index=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(128))
    link: Mapped[str | None] = mapped_column(String(2048))
    # The message's words, while the report is open.
    text: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    for_coordinators: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))


def _report(row: ReportRow) -> Report:
    return Report(
        community_id=row.community_id,
        reporter_id=row.reporter_id,
        reported_id=row.reported_id,
        platform=row.platform,
        chat_id=row.chat_id,
        message_id=row.message_id,
        link=row.link,
        text=row.text,
        reason=row.reason,
        for_coordinators=row.for_coordinators,
        created_at=row.created_at,
        status=ReportStatus(row.status),
        id=row.id,
    )


class SqlReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, report: Report) -> Report | None:
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, ReportRow)
            .values(
                community_id=report.community_id,
                reporter_id=report.reporter_id,
                reported_id=report.reported_id,
                platform=report.platform,
                chat_id=report.chat_id,
                message_id=report.message_id,
                link=report.link,
                text=report.text,
                reason=report.reason,
                for_coordinators=report.for_coordinators,
                status=report.status.value,
                created_at=report.created_at,
            )
            .returning(ReportRow.id)
        )
        new_id = result.scalar()
        return None if new_id is None else await self.get(int(new_id))

    async def get(self, report_id: int) -> Report | None:
        row = await self.session.get(ReportRow, report_id, populate_existing=True)
        return None if row is None else _report(row)

    async def filed_since(self, community_id: int, reporter_id: int, since: datetime) -> int:
        found = await self.session.scalar(
            select(func.count()).where(
                ReportRow.community_id == community_id,
                ReportRow.reporter_id == reporter_id,
                ReportRow.created_at >= since,
            )
        )
        return int(found or 0)

    async def open_reports(
        self, community_id: int, *, for_coordinators: bool, limit: int
    ) -> list[Report]:
        query = select(ReportRow).where(
            ReportRow.community_id == community_id, ReportRow.status == ReportStatus.OPEN.value
        )
        if not for_coordinators:
            query = query.where(ReportRow.for_coordinators.is_(False))
        rows = await self.session.scalars(
            query.order_by(ReportRow.created_at, ReportRow.id).limit(limit)
        )
        return [_report(row) for row in rows]

    async def resolve(self, report_id: int, by_person: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(ReportRow)
            .where(ReportRow.id == report_id, ReportRow.status == ReportStatus.OPEN.value)
            .values(
                status=ReportStatus.RESOLVED.value,
                text=None,
                resolved_at=now,
                resolved_by=by_person,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def expire(self, before: datetime, now: datetime) -> int:
        result = await self.session.execute(
            update(ReportRow)
            .where(ReportRow.status == ReportStatus.OPEN.value, ReportRow.created_at < before)
            .values(status=ReportStatus.EXPIRED.value, text=None, resolved_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        person = subject.person_id
        # What they reported, with their reason; what was reported of theirs, without who
        # reported it or why (a reason can name the reporter).
        filed = select(
            ReportRow.community_id,
            ReportRow.link,
            ReportRow.reason,
            ReportRow.status,
            ReportRow.created_at,
        ).where(ReportRow.reporter_id == person)
        about = select(
            ReportRow.community_id,
            ReportRow.link,
            ReportRow.text,
            ReportRow.status,
            ReportRow.created_at,
        ).where(ReportRow.reported_id == person)
        resolved = select(ReportRow.community_id, ReportRow.resolved_at).where(
            ReportRow.resolved_by == person
        )
        return {
            "reports_filed": await rows_as_data(self.session, filed.order_by(ReportRow.id)),
            "reports_about_you": await rows_as_data(self.session, about.order_by(ReportRow.id)),
            "reports_resolved": await rows_as_data(self.session, resolved.order_by(ReportRow.id)),
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        # The community keeps the reports; the person's name and words leave them.
        person = subject.person_id
        return await erase(
            self.session,
            {
                "reports_filed": update(ReportRow)
                .where(ReportRow.reporter_id == person)
                .values(reporter_id=None, reason=None),
                "reports_about_you": update(ReportRow)
                .where(ReportRow.reported_id == person)
                .values(reported_id=None, text=None),
                "reports_resolved": update(ReportRow)
                .where(ReportRow.resolved_by == person)
                .values(resolved_by=None),
            },
        )
