"""What the bookmarks feature stores through, and what a listing holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from facilitator.domain.model import DataSubject


@dataclass(frozen=True)
class SavedItem:
    """A bookmarked repository item, as its owner's listing shows it."""

    item_id: int
    title: str
    url: str | None


class BookmarkRepository(Protocol):
    async def add(self, community_id: int, person_id: int, item_id: int, now: datetime) -> bool:
        """Keep the item for the person in this community; False if it was kept already."""
        ...

    async def remove(self, community_id: int, person_id: int, item_id: int) -> bool: ...

    async def count(self, community_id: int, person_id: int) -> int: ...

    async def saved(self, community_id: int, person_id: int, limit: int) -> list[SavedItem]:
        """The person's bookmarks in this community whose items are still published there
        (or in the installation-wide library), newest first."""
        ...

    async def export_person(self, subject: DataSubject) -> dict[str, Any]: ...

    async def forget_person(self, subject: DataSubject) -> dict[str, int]: ...
