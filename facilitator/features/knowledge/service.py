"""The knowledge base: in-memory indexes kept in step with the stored repository."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from facilitator.features.knowledge.domain import ItemStatus, KnowledgeItem
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.search import Document, Hit, SearchConfig, SearchIndex
from facilitator.ports import UnitOfWork

log = logging.getLogger(__name__)

SHARED = "*"
SEE_ALSO = 2
SUGGESTIONS = 3


class Outcome(StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Lookup:
    outcome: Outcome
    confidence: float
    best: KnowledgeItem | None = None
    see_also: tuple[KnowledgeItem, ...] = ()
    suggestions: tuple[KnowledgeItem, ...] = ()


def _scope(community_id: int | None) -> str:
    return SHARED if community_id is None else str(community_id)


def _document(item: KnowledgeItem) -> Document:
    return Document(
        id=str(item.id),
        lang=item.lang,
        title=item.title,
        alternates=item.alternates,
        body=item.body,
        tags=item.tags,
        theme=item.theme,
        type=item.type.value,
    )


class KnowledgeBase:
    """One index per scope (a community, or the installation-wide library).

    Before each lookup `sync` compares the stored revision counter with the last one applied
    and loads only what changed, so an edit made by any process is visible to the next lookup
    without a restart."""

    def __init__(self, config: SearchConfig | None = None) -> None:
        self.config = config or SearchConfig()
        self._indexes: dict[str, SearchIndex] = {}
        self._items: dict[int, KnowledgeItem] = {}
        self._revision = -1
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def item(self, item_id: int) -> KnowledgeItem | None:
        return self._items.get(item_id)

    async def sync(self, uow: UnitOfWork) -> None:
        current = await uow.repo(KnowledgeRepository).revision()
        if current == self._revision:
            return
        async with self._lock:
            if current == self._revision:
                return
            first_load = self._revision < 0
            changes = await uow.repo(KnowledgeRepository).changed_since(max(self._revision, 0))
            if first_load:
                self._bulk_load([item for _, item in changes])
            else:
                for _, item in changes:
                    self._apply(item)
            newest = max((revision for revision, _ in changes), default=current)
            self._revision = max(current, newest)
            log.debug("knowledge synced", extra={"revision": self._revision, "items": len(self)})

    def _index(self, scope: str) -> SearchIndex:
        index = self._indexes.get(scope)
        if index is None:
            index = self._indexes[scope] = SearchIndex(self.config)
        return index

    def _bulk_load(self, items: list[KnowledgeItem]) -> None:
        by_scope: dict[str, list[Document]] = {}
        for item in items:
            if item.status is ItemStatus.PUBLISHED and item.id is not None:
                self._items[item.id] = item
                by_scope.setdefault(_scope(item.community_id), []).append(_document(item))
        for scope, docs in by_scope.items():
            self._index(scope).bulk_load(docs)

    def _apply(self, item: KnowledgeItem) -> None:
        assert item.id is not None
        index = self._index(_scope(item.community_id))
        if item.status is ItemStatus.PUBLISHED:
            self._items[item.id] = item
            index.add(_document(item))
        elif item.id in self._items:
            del self._items[item.id]
            index.remove(str(item.id))

    def search(
        self,
        community_id: int | None,
        query: str,
        *,
        lang: str | None = None,
        limit: int = 10,
        types: Collection[str] | None = None,
        theme: str | None = None,
    ) -> list[tuple[KnowledgeItem, Hit]]:
        """The community's own items and the shared library, best first."""
        scopes = {_scope(community_id), SHARED}
        hits: list[tuple[KnowledgeItem, Hit]] = []
        for scope in scopes:
            index = self._indexes.get(scope)
            if index is None:
                continue
            for hit in index.search(query, lang=lang, limit=limit, types=types, theme=theme):
                item = self._items.get(int(hit.id))
                if item is not None:
                    hits.append((item, hit))
        hits.sort(key=lambda pair: (-pair[1].confidence, -pair[1].score))
        return hits[:limit]

    def lookup(
        self,
        community_id: int | None,
        query: str,
        *,
        lang: str | None = None,
        types: Collection[str] | None = None,
        theme: str | None = None,
    ) -> Lookup:
        """Answer when confident, offer choices when unsure, admit it otherwise."""
        hits = self.search(community_id, query, lang=lang, limit=8, types=types, theme=theme)
        if not hits:
            return Lookup(Outcome.UNKNOWN, 0.0)
        best, best_hit = hits[0]
        plausible = [item for item, hit in hits if hit.confidence >= self.config.suggest_threshold]
        if best_hit.confidence >= self.config.answer_threshold:
            others = tuple(item for item in plausible[1:] if item.id != best.id)[:SEE_ALSO]
            return Lookup(Outcome.ANSWER, best_hit.confidence, best=best, see_also=others)
        if plausible:
            return Lookup(
                Outcome.SUGGEST,
                best_hit.confidence,
                suggestions=tuple(plausible[:SUGGESTIONS]),
            )
        return Lookup(Outcome.UNKNOWN, best_hit.confidence)
