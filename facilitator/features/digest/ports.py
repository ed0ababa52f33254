"""What the digest feature stores through."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from facilitator.domain.model import DataSubject
from facilitator.features.digest.domain import AnsweredQuestion, Frequency, Subscription


class DigestRepository(Protocol):
    async def subscription(self, community_id: int, person_id: int) -> Subscription | None: ...

    async def choose(
        self, community_id: int, person_id: int, frequency: Frequency, now: datetime
    ) -> None:
        """Set how often the member gets the digest; choosing again keeps the last sent."""
        ...

    async def set_named(
        self, community_id: int, person_id: int, named: bool, now: datetime
    ) -> None: ...

    async def subscribed(self) -> list[Subscription]:
        """Every subscription that is not off, in every community."""
        ...

    async def mark_sent(self, community_id: int, person_id: int, at: datetime) -> None: ...

    async def follow(self, community_id: int, person_id: int, theme: str, now: datetime) -> bool:
        """False if the theme was followed already."""
        ...

    async def unfollow(self, community_id: int, person_id: int, theme: str) -> bool: ...

    async def followed(self, community_id: int, person_id: int) -> list[str]:
        """The themes followed, in the order they were followed."""
        ...

    async def answered_questions(
        self, community_id: int, since: datetime, until: datetime, limit: int
    ) -> list[AnsweredQuestion]:
        """Questions asked in the group (never privately) that an item answered in the period,
        the answerer named only if they opted in to being named and track their
        participation."""
        ...

    async def export_person(self, subject: DataSubject) -> dict[str, Any]: ...

    async def forget_person(self, subject: DataSubject) -> dict[str, int]: ...
