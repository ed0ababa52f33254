"""Polls: a question with 2 to 10 options, one (changeable) vote per member until it closes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class PollStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class PollDraft:
    question: str
    options: tuple[str, ...]
    multiple: bool = False
    anonymous: bool = False
    remind: bool = False
    closes_at: datetime | None = None


@dataclass(frozen=True)
class Poll:
    id: int
    community_id: int
    question: str
    options: tuple[str, ...]
    multiple: bool
    anonymous: bool
    remind: bool
    status: PollStatus
    created_at: datetime
    created_by: int | None = None
    closes_at: datetime | None = None
    closed_at: datetime | None = None
    thread_id: str | None = None
    # The platform's ids of the posted poll: its message, and Telegram's own poll id.
    message_ref: str | None = None
    native_ref: str | None = None
    # Votes per option, fixed when the poll closed.
    final_counts: tuple[int, ...] | None = None

    @property
    def is_open(self) -> bool:
        return self.status is PollStatus.OPEN
