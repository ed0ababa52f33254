"""The SQL unit of work: one session and transaction shared by every repository."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitator.domain.errors import StorageUnavailable
from facilitator.domain.events import InboundEvent
from facilitator.ports import (
    CommunityRepository,
    GrantRepository,
    InboxRepository,
    LedgerRepository,
    LinkCodeRepository,
    MemberRepository,
    OutboxRepository,
    QuestionRepository,
)
from facilitator.storage.outage import cause_name, unavailable
from facilitator.storage.outbox_repository import SqlOutboxRepository
from facilitator.storage.prefetch import prefetch
from facilitator.storage.queued import discard_all, write_all
from facilitator.storage.repositories import (
    SqlCommunityRepository,
    SqlGrantRepository,
    SqlInboxRepository,
    SqlLedgerRepository,
    SqlLinkCodeRepository,
    SqlMemberRepository,
    SqlQuestionRepository,
)

R = TypeVar("R")
# Makes a feature's repository on the unit's session (its SQL class, given the session).
RepositoryFactory = Callable[[AsyncSession], object]


class SqlUnitOfWork:
    """A session and its transaction. A failure that means the database is out of reach
    leaves it as `StorageUnavailable`, the core's word for "try again later"."""

    communities: CommunityRepository
    members: MemberRepository
    grants: GrantRepository
    ledger: LedgerRepository
    link_codes: LinkCodeRepository
    inbox: InboxRepository
    questions: QuestionRepository
    outbox: OutboxRepository

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        repositories: Mapping[type[Any], RepositoryFactory] | None = None,
    ) -> None:
        self._sessions = sessions
        self._factories = repositories or {}
        self._made: dict[type[Any], object] = {}

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.communities = self._communities = SqlCommunityRepository(self.session)
        self.members = self._members = SqlMemberRepository(self.session)
        self.grants = self._grants = SqlGrantRepository(self.session)
        # Queued entries, questions and memberships: written together, at the latest at commit.
        self.ledger = self._ledger = SqlLedgerRepository(self.session)
        self.link_codes = SqlLinkCodeRepository(self.session)
        self.inbox = SqlInboxRepository(self.session)
        self.questions = self._questions = SqlQuestionRepository(self.session)
        self.outbox = SqlOutboxRepository(self.session)
        self._made.clear()
        return self

    async def prefetch(self, events: Sequence[InboundEvent], now: datetime) -> None:
        await prefetch(
            events,
            now,
            communities=self._communities,
            members=self._members,
            grants=self._grants,
            questions=self._questions,
            ledger=self._ledger,
        )

    def repo(self, kind: type[R]) -> R:
        """The repository a feature declared for `kind`, made on first use in this unit."""
        made = self._made.get(kind)
        if made is None:
            factory = self._factories.get(kind)
            if factory is None:
                raise LookupError(f"no feature declares a repository for {kind.__name__}")
            made = self._made[kind] = factory(self.session)
        # The feature declared this factory for `kind`; the features' contract tests check
        # that each one makes what its Protocol describes.
        return cast(R, made)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            try:
                discard_all(self.session)
                await self.session.rollback()
            finally:
                await self.session.close()
        except Exception as error:
            # During an outage rolling back fails too; either way it is the outage to report.
            if not unavailable(error):
                raise
            raise StorageUnavailable(cause_name(error)) from (exc or error)
        if exc is not None and unavailable(exc):
            raise StorageUnavailable(cause_name(exc)) from exc

    async def commit(self) -> None:
        await write_all(self.session)
        await self.session.commit()


class SqlUnitOfWorkFactory:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        repositories: Mapping[type[Any], RepositoryFactory] | None = None,
    ) -> None:
        self._sessions = sessions
        self._repositories = dict(repositories or {})

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self._repositories)
