"""Ports: the protocols the core depends on, implemented by storage, adapters and tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Literal, Protocol, Self, TypeVar, runtime_checkable

from starlette.routing import BaseRoute

from facilitator.domain.events import FileRef, InboundEvent
from facilitator.domain.model import (
    Community,
    LedgerEntry,
    Member,
    Membership,
    NewQuestion,
    Platform,
    PlatformUser,
    Question,
    Role,
    RoleGrant,
)
from facilitator.domain.outbox import OutboxEntry, OutboxRecord, OutboxStatus, Outcome
from facilitator.markup import Destination, OutboundMessage

R = TypeVar("R")


class Clock(Protocol):
    def now(self) -> datetime: ...


InboundOutcome = Literal["done", "rejected", "retry", "failed"]
ReplyOutcome = Literal["sent", "failed", "rate_limited", "dropped"]
LookupOutcome = Literal["answered", "choices", "gap"]
DeliveryOutcome = Literal["sent", "retry", "failed", "unreachable", "skipped"]


class Metrics(Protocol):
    """What the core reports for monitoring; `facilitator.metrics` counts it for Prometheus.

    Each call is one thing that happened in this process; backlogs are read from the
    database when scraped instead (`InboxRepository.backlog`, `OutboxRepository.backlog`)."""

    def inbound(self, events: Sequence[InboundEvent], outcome: InboundOutcome) -> None:
        """One stored inbound payload handled; its events (none: nothing for the core)."""
        ...

    def reply(self, platform: Platform, outcome: ReplyOutcome) -> None: ...
    def lookup(self, outcome: LookupOutcome, seconds: float) -> None: ...
    def delivery(self, platform: Platform, outcome: DeliveryOutcome) -> None:
        """One outbox row's attempt finished by this process's dispatcher."""
        ...

    def outbox_recovered(self, requeued: int, uncertain: int) -> None:
        """Rows a stopped dispatcher left: claimed ones queued again, sends in flight
        marked uncertain."""
        ...

    def rate_limited(self, platform: Platform) -> None:
        """A platform told us to slow down and a message was postponed or dropped."""
        ...


class NoMetrics:
    """The default: nothing is measured (tests, the demo, one-off commands)."""

    def inbound(self, events: Sequence[InboundEvent], outcome: InboundOutcome) -> None:
        pass

    def reply(self, platform: Platform, outcome: ReplyOutcome) -> None:
        pass

    def lookup(self, outcome: LookupOutcome, seconds: float) -> None:
        pass

    def delivery(self, platform: Platform, outcome: DeliveryOutcome) -> None:
        pass

    def outbox_recovered(self, requeued: int, uncertain: int) -> None:
        pass

    def rate_limited(self, platform: Platform) -> None:
        pass


class Messenger(Protocol):
    """Sends a neutral message on one platform; returns the platform's message id if any."""

    async def send(self, destination: Destination, message: OutboundMessage) -> str | None: ...


@dataclass(frozen=True)
class FetchedFile:
    """A file's bytes, fetched from its platform, with its name and type as the platform
    gave them."""

    name: str
    mime_type: str | None
    data: bytes


class FileFetcher(Protocol):
    """Fetches a file posted in a chat of one platform (adapters implement it).

    Raises `FileTooLarge` for a file over `limit` bytes, before downloading it where the
    platform tells the size, and `FileUnavailable` when it cannot be had."""

    async def fetch(self, file: FileRef, limit: int) -> FetchedFile: ...


class MembershipCheck(Protocol):
    """Asks a platform, live, whether a person is in a conversation (adapters implement it):
    the platform does not always say when someone leaves (Telegram tells only an
    administrator bot, nothing while the bot is offline; Slack nothing for a deactivated
    account).

    Raises `MembershipUnknown` when the platform cannot be asked or does not answer."""

    async def is_member(self, chat_id: str, user_id: str) -> bool: ...


@runtime_checkable
class AnnouncesHandOver(Protocol):
    """A messenger that calls `delivery.handover.about_to_send()` once its pacing lets a request
    go, right before each request that may deliver a message. The outbox then marks a row
    `sending` only at that moment, so a row still waiting for its turn when the process dies is
    sent again after its lease, not shown as uncertain. Without it, a row is marked before
    `send` is called."""

    announces_hand_over: bool


@runtime_checkable
class StartLinks(Protocol):
    """A messenger that can offer a link opening a private chat with the bot (Telegram's
    `https://t.me/<bot>?start=<payload>`): people must start one before the bot may write."""

    def start_link(self, payload: str) -> str | None: ...


@runtime_checkable
class NativePolls(Protocol):
    """A messenger whose platform draws polls itself (Telegram). Sending a message with a
    `NativePoll` returns `<message id>:<poll id>`; votes come back as `PollVoteCast` with that
    poll id."""

    async def close_poll(self, destination: Destination, message_id: str) -> list[int] | None:
        """Stop the poll; its final vote count per option, or None if the platform refused."""
        ...


@runtime_checkable
class DeletesMessages(Protocol):
    """A messenger that can remove a message from a conversation (Telegram, where the bot is
    an administrator allowed to delete messages)."""

    async def delete_message(self, chat_id: str, message_id: str) -> bool:
        """True once deleted; False when the platform refused (no right, too old, gone)."""
        ...


@dataclass(frozen=True)
class LinkedMessage:
    """The conversation and message a platform's message link opens."""

    chat_id: str
    message_id: str
    link: str  # the link in its canonical form


@runtime_checkable
class MessageLinks(Protocol):
    """A messenger that can read its platform's links to a message (Telegram's
    `https://t.me/c/…/…`, Slack's `https://….slack.com/archives/…/p…`)."""

    def linked_message(self, link: str) -> LinkedMessage | None: ...


class Decoder(Protocol):
    """Turns a stored raw payload of one platform into core events (adapters implement it).

    Raises `UndecodablePayload` for input it cannot use. It may call the platform (a cached
    user lookup for the locale, say), which is why it is async."""

    async def decode(self, payload: str) -> Sequence[InboundEvent]: ...


@dataclass(frozen=True)
class InboxRecord:
    id: int
    platform: Platform
    delivery_id: str
    ordering_key: str
    payload: str
    attempts: int


@dataclass(frozen=True)
class Backlog:
    """Rows of a queue (the inbox, the outbox) still to be handled, for monitoring."""

    counts: Mapping[str, int]
    # When the oldest of them arrived (inbox) or fell due (outbox); None when there is none.
    oldest: datetime | None


class CommunityRepository(Protocol):
    async def get(self, community_id: int) -> Community | None: ...
    async def by_key(self, key: str) -> Community | None: ...
    async def by_chat(self, platform: Platform, chat_id: str) -> Community | None: ...
    async def add(
        self,
        *,
        key: str,
        platform: Platform,
        chat_id: str,
        title: str,
        timezone: str,
        language: str,
        settings: Mapping[str, object] | None = None,
        now: datetime,
    ) -> Community: ...
    async def update(self, community: Community) -> None: ...
    async def all(self) -> list[Community]: ...


class MemberRepository(Protocol):
    async def identity(self, platform: Platform, platform_user_id: str) -> Member | None: ...
    async def ensure(self, user: PlatformUser, now: datetime) -> Member: ...
    async def by_person(self, person_id: int) -> list[Member]: ...
    async def person_of_identity(self, identity_id: int) -> int | None: ...
    async def find_in_community(self, community_id: int, who: str) -> list[Member]: ...
    async def set_language(self, person_id: int, language: str | None) -> None: ...
    async def set_opt_out(
        self, person_id: int, *, tracking: bool | None = None, nudges: bool | None = None
    ) -> None: ...
    async def merge_people(self, keep_person_id: int, other_person_id: int) -> None: ...
    async def membership(self, person_id: int, community_id: int) -> Membership | None: ...
    async def join(self, person_id: int, community_id: int, now: datetime) -> Membership:
        """A membership, made or (after a leave) renewed as a plain member's."""
        ...

    async def leave(self, person_id: int, community_id: int, now: datetime) -> None:
        """End a current membership; its role goes back to member."""
        ...

    async def set_role(
        self, person_id: int, community_id: int, role: Role, now: datetime
    ) -> None: ...
    async def members_of(self, community_id: int) -> list[tuple[Member, Membership]]: ...
    async def last_community(self, person_id: int) -> int | None: ...
    async def memberships(self, person_id: int) -> list[Membership]:
        """The communities a person belongs to now, the most recently joined first."""
        ...


class GrantRepository(Protocol):
    async def grant(self, grant: RoleGrant, now: datetime) -> None: ...
    async def revoke(
        self, platform: Platform, platform_user_id: str, community_id: int | None
    ) -> bool: ...
    async def for_identity(self, platform: Platform, platform_user_id: str) -> list[RoleGrant]: ...
    async def all(self) -> list[RoleGrant]: ...


class LedgerRepository(Protocol):
    async def record(self, entry: LedgerEntry) -> bool:
        """Append an entry; False when the same (community, event, kind, person) is recorded,
        or when the person opted out of tracking."""
        ...

    async def add(self, entry: LedgerEntry) -> None:
        """Append an entry when the caller needs no answer: entries are written together
        before the next query of the unit of work, or at its commit. Same rules as `record`."""
        ...

    async def count(self, community_id: int, kind: str | None = None) -> int: ...


class LinkCodeRepository(Protocol):
    async def put(self, code: str, identity_id: int, expires_at: datetime) -> None: ...
    async def take(self, code: str, now: datetime) -> int | None:
        """Consume a code; the identity that issued it, or None if unknown or expired."""
        ...


# How a delivery is stored: (delivery id, ordering key, payload), and the platform user id of
# its sender when the adapter knows it (what `/forgetme` finds a person's payloads by).
InboxDelivery = tuple[str, str, str] | tuple[str, str, str, str | None]


class InboxRepository(Protocol):
    async def add(
        self,
        platform: Platform,
        delivery_id: str,
        ordering_key: str,
        payload: str,
        now: datetime,
        sender: str | None = None,
    ) -> bool: ...
    async def add_many(
        self,
        platform: Platform,
        deliveries: Sequence[InboxDelivery],
        now: datetime,
        lease_seconds: float | None = None,
    ) -> list[InboxRecord]:
        """Store deliveries; returns the new rows (a delivery stored before is skipped) in the
        order given. With `lease_seconds` they are stored already leased to the caller (as
        `claim` would lease them), for it to handle at once."""
        ...

    async def claim(
        self,
        now: datetime,
        lease_seconds: float,
        limit: int,
        platforms: Sequence[Platform] | None = None,
    ) -> list[InboxRecord]:
        """Lease up to `limit` due rows (of `platforms` only, if given), oldest first."""
        ...

    async def mark_done(self, record_id: int, now: datetime) -> None: ...
    async def mark_all_done(self, record_ids: Sequence[int], now: datetime) -> None: ...
    async def mark_rejected(self, record_id: int, reason: str, now: datetime) -> None: ...
    async def mark_failed(self, record_id: int, error: str, retry_at: datetime | None) -> None: ...
    async def counts(self) -> dict[str, int]: ...
    async def backlog(self) -> Backlog:
        """Rows waiting or in progress (and given up), by status; the oldest one waiting."""
        ...

    async def clear_payloads(self, before: datetime) -> int:
        """Clear the payload, the sender and the error (which may quote the payload) of
        finished rows (done, rejected, failed for good) that arrived before `before`; rows
        still to be handled keep theirs. The delivery id and status stay, so that a
        redelivery is still a duplicate. How many were cleared."""
        ...

    async def purge(self, before: datetime) -> int:
        """Delete finished rows that arrived before `before` (long after any platform would
        deliver them again), so that the table does not grow without end. How many."""
        ...


class QuestionRepository(Protocol):
    async def add(self, question: NewQuestion) -> bool:
        """Store a new question; False if it was stored before (a redelivered event)."""
        ...

    async def by_message(self, community_id: int, message_id: str) -> Question | None: ...
    async def mark_answered(self, question_id: int, person_id: int, at: datetime) -> bool: ...
    async def due_for_bot(
        self, community_id: int, asked_after: datetime, asked_before: datetime, limit: int
    ) -> list[Question]: ...
    async def mark_bot_checked(self, question_id: int, at: datetime, answered: bool) -> bool: ...


class OutboxRepository(Protocol):
    """The durable outbox of proactive messages (see facilitator/delivery)."""

    async def add(self, entry: OutboxEntry, now: datetime) -> bool:
        """Queue a message; False when its deduplication key was queued before."""
        ...

    async def recover(self, now: datetime) -> tuple[int, int]:
        """Expired claims back to pending, expired sends to uncertain: (requeued, uncertain)."""
        ...

    async def claim(
        self,
        now: datetime,
        worker: str,
        lease_seconds: float,
        limit: int,
        platforms: Sequence[Platform],
    ) -> list[OutboxRecord]: ...
    async def start_sending(
        self, record_id: int, worker: str, now: datetime, lease_seconds: float
    ) -> bool: ...
    async def finish(
        self, record_id: int, worker: str, outcome: Outcome, now: datetime
    ) -> None: ...
    async def release(self, record_ids: Sequence[int], worker: str) -> None: ...
    async def take_unreachable(self, limit: int) -> list[OutboxRecord]: ...
    async def get(self, record_id: int) -> OutboxRecord | None: ...
    async def by_key(self, dedup_key: str) -> OutboxRecord | None: ...
    async def counts(self, community_id: int | None) -> dict[OutboxStatus, int]: ...
    async def listing(
        self, community_id: int | None, statuses: Sequence[OutboxStatus], limit: int
    ) -> list[OutboxRecord]: ...
    async def transition(
        self,
        record_id: int,
        from_statuses: Sequence[OutboxStatus],
        to_status: OutboxStatus,
        now: datetime,
    ) -> bool:
        """Move one row between statuses (approve, skip, retry); False if it was not in one."""
        ...

    async def cancel(self, key_prefix: str, now: datetime) -> int:
        """Cancel every held or pending row whose key starts with `key_prefix`."""
        ...

    async def backlog(self, now: datetime) -> Backlog:
        """Rows not finished, and failed or uncertain ones, by status; the due time of the
        oldest pending row that is due now."""
        ...


class UnitOfWork(Protocol):
    """One transaction: every repository of one inbound event or job shares it. The engine's
    repositories are attributes; each feature's comes from `repo`.

    When the database cannot be reached, leaving the block raises `StorageUnavailable`
    (`facilitator.domain.errors`) instead of the driver's error."""

    communities: CommunityRepository
    members: MemberRepository
    grants: GrantRepository
    ledger: LedgerRepository
    link_codes: LinkCodeRepository
    inbox: InboxRepository
    questions: QuestionRepository
    outbox: OutboxRepository

    def repo(self, kind: type[R]) -> R:
        """A feature's repository, by its Protocol (as the feature declared it), sharing this
        unit's transaction."""
        ...

    async def prefetch(self, events: Sequence[InboundEvent], now: datetime) -> None:
        """Get ready to handle these events from people in this unit of work: their people are
        ensured (as handling each would first do, with the name of their first event), and
        what handling them asks of the repositories (communities, memberships, grants, the
        messages they reply or react to) is looked up at once. A speed-up only: without it,
        each answer is asked for when needed, with the same results."""
        ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class PlatformAdapter(Protocol):
    """What a platform adapter offers the runtime; it translates and nothing more."""

    platform: Platform
    messenger: Messenger
    decoder: Decoder
    # Fetches files members posted (`/share` replying to a document); None where not offered.
    files: FileFetcher | None
    # Whether someone is still in a conversation, asked live; None where not offered.
    members: MembershipCheck | None

    def routes(self) -> Sequence[BaseRoute]:
        """HTTP routes for `serve` (webhooks, events); empty when the platform has none."""
        ...

    async def start(self) -> None:
        """Connect: check credentials, publish commands. Called once per process."""
        ...

    async def receive(self) -> None:
        """For `run`: receive events without a public URL (long polling, Socket Mode)."""
        ...

    def ready(self) -> bool: ...

    def waits(self) -> Mapping[str, float]:
        """Conversations the platform told us to leave alone for a while (a flood wait), with
        the seconds left: shown by `/readyz`; each waits alone, the others go on."""
        ...

    async def stop(self) -> None: ...
