"""Proactive messages waiting in the durable outbox, and what became of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from facilitator.markup import Destination, OutboundMessage


class OutboxStatus(StrEnum):
    HELD = "held"  # waits for a coordinator's approval (`/nudges approve`)
    PENDING = "pending"  # due at `available_at`
    CLAIMED = "claimed"  # taken by a dispatcher, not started; back to pending if it dies
    SENDING = "sending"  # handed to the platform; "uncertain" if its dispatcher dies
    SENT = "sent"
    FAILED = "failed"  # gave up: the platform refused it, or too many attempts
    UNCERTAIN = "uncertain"  # interrupted mid-send: never repeated, shown to moderators
    UNREACHABLE = "unreachable"  # the person cannot be written to privately; a group mention
    REDIRECTED = "redirected"  # ... was queued for it
    SKIPPED = "skipped"  # a coordinator skipped it, or its person opted out
    CANCELLED = "cancelled"


# What `/outbox` counts as still to do, and as needing a moderator's eye.
WAITING = (OutboxStatus.PENDING, OutboxStatus.CLAIMED, OutboxStatus.SENDING)
TROUBLE = (OutboxStatus.FAILED, OutboxStatus.UNCERTAIN)


@dataclass(frozen=True)
class Fallback:
    """Where to mention a person whose private chat is closed (Telegram: never started)."""

    chat_id: str
    user_id: str
    name: str
    thread_id: str | None = None


@dataclass(frozen=True)
class OutboxEntry:
    """A message to queue. `dedup_key` is unique: queueing the same key twice keeps one row."""

    dedup_key: str
    kind: str
    destination: Destination
    message: OutboundMessage
    due_at: datetime
    community_id: int | None = None
    person_id: int | None = None
    # Nudges respect the person's opt-out until the moment they are sent.
    is_nudge: bool = False
    fallback: Fallback | None = None
    held: bool = False


@dataclass(frozen=True)
class OutboxRecord:
    """A stored row: what the dispatcher sends and what `/outbox` lists."""

    id: int
    dedup_key: str
    kind: str
    destination: Destination
    message: OutboundMessage
    status: OutboxStatus
    due_at: datetime
    available_at: datetime
    attempts: int
    community_id: int | None = None
    person_id: int | None = None
    is_nudge: bool = False
    fallback: Fallback | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    platform_ref: str | None = None

    @property
    def lane(self) -> str:
        """Messages to one conversation go out one after another, in order."""
        return f"{self.destination.platform}:{self.destination.chat_id}"


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to; `retry_at` set means try again then."""

    status: OutboxStatus
    error: str | None = None
    retry_at: datetime | None = None
    platform_ref: str | None = None
    new_chat_id: str | None = None
