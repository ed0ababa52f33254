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
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.domain.model import DataSubject
from facilitator.features.knowledge.domain import ItemStatus, ItemType, KnowledgeGap, KnowledgeItem
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

    async def add_gap(self, gap: KnowledgeGap) -> None:
        self.session.add(
            KnowledgeGapRow(
                community_id=gap.community_id,
                person_id=gap.person_id,
                query=gap.query[:500],
                lang=gap.lang,
                created_at=gap.created_at,
            )
        )
        await self.session.flush()

    async def gaps_since(self, community_id: int, since: datetime) -> list[KnowledgeGap]:
        rows = await self.session.scalars(
            select(KnowledgeGapRow)
            .where(
                KnowledgeGapRow.community_id == community_id, KnowledgeGapRow.created_at >= since
            )
            .order_by(KnowledgeGapRow.created_at)
        )
        return [
            KnowledgeGap(r.community_id, r.query, r.lang, r.created_at, r.person_id) for r in rows
        ]

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
