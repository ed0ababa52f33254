"""What the announcements feature stores through."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from facilitator.domain.model import DataSubject
from facilitator.features.announcements.domain import Announcement


class AnnouncementRepository(Protocol):
    async def add(
        self,
        community_id: int,
        author_id: int,
        versions: Mapping[str, str],
        due_at: datetime,
        pin: bool,
        now: datetime,
    ) -> Announcement: ...

    async def get(self, announcement_id: int) -> Announcement | None: ...

    async def scheduled(self, community_id: int, limit: int) -> list[Announcement]:
        """The community's announcements still to come, soonest first."""
        ...

    async def count_scheduled(self, community_id: int) -> int: ...

    async def due(self, now: datetime, limit: int) -> list[Announcement]:
        """Scheduled announcements whose time has come, oldest first."""
        ...

    async def claim(self, announcement_id: int, now: datetime) -> bool:
        """Mark a scheduled announcement sent; False if another worker (or a cancellation)
        got there first. Whoever gets True posts it, in the same transaction."""
        ...

    async def cancel(self, announcement_id: int, community_id: int) -> bool:
        """Cancel a scheduled announcement of that community; False if there is none."""
        ...

    async def subscribe(self, community_id: int, person_id: int, now: datetime) -> bool:
        """Opt in to private copies; False if they had already."""
        ...

    async def unsubscribe(self, community_id: int, person_id: int) -> bool: ...

    async def subscribers(self, community_id: int) -> set[int]:
        """The person ids who opted in to private copies in the community."""
        ...

    async def export_person(self, subject: DataSubject) -> dict[str, Any]: ...

    async def forget_person(self, subject: DataSubject) -> dict[str, int]: ...
