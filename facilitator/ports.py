"""Ports: the protocols the core depends on, implemented by storage, adapters and tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from facilitator.domain.events import InboundEvent
from facilitator.domain.knowledge import ItemStatus, KnowledgeGap, KnowledgeItem
from facilitator.domain.model import (
    Community,
    LedgerEntry,
    Member,
    Membership,
    Platform,
    PlatformUser,
    Question,
    Role,
    RoleGrant,
)
from facilitator.markup import Destination, OutboundMessage


class Clock(Protocol):
    def now(self) -> datetime: ...


class Messenger(Protocol):
    """Sends a neutral message on one platform; returns the platform's message id if any."""

    async def send(self, destination: Destination, message: OutboundMessage) -> str | None: ...


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
    received_at: datetime


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
    async def join(self, person_id: int, community_id: int, now: datetime) -> Membership: ...
    async def leave(self, person_id: int, community_id: int, now: datetime) -> None: ...
    async def set_role(
        self, person_id: int, community_id: int, role: Role, now: datetime
    ) -> None: ...
    async def members_of(self, community_id: int) -> list[tuple[Member, Membership]]: ...
    async def last_community(self, person_id: int) -> int | None: ...


class GrantRepository(Protocol):
    async def grant(self, grant: RoleGrant, now: datetime) -> None: ...
    async def revoke(
        self, platform: Platform, platform_user_id: str, community_id: int | None
    ) -> bool: ...
    async def for_identity(self, platform: Platform, platform_user_id: str) -> list[RoleGrant]: ...
    async def all(self) -> list[RoleGrant]: ...


class LedgerRepository(Protocol):
    async def record(self, entry: LedgerEntry) -> bool:
        """Append an entry; False when the same (community, event, kind, person) is recorded."""
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
    async def claim(
        self, now: datetime, lease_seconds: float, limit: int
    ) -> list[InboxRecord]: ...
    async def mark_done(self, record_id: int, now: datetime) -> None: ...
    async def mark_rejected(self, record_id: int, reason: str, now: datetime) -> None: ...
    async def mark_failed(self, record_id: int, error: str, retry_at: datetime | None) -> None: ...
    async def counts(self) -> dict[str, int]: ...


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
    async def add(
        self,
        *,
        community_id: int,
        member: Member,
        source_event_id: str,
        message_id: str,
        thread_id: str | None,
        text: str,
        lang: str,
        asked_at: datetime,
    ) -> bool: ...
    async def by_message(self, community_id: int, message_id: str) -> Question | None: ...
    async def mark_answered(self, question_id: int, person_id: int, at: datetime) -> bool: ...
    async def due_for_bot(
        self, community_id: int, asked_after: datetime, asked_before: datetime, limit: int
    ) -> list[Question]: ...
    async def mark_bot_checked(self, question_id: int, at: datetime, answered: bool) -> bool: ...


class UnitOfWork(Protocol):
    """One transaction: every repository of one inbound event or job shares it."""

    communities: CommunityRepository
    members: MemberRepository
    grants: GrantRepository
    ledger: LedgerRepository
    link_codes: LinkCodeRepository
    inbox: InboxRepository
    knowledge: KnowledgeRepository
    questions: QuestionRepository

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
