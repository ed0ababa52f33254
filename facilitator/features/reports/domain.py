"""What a report is: a message a member flagged, who hears of it, and where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ReportStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    EXPIRED = "expired"  # nobody resolved it within the expiry period


@dataclass(frozen=True)
class Report:
    """A flagged message. `text` is the message's words, kept only while the report is
    open; `reported_id` is the person who wrote it, when the platform says who that is;
    `for_coordinators` when they were a moderator or above (moderators do not judge their
    own)."""

    community_id: int
    reporter_id: int | None
    reported_id: int | None
    platform: str
    chat_id: str
    message_id: str
    link: str | None
    text: str | None
    reason: str | None
    for_coordinators: bool
    created_at: datetime
    status: ReportStatus = ReportStatus.OPEN
    id: int | None = None
