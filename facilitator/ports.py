"""Ports: the protocols the core depends on, implemented by storage, adapters and tests."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import Any, Literal, Protocol, Self, runtime_checkable

from starlette.routing import BaseRoute

from facilitator.domain.events import InboundEvent
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
from facilitator.features.knowledge.domain import ItemStatus, KnowledgeGap, KnowledgeItem
from facilitator.features.participation.domain import (
    DailyCount,
    MemberFacts,
    MessageAuthor,
    ScoreState,
)
from facilitator.features.polls.domain import Poll, PollDraft
from facilitator.features.profiles.domain import Activity, MemberProfile, NudgeKind
from facilitator.features.webinars.domain import Attendee, Rsvp, Webinar, WebinarDraft
from facilitator.markup import Destination, OutboundMessage


class Clock(Protocol):
    def now(self) -> datetime: ...


InboundOutcome = Literal["done", "rejected", "retry", "failed"]
ReplyOutcome = Literal["sent", "failed", "rate_limited"]
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


@dataclass
class KnownPeople:
    """Some people as a batch of events sees them: the member behind each (platform, user
    id), and every identity of each person (linked accounts), by person id, in identity
    order."""

    members: dict[tuple[Platform, str], Member] = field(default_factory=dict)
    identities: dict[int, list[Member]] = field(default_factory=dict)


class MemberRepository(Protocol):
    async def identity(self, platform: Platform, platform_user_id: str) -> Member | None: ...
    async def ensure(self, user: PlatformUser, now: datetime) -> Member: ...
    async def ensure_people(self, users: Sequence[PlatformUser], now: datetime) -> KnownPeople:
        """`ensure` for several people at once, with every identity of each."""
        ...

    async def preload(self, platform: Platform, user_ids: Iterable[str]) -> None:
        """Load these (known) people at once, for `identity` in this unit of work."""
        ...

    async def by_person(self, person_id: int) -> list[Member]: ...
    async def person_of_identity(self, identity_id: int) -> int | None: ...
    async def find_in_community(self, community_id: int, who: str) -> list[Member]: ...
    async def set_language(self, person_id: int, language: str | None) -> None: ...
    async def set_opt_out(
        self, person_id: int, *, tracking: bool | None = None, nudges: bool | None = None
    ) -> None: ...
    async def merge_people(self, keep_person_id: int, other_person_id: int) -> None: ...
    async def membership(self, person_id: int, community_id: int) -> Membership | None: ...
    async def join(self, person_id: int, community_id: int, now: datetime) -> Membership: ...
    async def join_many(
        self, person_ids: Iterable[int], community_id: int, now: datetime
    ) -> dict[int, Membership]: ...
    async def leave(self, person_id: int, community_id: int, now: datetime) -> None: ...
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
    async def for_identities(
        self, identities: Iterable[tuple[Platform, str]]
    ) -> dict[tuple[Platform, str], list[RoleGrant]]: ...
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


class InboxRepository(Protocol):
    async def add(
        self, platform: Platform, delivery_id: str, ordering_key: str, payload: str, now: datetime
    ) -> bool: ...
    async def add_many(
        self,
        platform: Platform,
        deliveries: Sequence[tuple[str, str, str]],
        now: datetime,
        lease_seconds: float | None = None,
    ) -> list[InboxRecord]:
        """Store (delivery id, ordering key, payload) triples; returns the new rows (a delivery
        stored before is skipped) in the order given. With `lease_seconds` they are stored
        already leased to the caller (as `claim` would lease them), for it to handle at once."""
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

    async def purge(self, before: datetime) -> int:
        """Delete finished rows (done, rejected, failed) that arrived before `before`: their raw
        payloads hold message texts. How many."""
        ...


class KnowledgeRepository(Protocol):
    async def revision(self) -> int: ...
    async def upsert(
        self,
        item: KnowledgeItem,
        community_id: int | None,
        now: datetime,
        created_by: int | None = None,
    ) -> KnowledgeItem: ...
    async def get(self, item_id: int) -> KnowledgeItem | None: ...
    async def save(self, item: KnowledgeItem, now: datetime) -> KnowledgeItem: ...
    async def changed_since(self, revision: int) -> list[tuple[int, KnowledgeItem]]: ...
    async def in_scope(
        self, community_id: int | None, statuses: Sequence[ItemStatus] | None = None
    ) -> list[KnowledgeItem]: ...
    async def due_for_review(
        self, community_id: int | None, today: date
    ) -> list[KnowledgeItem]: ...
    async def add_gap(self, gap: KnowledgeGap) -> None: ...
    async def gaps_since(self, community_id: int, since: datetime) -> list[KnowledgeGap]: ...


class QuestionRepository(Protocol):
    async def add(self, question: NewQuestion) -> bool:
        """Store a new question; False if it was stored before (a redelivered event). A
        question `add_many` wrote in this unit of work is new here once."""
        ...

    async def add_many(self, questions: Sequence[NewQuestion]) -> None:
        """Store several new questions in one statement, ahead of `add` for each (a batch of
        events: `Facilitator.handle_all`)."""
        ...

    async def by_message(self, community_id: int, message_id: str) -> Question | None: ...
    async def preload(self, community_id: int, message_ids: Iterable[str]) -> None:
        """Look these messages' questions up at once, for `by_message` in this unit of work."""
        ...

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


class ParticipationRepository(Protocol):
    """Queries over the participation ledger (facilitator/features/participation), and privacy."""

    async def message_author(self, community_id: int, message_id: str) -> MessageAuthor | None: ...
    async def preload_authors(self, community_id: int, message_ids: Iterable[str]) -> None:
        """Look these messages' authors up at once, for `message_author` in this unit of
        work."""
        ...

    async def joined_since(self, community_id: int, person_id: int, since: datetime) -> bool: ...
    async def daily_counts(
        self,
        community_id: int,
        *,
        timezone: str,
        since: datetime | None,
        until: datetime,
        kinds: Collection[str],
        person_id: int | None = None,
        person_ids: Collection[int] | None = None,
    ) -> list[DailyCount]: ...
    async def kind_counts(
        self, community_id: int, person_ids: Collection[int]
    ) -> dict[int, dict[str, int]]: ...
    async def opted_out(self, community_id: int) -> set[int]: ...
    async def staff(
        self, community_id: int, admins: Collection[tuple[Platform, str]] = ()
    ) -> set[int]: ...
    async def display_names(
        self, community_id: int, person_ids: Collection[int]
    ) -> dict[int, str]: ...
    async def member_facts(self, community_id: int) -> list[MemberFacts]: ...
    async def pioneers(self, community_id: int) -> dict[int, list[str]]: ...
    async def kind_totals(
        self, community_id: int, start: datetime, end: datetime
    ) -> dict[str, int]: ...
    async def people_with(
        self, community_id: int, start: datetime, end: datetime, kinds: Collection[str]
    ) -> set[int]: ...
    async def distinct_refs(
        self, community_id: int, start: datetime, end: datetime, kind: str
    ) -> int: ...
    async def activity_by_day(
        self,
        community_id: int,
        start: datetime,
        end: datetime,
        timezone: str,
        active_kinds: Collection[str],
    ) -> list[tuple[date, int, int]]: ...
    async def known_members(self, community_id: int, at: datetime) -> int: ...
    async def question_times(
        self, community_id: int, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime | None]]: ...
    async def gap_queries(
        self, community_id: int, start: datetime, end: datetime
    ) -> list[str]: ...
    async def active_in_several(
        self, start: datetime, end: datetime, kinds: Collection[str]
    ) -> int: ...
    async def coordinators(self, community_id: int) -> list[Member]: ...
    async def admins(self, identities: Collection[tuple[Platform, str]]) -> list[Member]: ...
    async def score_state(self, community_id: int) -> ScoreState | None: ...
    async def claim_score_state(
        self, community_id: int, expected: ScoreState | None, new: ScoreState, now: datetime
    ) -> bool: ...
    async def reset_scores(self, community_id: int, decay: float | None) -> None: ...
    async def add_scores(
        self, community_id: int, rows: Sequence[tuple[int, float, float, float]]
    ) -> None: ...
    async def top_scores(
        self, community_id: int, window: str, limit: int, excluded: Collection[int]
    ) -> list[tuple[int, float]]: ...
    async def scores_of(
        self, community_id: int, window: str, person_ids: Collection[int]
    ) -> dict[int, float]: ...
    async def count_above(
        self, community_id: int, window: str, points: float, excluded: Collection[int]
    ) -> int: ...
    async def export_person(self, person_id: int) -> dict[str, Any]: ...
    async def forget_person(self, person_id: int) -> dict[str, int]: ...
    async def purge(self, events_before: datetime, texts_before: datetime) -> dict[str, int]: ...


class ProfileRepository(Protocol):
    """Member profiles, time zones, private chats and question topics (facilitation)."""

    async def get(self, person_id: int) -> MemberProfile | None: ...
    async def save(self, profile: MemberProfile, now: datetime) -> None: ...
    async def in_community(self, community_id: int) -> list[MemberProfile]: ...
    async def set_timezone(self, person_id: int, timezone: str | None) -> None: ...
    async def open_private_chat(self, identity_id: int, now: datetime) -> None: ...
    async def close_private_chat(
        self, platform: Platform, platform_user_id: str, now: datetime
    ) -> None: ...
    async def open_private_chats(self, identity_ids: Sequence[int]) -> set[int]:
        """Which of these identities the bot may write to privately."""
        ...

    async def set_question_topic(
        self, question_id: int, community_id: int, theme: str, terms: Sequence[str]
    ) -> None: ...
    async def answered_topics(self, community_id: int) -> list[tuple[int, str, tuple[str, ...]]]:
        """(answerer person, theme, terms) of every answered question with a topic."""
        ...

    async def contributions(self, community_id: int) -> list[tuple[int, str, str]]:
        """(person, theme, title) of every published item a member contributed."""
        ...

    async def forget(self, person_id: int) -> dict[str, int]:
        """Erase a person's profile, private chats, nudges, poll votes, webinar answers and
        the private messages queued for them; how many rows of each."""
        ...


class NudgeRepository(Protocol):
    async def record(
        self,
        community_id: int,
        person_id: int,
        kind: NudgeKind,
        ref: str,
        now: datetime,
        outbox_key: str | None,
    ) -> bool:
        """False when this person already had this nudge for this `ref`."""
        ...

    async def last(
        self, community_id: int, person_id: int, kind: NudgeKind
    ) -> datetime | None: ...
    async def nudged_for(self, community_id: int, kind: NudgeKind, ref: str) -> set[int]: ...
    async def activity(self, community_id: int) -> dict[int, Activity]:
        """Messages posted in the community per person (from the participation ledger)."""
        ...

    async def open_questions(
        self, community_id: int, asked_after: datetime, asked_before: datetime, limit: int
    ) -> list[Question]: ...


class PollRepository(Protocol):
    async def add(
        self,
        community_id: int,
        draft: PollDraft,
        created_by: int | None,
        thread_id: str | None,
        now: datetime,
    ) -> Poll: ...
    async def get(self, poll_id: int) -> Poll | None: ...
    async def by_native_ref(self, native_ref: str) -> Poll | None: ...
    async def latest_open(self, community_id: int) -> Poll | None: ...
    async def open_in(self, community_id: int, limit: int) -> list[Poll]:
        """The community's open polls, the newest first."""
        ...

    async def set_refs(
        self, poll_id: int, message_ref: str | None, native_ref: str | None
    ) -> None: ...
    async def vote(
        self, poll_id: int, person_id: int, options: Sequence[int], now: datetime
    ) -> None:
        """A member's choice, replacing the previous one; no options withdraws the vote."""
        ...

    async def votes(self, poll_id: int) -> dict[int, tuple[int, ...]]: ...
    async def close(self, poll_id: int, counts: Sequence[int], now: datetime) -> bool: ...
    async def closed_between(
        self, community_id: int, since: datetime, until: datetime
    ) -> list[Poll]: ...
    async def forget_votes(self, person_id: int) -> int: ...


class WebinarRepository(Protocol):
    async def add(
        self,
        community_id: int,
        draft: WebinarDraft,
        *,
        speaker_person_id: int | None,
        created_by: int | None,
        checkin_code: str,
        now: datetime,
    ) -> Webinar: ...
    async def get(self, webinar_id: int) -> Webinar | None: ...
    async def upcoming(self, community_id: int, now: datetime) -> list[Webinar]: ...
    async def by_code(self, community_id: int, code: str) -> list[Webinar]: ...
    async def reschedule(self, webinar_id: int, starts_at: datetime, timezone: str) -> Webinar: ...
    async def cancel(self, webinar_id: int) -> bool: ...
    async def set_recording(self, webinar_id: int, item_id: int) -> None: ...
    async def set_feedback_poll(self, webinar_id: int, poll_id: int) -> None: ...
    async def answer(
        self, webinar_id: int, person_id: int, answer: Rsvp, now: datetime
    ) -> None: ...
    async def check_in(self, webinar_id: int, person_id: int, now: datetime) -> bool: ...
    async def attendees(self, webinar_id: int) -> list[Attendee]: ...
    async def forget_answers(self, person_id: int) -> int: ...


class UnitOfWork(Protocol):
    """One transaction: every repository of one inbound event or job shares it.

    When the database cannot be reached, leaving the block raises `StorageUnavailable`
    (`facilitator.domain.errors`) instead of the driver's error."""

    communities: CommunityRepository
    members: MemberRepository
    grants: GrantRepository
    ledger: LedgerRepository
    link_codes: LinkCodeRepository
    inbox: InboxRepository
    knowledge: KnowledgeRepository
    questions: QuestionRepository
    participation: ParticipationRepository
    outbox: OutboxRepository
    profiles: ProfileRepository
    nudges: NudgeRepository
    polls: PollRepository
    webinars: WebinarRepository

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

    async def stop(self) -> None: ...
