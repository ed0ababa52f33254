"""The knowledge feature's storage port."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from facilitator.features.knowledge.domain import ItemStatus, KnowledgeGap, KnowledgeItem


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
