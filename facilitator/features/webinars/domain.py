"""Webinars: announced with RSVPs, reminded, checked in, followed by feedback and a recording."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class WebinarStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Rsvp(StrEnum):
    GOING = "going"
    MAYBE = "maybe"
    NOT_GOING = "no"


# No webinar lasts longer: what a lookup of those still running looks back over.
LONGEST = timedelta(days=1)


@dataclass(frozen=True)
class WebinarDraft:
    title: str
    starts_at: datetime
    timezone: str
    link: str | None = None
    speaker: str | None = None
    theme: str = ""
    duration_minutes: int = 60


@dataclass(frozen=True)
class Webinar:
    id: int
    community_id: int
    title: str
    starts_at: datetime
    timezone: str
    duration_minutes: int
    status: WebinarStatus
    checkin_code: str
    created_at: datetime
    # Bumped by each reschedule: reminders and calendar entries of the old time are replaced.
    version: int = 1
    link: str | None = None
    speaker: str | None = None
    speaker_person_id: int | None = None
    theme: str = ""
    created_by: int | None = None
    recording_item_id: int | None = None
    feedback_poll_id: int | None = None

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True)
class Attendee:
    person_id: int
    answer: Rsvp
    answered_at: datetime
    attended_at: datetime | None = None
