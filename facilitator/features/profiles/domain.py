"""Member profiles and the nudges the bot sends to keep a community talking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class NudgeKind(StrEnum):
    WELCOME = "welcome"
    NEWCOMER = "newcomer"  # joined N days ago and has not written yet
    REENGAGE = "reengage"  # was active, silent for N days
    UNANSWERED = "unanswered"  # a question nobody answered: experts pinged
    ESCALATED = "escalated"  # still unanswered: moderators pinged


@dataclass(frozen=True)
class MemberProfile:
    """What a member tells about themselves with `/intro`; `expertise` are short phrases."""

    person_id: int
    organisation: str | None = None
    country: str | None = None
    expertise: tuple[str, ...] = ()
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Activity:
    """A member's messages in a community: how many, and when the last one was."""

    person_id: int
    messages: int
    last_at: datetime | None
