"""The nudges the bot sends to keep a community talking, and the activity that decides them."""

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
class Activity:
    """A member's messages in a community: how many, and when the last one was."""

    person_id: int
    messages: int
    last_at: datetime | None
