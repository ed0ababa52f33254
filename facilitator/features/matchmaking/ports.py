"""What the matchmaking feature stores through."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from facilitator.domain.model import DataSubject
from facilitator.features.matchmaking.domain import Answer, Match


class MatchRepository(Protocol):
    async def opted_in(self, person_id: int) -> bool: ...
    async def set_opted_in(self, person_id: int, on: bool, now: datetime) -> None: ...
    async def everyone_opted_in(self) -> list[int]:
        """The persons who said `/match on`, in the order they did."""
        ...

    async def open_questions(
        self, person_id: int, community_id: int, since: datetime
    ) -> list[tuple[str, datetime]]:
        """(text, asked at) of the questions the person asked in the community's group since
        `since` that nobody (nor the bot) has answered, newest first."""
        ...

    async def add(self, match: Match) -> Match | None:
        """Store a proposed match; None if that pair was ever matched, or the asker already
        has one this round."""
        ...

    async def get(self, match_id: int) -> Match | None: ...
    async def in_round(self, round_: str) -> list[Match]: ...
    async def pairs_of(self, persons: Sequence[int]) -> set[frozenset[int]]:
        """Every pair ever matched that includes one of these persons."""
        ...

    async def answer(self, match_id: int, side: str, answer: Answer) -> Match | None:
        """Record one side's answer to a proposed match it has not answered yet; the match
        as it now stands, or None if it was decided already or that side answered."""
        ...

    async def introduce(self, match_id: int, now: datetime) -> bool:
        """A proposed match both accepted becomes an introduction (once)."""
        ...

    async def decline(self, match_id: int) -> bool: ...
    async def expire(self, before: datetime) -> list[Match]:
        """Proposed matches made before `before` expire; those that did."""
        ...

    async def due_check_back(self, before: datetime, now: datetime) -> list[Match]:
        """Introductions made before `before` and not yet checked back on, now marked as
        checked back."""
        ...

    async def met(self, match_id: int, side: str, met: bool) -> Match | None:
        """Record whether one side met (once); the match, or None if it was not due or that
        side answered already."""
        ...

    async def awaiting_learning(self, asker_id: int) -> Match | None: ...
    async def learnt(self, match_id: int, item_id: int | None) -> bool: ...
    async def export_person(self, subject: DataSubject) -> dict[str, Any]: ...
    async def forget_person(self, subject: DataSubject) -> dict[str, int]: ...
