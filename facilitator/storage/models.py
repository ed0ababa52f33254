"""Typed SQLAlchemy models; every timestamp is stored as UTC and read back timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
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
        # A person's events in a community in time order: their last before a moment is one
        # seek (who was a member when a week began, `members_in`).
        Index("ix_ledger_person", "person_id", "community_id", "occurred_at"),
        # Rare kinds (a member leaving) found without reading the others.
        Index("ix_ledger_kind", "community_id", "kind", "occurred_at"),
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
    """A raw inbound event. Once handled, its payload (and what else names its sender) is
    cleared after `inbox_retention_days`, or at once by its sender's /forgetme; the delivery
    id and status stay, so that a redelivery is still recognised as a duplicate."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "delivery_id"),
        Index("ix_inbox_pending", "status", "available_at"),
        Index("ix_inbox_sender", "platform", "sender"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str] = mapped_column(String(128))
    ordering_key: Mapped[str] = mapped_column(String(128))
    # None once cleared (retention, or the sender's /forgetme).
    payload: Mapped[str | None] = mapped_column(Text)
    # The platform user id of who sent it, as the adapter read it; None if unknown or cleared.
    sender: Mapped[str | None] = mapped_column(String(64))
    # The sender asked to be forgotten while the row still waited to be handled: it is
    # cleared as soon as it is finished (see `SqlInboxRepository`).
    forget: Mapped[bool] = mapped_column(default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime]
    available_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


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
