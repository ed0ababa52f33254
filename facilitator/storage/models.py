"""Typed SQLAlchemy models; every timestamp is stored as UTC and read back timezone-aware."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite's INTEGER PRIMARY KEY is 64-bit already; BigInteger there would lose autoincrement.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so we store naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class CommunityRow(Base):
    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    # Chat ids are text: Telegram's are signed 64-bit numbers, Slack's are alphanumeric.
    chat_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class PersonRow(Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # `/optout`: no participation tracking (and no place in rankings), or no nudges.
    opted_out_tracking: Mapped[bool] = mapped_column(default=False, server_default=false())
    opted_out_nudges: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime]


class IdentityRow(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    locale_hint: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class MembershipRow(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("person_id", "community_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16), default="member")
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    last_active_at: Mapped[datetime | None]


class RoleGrantRow(Base):
    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id", "community_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(16))
    granted_at: Mapped[datetime]


class LinkCodeRow(Base):
    __tablename__ = "link_codes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]


class LedgerRow(Base):
    __tablename__ = "ledger"
    __table_args__ = (
        UniqueConstraint("community_id", "source_event_id", "kind", "person_id"),
        Index("ix_ledger_community_time", "community_id", "occurred_at"),
        Index("ix_ledger_person", "person_id", "community_id"),
        # Who posted a message: `message_posted` entries carry the message id in `ref`.
        Index("ix_ledger_ref", "community_id", "ref"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]
    source_event_id: Mapped[str] = mapped_column(String(128))
    ref: Mapped[str | None] = mapped_column(String(200))


class InboxRow(Base):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "delivery_id"),
        Index("ix_inbox_pending", "status", "available_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str] = mapped_column(String(128))
    ordering_key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime]
    available_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class KnowledgeItemRow(Base):
    __tablename__ = "knowledge_items"
    __table_args__ = (
        UniqueConstraint("scope", "key"),
        Index("ix_knowledge_items_revision", "revision"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # "*" for the installation-wide library, else the community id: unique keys per scope.
    scope: Mapped[str] = mapped_column(String(32))
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8))
    theme: Mapped[str] = mapped_column(String(64), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    alternates: Mapped[list[str]] = mapped_column(JSON, default=list)
    url: Mapped[str | None] = mapped_column(String(2000))
    source: Mapped[str | None] = mapped_column(String(500))
    owner: Mapped[str | None] = mapped_column(String(200))
    review_by: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("identities.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    revision: Mapped[int] = mapped_column(BigInteger)


class KnowledgeStateRow(Base):
    """One row whose counter orders every change to the repository (see knowledge repo)."""

    __tablename__ = "knowledge_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


class KnowledgeGapRow(Base):
    __tablename__ = "knowledge_gaps"
    __table_args__ = (Index("ix_knowledge_gaps_community_time", "community_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    query: Mapped[str] = mapped_column(String(500))
    lang: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]


class QuestionRow(Base):
    """A question asked in a group, kept while it is open (its text is dropped once answered)."""

    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("community_id", "source_event_id"),
        Index("ix_questions_open", "community_id", "answered_at", "asked_at"),
        Index("ix_questions_message", "community_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    source_event_id: Mapped[str] = mapped_column(String(128))
    message_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(String(1000))
    lang: Mapped[str] = mapped_column(String(8))
    asked_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    bot_checked_at: Mapped[datetime | None]
    bot_answered: Mapped[bool] = mapped_column(default=False)


class OutboxRow(Base):
    """A proactive message, kept until sent or given up (see facilitator/delivery)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedup_key"),
        Index("ix_outbox_due", "status", "available_at"),
        Index("ix_outbox_lane", "platform", "chat_id", "status"),
        Index("ix_outbox_community", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE")
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    destination: Mapped[dict[str, Any]]
    message: Mapped[dict[str, Any]]
    fallback: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    is_nudge: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    # When it may next be tried; while claimed or sending, when that lease ends.
    available_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    platform_ref: Mapped[str | None] = mapped_column(String(128))


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


class NudgeRow(Base):
    """One nudge to one person: caps count these, and a question pings nobody twice."""

    __tablename__ = "nudges"
    __table_args__ = (
        UniqueConstraint("community_id", "person_id", "kind", "ref"),
        Index("ix_nudges_recent", "community_id", "person_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(128))
    outbox_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class PollRow(Base):
    __tablename__ = "polls"
    __table_args__ = (Index("ix_polls_community_status", "community_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(300))
    options: Mapped[list[str]] = mapped_column(JSON)
    multiple: Mapped[bool] = mapped_column(default=False)
    anonymous: Mapped[bool] = mapped_column(default=False)
    remind: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    thread_id: Mapped[str | None] = mapped_column(String(64))
    message_ref: Mapped[str | None] = mapped_column(String(64))
    # Telegram's poll id: its votes arrive naming only this.
    native_ref: Mapped[str | None] = mapped_column(String(128), index=True)
    final_counts: Mapped[list[int] | None] = mapped_column(JSON)


class PollVoteRow(Base):
    """One member's current choice in a poll (changed, not added to, when they vote again)."""

    __tablename__ = "poll_votes"

    poll_id: Mapped[int] = mapped_column(
        # The column object, not its dotted name: the prompt checks read that name as a key.
        ForeignKey(PollRow.id, ondelete="CASCADE"),
        primary_key=True,
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    options: Mapped[list[int]] = mapped_column(JSON)
    voted_at: Mapped[datetime]


class WebinarRow(Base):
    __tablename__ = "webinars"
    __table_args__ = (Index("ix_webinars_community_start", "community_id", "starts_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    duration_minutes: Mapped[int] = mapped_column(default=60)
    link: Mapped[str | None] = mapped_column(String(2000))
    speaker: Mapped[str | None] = mapped_column(String(200))
    speaker_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL")
    )
    theme: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(default=1)
    checkin_code: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    recording_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("knowledge_items.id", ondelete="SET NULL")
    )
    feedback_poll_id: Mapped[int | None] = mapped_column(
        ForeignKey(PollRow.id, ondelete="SET NULL")
    )


class WebinarRsvpRow(Base):
    """A member's answer to a webinar, and whether they checked in."""

    __tablename__ = "webinar_rsvps"

    webinar_id: Mapped[int] = mapped_column(
        ForeignKey(WebinarRow.id, ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    answer: Mapped[str] = mapped_column(String(16))
    answered_at: Mapped[datetime]
    attended_at: Mapped[datetime | None]


class ParticipationScoreRow(Base):
    """Each member's points, rolled up to a day (`participation_score_state.as_of`) so that
    rankings read 10,000 rows instead of a year of ledger events (see participation/rollup)."""

    __tablename__ = "participation_scores"
    __table_args__ = (
        Index("ix_participation_scores_all", "community_id", "points_all"),
        Index("ix_participation_scores_month", "community_id", "points_month"),
        Index("ix_participation_scores_week", "community_id", "points_week"),
    )

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    # Every event before `as_of`, each day's points halved per half-life up to `as_of`.
    points_all: Mapped[float] = mapped_column(default=0.0)
    # Points of the 6 and the 29 days before `as_of` (with today: the last 7 and 30 days).
    points_week: Mapped[float] = mapped_column(default=0.0)
    points_month: Mapped[float] = mapped_column(default=0.0)


class ParticipationScoreStateRow(Base):
    """How far a community's rolled-up scores go, and with which scoring configuration."""

    __tablename__ = "participation_score_state"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date)
    config_key: Mapped[str] = mapped_column(String(64))
    rebuilt_on: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime]
