"""The digest's types: how often a member wants it, and what one holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Frequency(StrEnum):
    OFF = "off"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


# A digest is due this long after the last one (a month: 30 days, so that a member who joined
# on the 31st is not skipped in short months).
PERIOD = {Frequency.WEEKLY: timedelta(days=7), Frequency.MONTHLY: timedelta(days=30)}


@dataclass(frozen=True)
class Subscription:
    """A member's digest choice in one community."""

    community_id: int
    person_id: int
    frequency: Frequency
    since: datetime  # when they chose it: the first digest covers from here
    last_sent_at: datetime | None = None
    named: bool = False

    @property
    def covers_from(self) -> datetime:
        return self.last_sent_at or self.since

    def due_at(self) -> datetime | None:
        if self.frequency is Frequency.OFF:
            return None
        return self.covers_from + PERIOD[self.frequency]


@dataclass(frozen=True)
class NewItem:
    id: int
    title: str
    theme: str
    url: str | None
    followed: bool
    # The chat command that finds it by its title: `faq` for an FAQ, else `lesson`.
    command: str = "lesson"


@dataclass(frozen=True)
class UpcomingWebinar:
    id: int
    title: str
    starts_at: datetime
    timezone: str
    link: str | None


@dataclass(frozen=True)
class OpenPoll:
    id: int
    question: str
    closes_at: datetime | None


@dataclass(frozen=True)
class AnsweredQuestion:
    """A question asked in the group and answered in the period; `answered_by` is a name only
    when that person chose to be named and tracks their participation."""

    query: str
    item_id: int | None
    item_title: str | None
    item_url: str | None
    answered_by: str | None
    command: str = "faq"
