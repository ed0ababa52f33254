"""Profiles, private chats, question topics and the nudge log, over one AsyncSession."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Executable,
    ForeignKey,
    Select,
    String,
    Table,
    bindparam,
    delete,
    false,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.domain.model import DataSubject, ParticipationKind, Platform
from facilitator.features.knowledge.domain import ItemStatus
from facilitator.features.knowledge.storage import KnowledgeItemRow
from facilitator.features.profiles.domain import MemberProfile
from facilitator.storage.models import (
    Base,
    CommunityRow,
    IdentityRow,
    MembershipRow,
    PersonRow,
    QuestionRow,
)
from facilitator.storage.personal import erase, rows_as_data
from facilitator.storage.queued import QueuedRows
from facilitator.storage.repositories import (
    insert_ignoring_conflicts,
)

# -- tables ----------------------------------------------------------------------------------


class MemberProfileRow(Base):
    """What a member said about themselves with `/intro` (for `/whois` and `/experts`)."""

    __tablename__ = "member_profiles"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    organisation: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(100))
    expertise: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]
    # `/experts share on`: other communities' `/experts` may show them. Off unless they say so.
    network: Mapped[bool] = mapped_column(default=False, server_default=false())


class PrivateChatRow(Base):
    """Whether the bot may write to an identity privately (Telegram: they started the bot)."""

    __tablename__ = "private_chats"

    identity_id: Mapped[int] = mapped_column(
        ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True
    )
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class QuestionTopicRow(Base):
    """The theme and key terms of a question, kept after its text is dropped: who answered
    which themes tells who knows them."""

    __tablename__ = "question_topics"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    theme: Mapped[str] = mapped_column(String(64), default="")
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)


_ACTIVITY = (ParticipationKind.MESSAGE_POSTED.value,)


def _insert_topic(dialect: str) -> Executable:
    """A question's topic, for the question an event stored: found by the event when the
    topic is written, so the question may still be queued when its topic is given."""
    topics = cast(Table, QuestionTopicRow.__table__)
    asked = (
        select(
            QuestionRow.id,
            QuestionRow.community_id,
            bindparam("theme", type_=topics.c.theme.type),
            bindparam("terms", type_=topics.c.terms.type),
        )
        # One question at most: an event stores one (unique by community and event).
        .where(
            QuestionRow.community_id == bindparam("community_id"),
            QuestionRow.source_event_id == bindparam("source_event_id"),
        )
    )
    columns = ["question_id", "community_id", "theme", "terms"]
    if dialect == "postgresql":
        return postgresql.insert(topics).from_select(columns, asked).on_conflict_do_nothing()
    return sqlite.insert(topics).from_select(columns, asked).on_conflict_do_nothing()


def _profile(row: MemberProfileRow) -> MemberProfile:
    return MemberProfile(
        person_id=row.person_id,
        organisation=row.organisation,
        country=row.country,
        expertise=tuple(row.expertise or ()),
        updated_at=row.updated_at,
        network=row.network,
    )


class SqlProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._topics: QueuedRows | None = None

    async def get(self, person_id: int) -> MemberProfile | None:
        row = await self.session.get(MemberProfileRow, person_id)
        return _profile(row) if row else None

    async def save(self, profile: MemberProfile, now: datetime) -> None:
        row = await self.session.get(MemberProfileRow, profile.person_id)
        if row is None:
            row = MemberProfileRow(person_id=profile.person_id, updated_at=now)
            self.session.add(row)
        row.organisation = profile.organisation
        row.country = profile.country
        row.expertise = list(profile.expertise)
        row.network = profile.network
        row.updated_at = now
        await self.session.flush()

    async def in_community(self, community_id: int) -> list[MemberProfile]:
        rows = await self.session.scalars(
            select(MemberProfileRow)
            .join(MembershipRow, MembershipRow.person_id == MemberProfileRow.person_id)
            .where(MembershipRow.community_id == community_id, MembershipRow.left_at.is_(None))
            .order_by(MemberProfileRow.person_id)
        )
        return [_profile(r) for r in rows]

    async def shared_with_network(self, outside: int) -> list[tuple[int, MemberProfile]]:
        members_outside = select(MembershipRow.person_id).where(
            MembershipRow.community_id == outside, MembershipRow.left_at.is_(None)
        )
        result = await self.session.execute(
            select(MembershipRow.community_id, MemberProfileRow)
            .join(MembershipRow, MembershipRow.person_id == MemberProfileRow.person_id)
            .join(PersonRow, PersonRow.id == MemberProfileRow.person_id)
            .join(CommunityRow, CommunityRow.id == MembershipRow.community_id)
            .where(
                MemberProfileRow.network.is_(True),
                PersonRow.opted_out_tracking.is_(False),
                MembershipRow.left_at.is_(None),
                MembershipRow.community_id != outside,
                CommunityRow.active.is_(True),
                MemberProfileRow.person_id.not_in(members_outside),
            )
            .order_by(MembershipRow.community_id, MemberProfileRow.person_id)
        )
        return [(int(community), _profile(row)) for community, row in result.all()]

    async def set_timezone(self, person_id: int, timezone: str | None) -> None:
        await self.session.execute(
            update(PersonRow).where(PersonRow.id == person_id).values(timezone=timezone)
        )

    async def open_private_chat(self, identity_id: int, now: datetime) -> None:
        row = await self.session.get(PrivateChatRow, identity_id)
        if row is None:
            await self.session.execute(
                insert_ignoring_conflicts(self.session, PrivateChatRow).values(
                    identity_id=identity_id, opened_at=now, closed_at=None
                )
            )
        elif row.closed_at is not None:
            row.opened_at, row.closed_at = now, None
            await self.session.flush()

    async def close_private_chat(
        self, platform: Platform, platform_user_id: str, now: datetime
    ) -> None:
        identity_id = await self.session.scalar(
            select(IdentityRow.id).where(
                IdentityRow.platform == platform.value,
                IdentityRow.platform_user_id == platform_user_id,
            )
        )
        if identity_id is None:
            return
        row = await self.session.get(PrivateChatRow, identity_id)
        if row is None:
            self.session.add(PrivateChatRow(identity_id=identity_id, opened_at=now, closed_at=now))
        else:
            row.closed_at = now
        await self.session.flush()

    async def open_private_chats(self, identity_ids: Sequence[int]) -> set[int]:
        if not identity_ids:
            return set()
        rows = await self.session.scalars(
            select(PrivateChatRow.identity_id).where(
                PrivateChatRow.identity_id.in_(list(identity_ids)),
                PrivateChatRow.closed_at.is_(None),
            )
        )
        return set(rows)

    async def set_question_topic(
        self, community_id: int, source_event_id: str, theme: str, terms: Sequence[str]
    ) -> None:
        # Queued: a batch's new questions get their topics in one statement (`queued`).
        if self._topics is None:
            self._topics = QueuedRows(
                self.session, cast(Table, QuestionTopicRow.__table__), insert=_insert_topic
            )
        self._topics.add(
            {
                "community_id": community_id,
                "source_event_id": source_event_id[:128],
                "theme": theme[:64],
                "terms": list(terms)[:20],
            }
        )

    async def answered_topics(self, community_id: int) -> list[tuple[int, str, tuple[str, ...]]]:
        result = await self.session.execute(
            select(QuestionRow.answered_by, QuestionTopicRow.theme, QuestionTopicRow.terms)
            .join(QuestionTopicRow, QuestionTopicRow.question_id == QuestionRow.id)
            .where(QuestionRow.community_id == community_id, QuestionRow.answered_by.is_not(None))
        )
        return [
            (int(person), theme or "", tuple(terms or ()))
            for person, theme, terms in result.all()
            if person is not None
        ]

    async def contributions(self, community_id: int) -> list[tuple[int, str, str]]:
        result = await self.session.execute(
            select(IdentityRow.person_id, KnowledgeItemRow.theme, KnowledgeItemRow.title)
            .join(IdentityRow, IdentityRow.id == KnowledgeItemRow.created_by)
            .where(
                KnowledgeItemRow.community_id == community_id,
                KnowledgeItemRow.status == ItemStatus.PUBLISHED.value,
            )
        )
        return [(int(p), theme or "", title) for p, theme, title in result.all()]

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        return {
            "profile": await rows_as_data(
                self.session,
                select(MemberProfileRow.__table__).where(
                    MemberProfileRow.person_id == subject.person_id
                ),
            ),
            "private_chats": await rows_as_data(
                self.session,
                select(PrivateChatRow.__table__).where(
                    PrivateChatRow.identity_id.in_(subject.identity_ids)
                ),
            ),
            "question_topics": await rows_as_data(
                self.session,
                select(QuestionTopicRow.theme, QuestionTopicRow.terms).where(
                    QuestionTopicRow.question_id.in_(_asked_by(subject.person_id))
                ),
            ),
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        """Their profile, whether the bot may write to them privately, and the topics of
        the questions they asked."""
        return await erase(
            self.session,
            {
                "profile": delete(MemberProfileRow).where(
                    MemberProfileRow.person_id == subject.person_id
                ),
                "private_chats": delete(PrivateChatRow).where(
                    PrivateChatRow.identity_id.in_(subject.identity_ids)
                ),
                "question_topics": delete(QuestionTopicRow).where(
                    QuestionTopicRow.question_id.in_(_asked_by(subject.person_id))
                ),
            },
        )


def _asked_by(person_id: int) -> Select[Any]:
    return select(QuestionRow.id).where(QuestionRow.person_id == person_id)
