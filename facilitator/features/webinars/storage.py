"""Webinars and their RSVPs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
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
from facilitator.features.polls.storage import PollRow
from facilitator.features.webinars.domain import (
    LONGEST,
    Attendee,
    Rsvp,
    Webinar,
    WebinarDraft,
    WebinarStatus,
)
from facilitator.storage.models import Base, BigId
from facilitator.storage.personal import erase, rows_as_data

# -- tables ----------------------------------------------------------------------------------


class WebinarRow(Base):
    __tablename__ = "webinars"
    __table_args__ = (Index("ix_webinars_community_start", "community_id", "starts_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    duration_minutes: Mapped[int] = mapped_column(default=60)
    link: Mapped[str | None] = mapped_column(String(2000))
    speaker: Mapped[str | None] = mapped_column(String(200))
    speaker_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL")
    )
    theme: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(default=1)
    checkin_code: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    recording_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("knowledge_items.id", ondelete="SET NULL")
    )
    feedback_poll_id: Mapped[int | None] = mapped_column(
        ForeignKey(PollRow.id, ondelete="SET NULL")
    )


class WebinarRsvpRow(Base):
    """A member's answer to a webinar, and whether they checked in."""

    __tablename__ = "webinar_rsvps"

    webinar_id: Mapped[int] = mapped_column(
        ForeignKey(WebinarRow.id, ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    answer: Mapped[str] = mapped_column(String(16))
    answered_at: Mapped[datetime]
    attended_at: Mapped[datetime | None]


def _webinar(row: WebinarRow) -> Webinar:
    return Webinar(
        id=row.id,
        community_id=row.community_id,
        title=row.title,
        starts_at=row.starts_at,
        timezone=row.timezone,
        duration_minutes=row.duration_minutes,
        status=WebinarStatus(row.status),
        checkin_code=row.checkin_code,
        created_at=row.created_at,
        version=row.version,
        link=row.link,
        speaker=row.speaker,
        speaker_person_id=row.speaker_person_id,
        theme=row.theme or "",
        created_by=row.created_by,
        recording_item_id=row.recording_item_id,
        feedback_poll_id=row.feedback_poll_id,
    )


class SqlWebinarRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        community_id: int,
        draft: WebinarDraft,
        *,
        speaker_person_id: int | None,
        created_by: int | None,
        checkin_code: str,
        now: datetime,
    ) -> Webinar:
        row = WebinarRow(
            community_id=community_id,
            title=draft.title,
            starts_at=draft.starts_at,
            timezone=draft.timezone,
            duration_minutes=draft.duration_minutes,
            link=draft.link,
            speaker=draft.speaker,
            speaker_person_id=speaker_person_id,
            theme=draft.theme,
            status=WebinarStatus.SCHEDULED.value,
            version=1,
            checkin_code=checkin_code,
            created_by=created_by,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return _webinar(row)

    async def get(self, webinar_id: int) -> Webinar | None:
        row = await self.session.get(WebinarRow, webinar_id)
        return _webinar(row) if row else None

    async def upcoming(self, community_id: int, now: datetime) -> list[Webinar]:
        rows = await self.session.scalars(
            select(WebinarRow)
            .where(
                WebinarRow.community_id == community_id,
                WebinarRow.status == WebinarStatus.SCHEDULED.value,
                WebinarRow.starts_at > now,
            )
            .order_by(WebinarRow.starts_at)
        )
        return [_webinar(r) for r in rows]

    async def not_over(self, community_id: int, now: datetime) -> list[Webinar]:
        # A webinar's end is its start plus its duration: those that started within the
        # longest duration are read, and the ones already over left out here.
        rows = await self.session.scalars(
            select(WebinarRow)
            .where(
                WebinarRow.community_id == community_id,
                WebinarRow.status == WebinarStatus.SCHEDULED.value,
                WebinarRow.starts_at > now - LONGEST,
            )
            .order_by(WebinarRow.starts_at)
        )
        return [webinar for webinar in map(_webinar, rows) if webinar.ends_at > now]

    async def starting_since(self, community_id: int, since: datetime) -> list[Webinar]:
        rows = await self.session.scalars(
            select(WebinarRow)
            .where(WebinarRow.community_id == community_id, WebinarRow.starts_at >= since)
            .order_by(WebinarRow.starts_at, WebinarRow.id)
        )
        return [_webinar(row) for row in rows]

    async def by_code(self, community_id: int, code: str) -> list[Webinar]:
        rows = await self.session.scalars(
            select(WebinarRow).where(
                WebinarRow.community_id == community_id,
                WebinarRow.checkin_code == code.upper(),
                WebinarRow.status == WebinarStatus.SCHEDULED.value,
            )
        )
        return [_webinar(r) for r in rows]

    async def reschedule(self, webinar_id: int, starts_at: datetime, timezone: str) -> Webinar:
        row = await self.session.get(WebinarRow, webinar_id)
        if row is None:
            raise LookupError(webinar_id)
        row.starts_at, row.timezone, row.version = starts_at, timezone, row.version + 1
        await self.session.flush()
        return _webinar(row)

    async def cancel(self, webinar_id: int) -> bool:
        result = await self.session.execute(
            update(WebinarRow)
            .where(WebinarRow.id == webinar_id, WebinarRow.status == WebinarStatus.SCHEDULED.value)
            .values(status=WebinarStatus.CANCELLED.value)
        )
        return bool(getattr(result, "rowcount", 0))

    async def set_recording(self, webinar_id: int, item_id: int) -> None:
        await self.session.execute(
            update(WebinarRow).where(WebinarRow.id == webinar_id).values(recording_item_id=item_id)
        )

    async def set_feedback_poll(self, webinar_id: int, poll_id: int) -> None:
        await self.session.execute(
            update(WebinarRow).where(WebinarRow.id == webinar_id).values(feedback_poll_id=poll_id)
        )

    async def answer(self, webinar_id: int, person_id: int, answer: Rsvp, now: datetime) -> None:
        row = await self.session.get(WebinarRsvpRow, (webinar_id, person_id))
        if row is None:
            self.session.add(
                WebinarRsvpRow(
                    webinar_id=webinar_id,
                    person_id=person_id,
                    answer=answer.value,
                    answered_at=now,
                    attended_at=None,
                )
            )
        else:
            row.answer, row.answered_at = answer.value, now
        await self.session.flush()

    async def check_in(self, webinar_id: int, person_id: int, now: datetime) -> bool:
        """Record attendance; False when already checked in."""
        row = await self.session.get(WebinarRsvpRow, (webinar_id, person_id))
        if row is None:
            self.session.add(
                WebinarRsvpRow(
                    webinar_id=webinar_id,
                    person_id=person_id,
                    answer=Rsvp.GOING.value,
                    answered_at=now,
                    attended_at=now,
                )
            )
            await self.session.flush()
            return True
        if row.attended_at is not None:
            return False
        row.attended_at = now
        await self.session.flush()
        return True

    async def attendees(self, webinar_id: int) -> list[Attendee]:
        rows = await self.session.scalars(
            select(WebinarRsvpRow)
            .where(WebinarRsvpRow.webinar_id == webinar_id)
            .order_by(WebinarRsvpRow.answered_at)
        )
        return [Attendee(r.person_id, Rsvp(r.answer), r.answered_at, r.attended_at) for r in rows]

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        answers = select(
            WebinarRow.id,
            WebinarRow.title,
            WebinarRsvpRow.answer,
            WebinarRsvpRow.answered_at,
            WebinarRsvpRow.attended_at,
        ).join(WebinarRow, WebinarRow.id == WebinarRsvpRow.webinar_id)
        theirs = select(WebinarRow.id, WebinarRow.title, WebinarRow.starts_at, WebinarRow.speaker)
        person_id = subject.person_id
        return {
            "webinar_answers": await rows_as_data(
                self.session, answers.where(WebinarRsvpRow.person_id == person_id)
            ),
            "webinars_given_or_announced": await rows_as_data(
                self.session,
                theirs.where(
                    (WebinarRow.speaker_person_id == person_id)
                    | (WebinarRow.created_by == person_id)
                ),
            ),
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        """Their answers go; webinars they gave or announced stay, without their name."""
        person_id = subject.person_id
        erased = await erase(
            self.session,
            {
                "webinar_answers": delete(WebinarRsvpRow).where(
                    WebinarRsvpRow.person_id == person_id
                )
            },
        )
        await self.session.execute(
            update(WebinarRow)
            .where(WebinarRow.speaker_person_id == person_id)
            .values(speaker_person_id=None, speaker=None)
        )
        await self.session.execute(
            update(WebinarRow).where(WebinarRow.created_by == person_id).values(created_by=None)
        )
        return erased
