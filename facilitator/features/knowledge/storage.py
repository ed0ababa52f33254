"""The knowledge repository's storage: items ordered by a revision counter, and gaps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    case,
    delete,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.domain.model import DataSubject
from facilitator.features.knowledge.domain import (
    GapStatus,
    GivenAnswer,
    ItemStatus,
    ItemType,
    KnowledgeGap,
    KnowledgeItem,
)
from facilitator.storage.memo import MemoPart, memo_of
from facilitator.storage.models import Base, BigId
from facilitator.storage.personal import erase, rows_as_data
from facilitator.storage.repositories import insert_ignoring_conflicts

# -- tables ----------------------------------------------------------------------------------


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
    # The key of the item this one translates, in the same scope (None: an original).
    translation_of: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("identities.id", ondelete="SET NULL")
    )
    # An answer saved from the chat: whose words (credited on approval), and where it was.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id", ondelete="SET NULL"))
    source_link: Mapped[str | None] = mapped_column(String(2000))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id", ondelete="SET NULL"))
    announced_at: Mapped[datetime | None]
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
    __table_args__ = (
        Index("ix_knowledge_gaps_community_time", "community_id", "created_at"),
        Index("ix_knowledge_gaps_open", "community_id", "status"),
        Index("ix_knowledge_gaps_message", "community_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("identities.id", ondelete="SET NULL")
    )
    query: Mapped[str] = mapped_column(String(500))
    lang: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    # Where it was asked: a reply there is a candidate answer; a private question is only
    # ever answered privately.
    platform: Mapped[str | None] = mapped_column(String(16))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(64))
    is_direct: Mapped[bool] = mapped_column(default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    closed_at: Mapped[datetime | None]
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("knowledge_items.id", ondelete="SET NULL")
    )
    assigned_to: Mapped[int | None] = mapped_column(
        ForeignKey("identities.id", ondelete="SET NULL")
    )
    answer_message_id: Mapped[str | None] = mapped_column(String(64))
    answer_text: Mapped[str | None] = mapped_column(Text)
    answer_identity: Mapped[int | None] = mapped_column(
        ForeignKey("identities.id", ondelete="SET NULL")
    )
    answer_link: Mapped[str | None] = mapped_column(String(2000))
    disliked_item: Mapped[int | None] = mapped_column(
        ForeignKey("knowledge_items.id", ondelete="SET NULL")
    )


class KnowledgeAnswerRow(Base):
    """An answer the bot gave: which item, to which question, for whom (its 👍/👎 buttons
    name this row)."""

    __tablename__ = "knowledge_answers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_items.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    query: Mapped[str] = mapped_column(String(500))
    lang: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    # The gap its first 👎 recorded: later 👎 on the same answer add no other.
    gap_id: Mapped[int | None] = mapped_column(
        ForeignKey("knowledge_gaps.id", ondelete="SET NULL")
    )


class KnowledgeVoteRow(Base):
    """One person's 👍 (+1) or 👎 (-1) on one answer; voting again changes it."""

    __tablename__ = "knowledge_votes"
    __table_args__ = (
        UniqueConstraint("answer_id", "person_id"),
        Index("ix_knowledge_votes_item", "item_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("knowledge_answers.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("knowledge_items.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    vote: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


SHARED_SCOPE = "*"


class KnowledgeVectorRow(Base):
    """An embedding of one text by one model, computed once by whichever process claimed it.

    Keyed by the model and a hash of the embedded text, so an unchanged item is never embedded
    again (not after a restart, not by another worker) and an edited one is. `vector` is empty
    while a process holds the claim (until `claimed_until`)."""

    __tablename__ = "knowledge_vectors"

    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]


@dataclass
class LibraryRevision(MemoPart):
    """The library's revision as the unit of work read it (None: not read yet)."""

    sources = (KnowledgeStateRow,)

    revision: int | None = None

    def clear(self) -> None:
        self.revision = None


def scope_of(community_id: int | None) -> str:
    return SHARED_SCOPE if community_id is None else str(community_id)


def _item(row: KnowledgeItemRow) -> KnowledgeItem:
    return KnowledgeItem(
        key=row.key,
        type=ItemType(row.type),
        title=row.title,
        body=row.body,
        lang=row.lang,
        theme=row.theme,
        tags=tuple(row.tags or ()),
        alternates=tuple(row.alternates or ()),
        url=row.url,
        source=row.source,
        owner=row.owner,
        review_by=row.review_by,
        translation_of=row.translation_of,
        status=ItemStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        id=row.id,
        community_id=row.community_id,
        created_by=row.created_by,
        author_id=row.author_id,
        source_link=row.source_link,
        owner_id=row.owner_id,
        announced_at=row.announced_at,
    )


def _gap(row: KnowledgeGapRow) -> KnowledgeGap:
    return KnowledgeGap(
        community_id=row.community_id,
        query=row.query,
        lang=row.lang,
        created_at=row.created_at,
        person_id=row.person_id,
        id=row.id,
        identity_id=row.identity_id,
        platform=row.platform,
        chat_id=row.chat_id,
        message_id=row.message_id,
        is_direct=row.is_direct,
        status=GapStatus(row.status),
        closed_at=row.closed_at,
        item_id=row.item_id,
        assigned_to=row.assigned_to,
        answer_message_id=row.answer_message_id,
        answer_text=row.answer_text,
        answer_identity=row.answer_identity,
        answer_link=row.answer_link,
        disliked_item=row.disliked_item,
    )


class SqlKnowledgeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _next_revision(self) -> int:
        # Every writer bumps one counter row. The row lock is held until the writer commits,
        # so revisions become visible in order and a reader that loads "everything after N"
        # can never skip a change that commits later with a smaller number.
        await self.session.execute(
            insert_ignoring_conflicts(self.session, KnowledgeStateRow).values(id=1, revision=0)
        )
        revision = await self.session.scalar(
            update(KnowledgeStateRow)
            .where(KnowledgeStateRow.id == 1)
            .values(revision=KnowledgeStateRow.revision + 1)
            .returning(KnowledgeStateRow.revision)
        )
        assert revision is not None
        return int(revision)

    async def revision(self) -> int:
        """The library's revision as this unit of work first saw it (or last changed it)."""
        known = memo_of(self.session.info).part(LibraryRevision)
        if known.revision is None:
            value = await self.session.scalar(
                select(KnowledgeStateRow.revision).where(KnowledgeStateRow.id == 1)
            )
            known.revision = int(value or 0)
        return known.revision

    async def upsert(
        self,
        item: KnowledgeItem,
        community_id: int | None,
        now: datetime,
        created_by: int | None = None,
    ) -> KnowledgeItem:
        """Insert, or update the item with the same key in the same scope."""
        scope = scope_of(community_id)
        row = await self.session.scalar(
            select(KnowledgeItemRow).where(
                KnowledgeItemRow.scope == scope, KnowledgeItemRow.key == item.key
            )
        )
        if row is not None and _same_content(_item(row), item):
            return _item(row)  # re-ingesting an unchanged item writes nothing
        revision = await self._next_revision()
        if row is None:
            row = KnowledgeItemRow(
                scope=scope,
                community_id=community_id,
                key=item.key,
                created_at=item.created_at or now,
                created_by=created_by,
            )
            self.session.add(row)
        _fill(row, item)
        row.updated_at = now
        row.revision = revision
        await self.session.flush()
        return _item(row)

    async def get(self, item_id: int) -> KnowledgeItem | None:
        row = await self.session.get(KnowledgeItemRow, item_id)
        return _item(row) if row else None

    async def save(self, item: KnowledgeItem, now: datetime) -> KnowledgeItem:
        """Write back an item read with `get` (edits, status changes)."""
        assert item.id is not None
        row = await self.session.get(KnowledgeItemRow, item.id)
        if row is None:
            raise LookupError(item.id)
        _fill(row, item)
        row.updated_at = now
        row.revision = await self._next_revision()
        await self.session.flush()
        return _item(row)

    async def changed_since(self, revision: int) -> list[tuple[int, KnowledgeItem]]:
        rows = await self.session.scalars(
            select(KnowledgeItemRow)
            .where(KnowledgeItemRow.revision > revision)
            .order_by(KnowledgeItemRow.revision)
        )
        return [(row.revision, _item(row)) for row in rows]

    async def in_scope(
        self, community_id: int | None, statuses: Sequence[ItemStatus] | None = None
    ) -> list[KnowledgeItem]:
        query = select(KnowledgeItemRow).where(KnowledgeItemRow.scope == scope_of(community_id))
        if statuses:
            query = query.where(KnowledgeItemRow.status.in_([s.value for s in statuses]))
        rows = await self.session.scalars(query.order_by(KnowledgeItemRow.id))
        return [_item(r) for r in rows]

    async def due_for_review(self, community_id: int | None, today: date) -> list[KnowledgeItem]:
        rows = await self.session.scalars(
            select(KnowledgeItemRow)
            .where(
                KnowledgeItemRow.scope.in_([scope_of(community_id), SHARED_SCOPE]),
                KnowledgeItemRow.status == ItemStatus.PUBLISHED.value,
                KnowledgeItemRow.review_by.is_not(None),
                KnowledgeItemRow.review_by < today,
            )
            .order_by(KnowledgeItemRow.review_by, KnowledgeItemRow.id)
        )
        return [_item(r) for r in rows]

    async def add_gap(self, gap: KnowledgeGap) -> int:
        row = KnowledgeGapRow(
            community_id=gap.community_id,
            person_id=gap.person_id,
            identity_id=gap.identity_id,
            query=gap.query[:500],
            lang=gap.lang,
            created_at=gap.created_at,
            platform=gap.platform,
            chat_id=gap.chat_id,
            message_id=gap.message_id,
            is_direct=gap.is_direct,
            status=GapStatus.OPEN.value,
            disliked_item=gap.disliked_item,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def gaps_since(
        self, community_id: int, since: datetime, *, open_only: bool = False
    ) -> list[KnowledgeGap]:
        query = select(KnowledgeGapRow).where(
            KnowledgeGapRow.community_id == community_id, KnowledgeGapRow.created_at >= since
        )
        if open_only:
            query = query.where(KnowledgeGapRow.status == GapStatus.OPEN.value)
        rows = await self.session.scalars(query.order_by(KnowledgeGapRow.created_at))
        return [_gap(r) for r in rows]

    async def open_gaps(self, community_id: int) -> list[KnowledgeGap]:
        rows = await self.session.scalars(
            select(KnowledgeGapRow)
            .where(
                KnowledgeGapRow.community_id == community_id,
                KnowledgeGapRow.status == GapStatus.OPEN.value,
            )
            .order_by(KnowledgeGapRow.id)
        )
        return [_gap(r) for r in rows]

    async def gap(self, gap_id: int) -> KnowledgeGap | None:
        row = await self.session.get(KnowledgeGapRow, gap_id)
        return _gap(row) if row else None

    async def gap_asked_in(
        self, community_id: int, platform: str, chat_id: str, message_id: str
    ) -> KnowledgeGap | None:
        """The gap asked by this message (a reply to it may answer it)."""
        return await self._gap_with(
            KnowledgeGapRow.message_id, community_id, platform, chat_id, message_id
        )

    async def gap_answered_by(
        self, community_id: int, platform: str, chat_id: str, answer_message_id: str
    ) -> KnowledgeGap | None:
        """The gap this message was noted as the candidate answer of."""
        return await self._gap_with(
            KnowledgeGapRow.answer_message_id, community_id, platform, chat_id, answer_message_id
        )

    async def _gap_with(
        self, column: Any, community_id: int, platform: str, chat_id: str, message_id: str
    ) -> KnowledgeGap | None:
        row = await self.session.scalar(
            select(KnowledgeGapRow)
            .where(
                KnowledgeGapRow.community_id == community_id,
                column == message_id,
                KnowledgeGapRow.platform == platform,
                KnowledgeGapRow.chat_id == chat_id,
            )
            .order_by(KnowledgeGapRow.id)
            .limit(1)
        )
        return _gap(row) if row else None

    async def by_key(self, community_id: int | None, key: str) -> KnowledgeItem | None:
        row = await self.session.scalar(
            select(KnowledgeItemRow).where(
                KnowledgeItemRow.scope == scope_of(community_id), KnowledgeItemRow.key == key
            )
        )
        return _item(row) if row else None

    async def note_answer(
        self,
        gap_id: int,
        message_id: str,
        text: str,
        identity_id: int,
        link: str | None,
    ) -> bool:
        """Remember the first reply to a gap's question; False if one was noted before."""
        result = await self.session.execute(
            update(KnowledgeGapRow)
            .where(KnowledgeGapRow.id == gap_id, KnowledgeGapRow.answer_message_id.is_(None))
            .values(
                answer_message_id=message_id,
                answer_text=text,
                answer_identity=identity_id,
                answer_link=link,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def settle_gaps(
        self,
        gap_ids: Sequence[int],
        status: GapStatus,
        now: datetime,
        item_id: int | None = None,
    ) -> list[int]:
        """Close or dismiss the open gaps among these; returns the ones it changed."""
        if not gap_ids:
            return []
        open_ids = list(
            await self.session.scalars(
                select(KnowledgeGapRow.id).where(
                    KnowledgeGapRow.id.in_(list(gap_ids)),
                    KnowledgeGapRow.status == GapStatus.OPEN.value,
                )
            )
        )
        if open_ids:
            await self.session.execute(
                update(KnowledgeGapRow)
                .where(
                    KnowledgeGapRow.id.in_(open_ids),
                    KnowledgeGapRow.status == GapStatus.OPEN.value,
                )
                .values(status=status.value, closed_at=now, item_id=item_id)
            )
        return sorted(open_ids)

    async def assign_gaps(self, gap_ids: Sequence[int], identity_id: int) -> None:
        if gap_ids:
            await self.session.execute(
                update(KnowledgeGapRow)
                .where(KnowledgeGapRow.id.in_(list(gap_ids)))
                .values(assigned_to=identity_id)
            )

    async def add_answer(self, answer: GivenAnswer) -> int:
        row = KnowledgeAnswerRow(
            community_id=answer.community_id,
            item_id=answer.item_id,
            person_id=answer.person_id,
            query=answer.query[:500],
            lang=answer.lang,
            created_at=answer.created_at,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def answer(self, answer_id: int) -> GivenAnswer | None:
        row = await self.session.get(KnowledgeAnswerRow, answer_id)
        if row is None:
            return None
        return GivenAnswer(
            community_id=row.community_id,
            item_id=row.item_id,
            person_id=row.person_id,
            query=row.query,
            lang=row.lang,
            created_at=row.created_at,
            id=row.id,
            gap_id=row.gap_id,
        )

    async def vote(self, answer: GivenAnswer, person_id: int, vote: int, now: datetime) -> int:
        """Record or change this person's vote on the answer; returns their previous vote
        (0: none)."""
        assert answer.id is not None
        row = await self.session.scalar(
            select(KnowledgeVoteRow).where(
                KnowledgeVoteRow.answer_id == answer.id, KnowledgeVoteRow.person_id == person_id
            )
        )
        if row is None:
            self.session.add(
                KnowledgeVoteRow(
                    answer_id=answer.id,
                    item_id=answer.item_id,
                    community_id=answer.community_id,
                    person_id=person_id,
                    vote=vote,
                    created_at=now,
                )
            )
            await self.session.flush()
            return 0
        previous = row.vote
        row.vote, row.created_at = vote, now
        await self.session.flush()
        return previous

    async def set_answer_gap(self, answer_id: int, gap_id: int) -> bool:
        """Link the answer's first 👎 gap; False if it had one already."""
        result = await self.session.execute(
            update(KnowledgeAnswerRow)
            .where(KnowledgeAnswerRow.id == answer_id, KnowledgeAnswerRow.gap_id.is_(None))
            .values(gap_id=gap_id)
        )
        return bool(getattr(result, "rowcount", 0))

    async def scores(
        self, item_ids: Sequence[int], since: datetime | None = None
    ) -> dict[int, tuple[int, int]]:
        """(👍, 👎) per item, from the votes (cast since `since`, if given)."""
        if not item_ids:
            return {}
        query = (
            select(
                KnowledgeVoteRow.item_id,
                func.sum(case((KnowledgeVoteRow.vote > 0, 1), else_=0)),
                func.sum(case((KnowledgeVoteRow.vote < 0, 1), else_=0)),
            )
            .where(KnowledgeVoteRow.item_id.in_(list(item_ids)))
            .group_by(KnowledgeVoteRow.item_id)
        )
        if since is not None:
            query = query.where(KnowledgeVoteRow.created_at >= since)
        rows = await self.session.execute(query)
        return {int(i): (int(up or 0), int(down or 0)) for i, up, down in rows.all()}

    async def answer_counts(
        self, community_id: int, since: datetime, until: datetime
    ) -> dict[int, int]:
        rows = await self.session.execute(
            select(KnowledgeAnswerRow.item_id, func.count())
            .where(
                KnowledgeAnswerRow.community_id == community_id,
                KnowledgeAnswerRow.created_at >= since,
                KnowledgeAnswerRow.created_at < until,
            )
            .group_by(KnowledgeAnswerRow.item_id)
        )
        return {int(item): int(count) for item, count in rows.all()}

    async def unannounced(self) -> list[KnowledgeItem]:
        """Proposals moderators have not been told of yet, oldest first."""
        rows = await self.session.scalars(
            select(KnowledgeItemRow)
            .where(
                KnowledgeItemRow.status == ItemStatus.PROPOSED.value,
                KnowledgeItemRow.announced_at.is_(None),
                KnowledgeItemRow.community_id.is_not(None),
            )
            .order_by(KnowledgeItemRow.id)
        )
        return [_item(r) for r in rows]

    async def mark_announced(self, item_ids: Sequence[int], now: datetime) -> None:
        if item_ids:
            await self.session.execute(
                update(KnowledgeItemRow)
                .where(KnowledgeItemRow.id.in_(list(item_ids)))
                .values(announced_at=now)
            )

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        gaps = select(
            KnowledgeGapRow.community_id,
            KnowledgeGapRow.query,
            KnowledgeGapRow.lang,
            KnowledgeGapRow.created_at,
        )
        items = select(
            KnowledgeItemRow.id,
            KnowledgeItemRow.community_id,
            KnowledgeItemRow.type,
            KnowledgeItemRow.title,
            KnowledgeItemRow.status,
            KnowledgeItemRow.created_at,
        )
        return {
            "unanswered_lookups": await rows_as_data(
                self.session,
                gaps.where(KnowledgeGapRow.person_id == subject.person_id).order_by(
                    KnowledgeGapRow.created_at
                ),
            ),
            "contributions": await rows_as_data(
                self.session, items.where(KnowledgeItemRow.created_by.in_(subject.identity_ids))
            ),
            "saved_answers": await rows_as_data(
                self.session, items.where(KnowledgeItemRow.author_id.in_(subject.identity_ids))
            ),
            "votes": await rows_as_data(
                self.session,
                select(
                    KnowledgeVoteRow.community_id,
                    KnowledgeVoteRow.item_id,
                    KnowledgeVoteRow.vote,
                    KnowledgeVoteRow.created_at,
                ).where(KnowledgeVoteRow.person_id == subject.person_id),
            ),
            "answers_given_to_them": await rows_as_data(
                self.session,
                select(
                    KnowledgeAnswerRow.community_id,
                    KnowledgeAnswerRow.item_id,
                    KnowledgeAnswerRow.query,
                    KnowledgeAnswerRow.created_at,
                ).where(KnowledgeAnswerRow.person_id == subject.person_id),
            ),
            "answers_in_chat": await rows_as_data(
                self.session,
                select(KnowledgeGapRow.community_id, KnowledgeGapRow.answer_text).where(
                    KnowledgeGapRow.answer_identity.in_(subject.identity_ids)
                ),
            ),
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        """Their lookups go; what they contributed stays in the repository, unnamed."""
        return await erase(
            self.session,
            {
                "unanswered_lookups": delete(KnowledgeGapRow).where(
                    KnowledgeGapRow.person_id == subject.person_id
                ),
                "contributions": update(KnowledgeItemRow)
                .where(KnowledgeItemRow.created_by.in_(subject.identity_ids))
                .values(created_by=None, owner=None),
                # Their answers saved from the chat stay, without their name or the link to
                # their message; a draft of theirs is no longer proposed.
                "saved_answers": update(KnowledgeItemRow)
                .where(KnowledgeItemRow.author_id.in_(subject.identity_ids))
                .values(author_id=None, source_link=None, owner=None),
                "items_owned": update(KnowledgeItemRow)
                .where(KnowledgeItemRow.owner_id.in_(subject.identity_ids))
                .values(owner_id=None, owner=None),
                "answers_in_chat": update(KnowledgeGapRow)
                .where(KnowledgeGapRow.answer_identity.in_(subject.identity_ids))
                .values(answer_identity=None, answer_text=None, answer_link=None),
                "answers_given_to_them": update(KnowledgeAnswerRow)
                .where(KnowledgeAnswerRow.person_id == subject.person_id)
                .values(person_id=None, query=""),
                "votes": delete(KnowledgeVoteRow).where(
                    KnowledgeVoteRow.person_id == subject.person_id
                ),
                "questions_assigned": update(KnowledgeGapRow)
                .where(KnowledgeGapRow.assigned_to.in_(subject.identity_ids))
                .values(assigned_to=None),
            },
        )


_CONTENT = (
    "type",
    "status",
    "title",
    "body",
    "lang",
    "theme",
    "tags",
    "alternates",
    "url",
    "source",
    "owner",
    "review_by",
    "translation_of",
    "author_id",
    "source_link",
    "owner_id",
)


def _same_content(stored: KnowledgeItem, new: KnowledgeItem) -> bool:
    return all(getattr(stored, name) == getattr(new, name) for name in _CONTENT)


def _fill(row: KnowledgeItemRow, item: KnowledgeItem) -> None:
    row.type = item.type.value
    row.status = item.status.value
    row.title = item.title[:500]
    row.body = item.body
    row.lang = item.lang
    row.theme = item.theme
    row.tags = list(item.tags)
    row.alternates = list(item.alternates)
    row.url = item.url
    row.source = item.source
    row.owner = item.owner
    row.review_by = item.review_by
    row.translation_of = item.translation_of
    row.author_id = item.author_id
    row.source_link = item.source_link
    row.owner_id = item.owner_id


class SqlVectorRepository:
    """Stored embeddings, and the claims that let several workers share the embedding work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def stored(self, model: str, hashes: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for start in range(0, len(hashes), _IN_CHUNK):
            rows = await self.session.execute(
                select(KnowledgeVectorRow.text_hash, KnowledgeVectorRow.vector).where(
                    KnowledgeVectorRow.model == model,
                    KnowledgeVectorRow.text_hash.in_(hashes[start : start + _IN_CHUNK]),
                    KnowledgeVectorRow.vector.is_not(None),
                )
            )
            found.update((h, v) for h, v in rows if v is not None)
        return found

    async def claim(
        self, model: str, hashes: Sequence[str], worker: str, now: datetime, until: datetime
    ) -> list[str]:
        """The hashes this worker may embed: new ones, and those whose claim has lapsed."""
        if not hashes:
            return []
        await self.session.execute(
            insert_ignoring_conflicts(self.session, KnowledgeVectorRow),
            [
                {
                    "model": model,
                    "text_hash": h,
                    "claimed_by": worker,
                    "claimed_until": until,
                    "created_at": now,
                }
                for h in hashes
            ],
        )
        await self.session.execute(
            update(KnowledgeVectorRow)
            .where(
                KnowledgeVectorRow.model == model,
                KnowledgeVectorRow.text_hash.in_(list(hashes)),
                KnowledgeVectorRow.vector.is_(None),
                or_(
                    KnowledgeVectorRow.claimed_until.is_(None),
                    KnowledgeVectorRow.claimed_until < now,
                ),
            )
            .values(claimed_by=worker, claimed_until=until)
        )
        rows = await self.session.scalars(
            select(KnowledgeVectorRow.text_hash).where(
                KnowledgeVectorRow.model == model,
                KnowledgeVectorRow.text_hash.in_(list(hashes)),
                KnowledgeVectorRow.vector.is_(None),
                KnowledgeVectorRow.claimed_by == worker,
            )
        )
        return sorted(rows)

    async def store(self, model: str, vectors: dict[str, bytes]) -> None:
        for text_hash, vector in vectors.items():
            await self.session.execute(
                update(KnowledgeVectorRow)
                .where(
                    KnowledgeVectorRow.model == model, KnowledgeVectorRow.text_hash == text_hash
                )
                .values(vector=vector, claimed_by=None, claimed_until=None)
            )

    async def reset(self, model: str, hashes: Sequence[str]) -> None:
        """Forget unreadable vectors, so that they are claimed and embedded again."""
        for start in range(0, len(hashes), _IN_CHUNK):
            await self.session.execute(
                update(KnowledgeVectorRow)
                .where(
                    KnowledgeVectorRow.model == model,
                    KnowledgeVectorRow.text_hash.in_(hashes[start : start + _IN_CHUNK]),
                )
                .values(vector=None, claimed_by=None, claimed_until=None)
            )

    async def sweep(self, model: str, keep: set[str], older_than: datetime) -> int:
        """Delete vectors older than `older_than` of another model, or of a text not in `keep`."""
        removed = 0
        result = await self.session.execute(
            delete(KnowledgeVectorRow).where(
                KnowledgeVectorRow.model != model, KnowledgeVectorRow.created_at < older_than
            )
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
        rows = await self.session.scalars(
            select(KnowledgeVectorRow.text_hash).where(
                KnowledgeVectorRow.model == model, KnowledgeVectorRow.created_at < older_than
            )
        )
        unused = sorted(set(rows) - keep)
        for start in range(0, len(unused), _IN_CHUNK):
            result = await self.session.execute(
                delete(KnowledgeVectorRow).where(
                    KnowledgeVectorRow.model == model,
                    KnowledgeVectorRow.text_hash.in_(unused[start : start + _IN_CHUNK]),
                )
            )
            removed += int(getattr(result, "rowcount", 0) or 0)
        return removed


_IN_CHUNK = 500
