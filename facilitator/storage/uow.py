"""The SQL unit of work: one session and transaction shared by every repository."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from facilitator.domain.errors import StorageUnavailable
from facilitator.features.knowledge.storage import SqlKnowledgeRepository
from facilitator.features.participation.storage import SqlParticipationRepository
from facilitator.features.polls.storage import SqlPollRepository
from facilitator.features.profiles.storage import SqlNudgeRepository, SqlProfileRepository
from facilitator.features.webinars.storage import SqlWebinarRepository
from facilitator.ports import (
    CommunityRepository,
    GrantRepository,
    InboxRepository,
    KnowledgeRepository,
    LedgerRepository,
    LinkCodeRepository,
    MemberRepository,
    NudgeRepository,
    OutboxRepository,
    ParticipationRepository,
    PollRepository,
    ProfileRepository,
    QuestionRepository,
    WebinarRepository,
)
from facilitator.storage.outage import cause_name, unavailable
from facilitator.storage.outbox_repository import SqlOutboxRepository
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


class SqlUnitOfWork:
    """A session and its transaction. A failure that means the database is out of reach
    leaves it as `StorageUnavailable`, the core's word for "try again later"."""

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

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.communities = SqlCommunityRepository(self.session)
        self.members = SqlMemberRepository(self.session)
        self.grants = SqlGrantRepository(self.session)
        self.ledger = SqlLedgerRepository(self.session)  # queued entries: written at commit
        self.link_codes = SqlLinkCodeRepository(self.session)
        self.inbox = SqlInboxRepository(self.session)
        self.knowledge = SqlKnowledgeRepository(self.session)
        self.questions = SqlQuestionRepository(self.session)
        self.participation = SqlParticipationRepository(self.session)
        self.outbox = SqlOutboxRepository(self.session)
        self.profiles = SqlProfileRepository(self.session)
        self.nudges = SqlNudgeRepository(self.session)
        self.polls = SqlPollRepository(self.session)
        self.webinars = SqlWebinarRepository(self.session)
        return self

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
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions)
