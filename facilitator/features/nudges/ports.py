"""The nudges feature's storage port: nudges sent and the activity they follow."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from facilitator.domain.model import DataSubject, Question
from facilitator.features.nudges.domain import Activity, NudgeKind


class NudgeRepository(Protocol):
    async def record(
        self,
        community_id: int,
        person_id: int,
        kind: NudgeKind,
        ref: str,
        now: datetime,
        outbox_key: str | None,
    ) -> bool:
        """False when this person already had this nudge for this `ref`."""
        ...

    async def last(
        self, community_id: int, person_id: int, kind: NudgeKind
    ) -> datetime | None: ...
    async def nudged_for(self, community_id: int, kind: NudgeKind, ref: str) -> set[int]: ...
    async def activity(self, community_id: int) -> dict[int, Activity]:
        """Messages posted in the community per person (from the participation ledger)."""
        ...

    async def open_questions(
        self, community_id: int, asked_after: datetime, asked_before: datetime, limit: int
    ) -> list[Question]: ...
    async def export_person(self, subject: DataSubject) -> dict[str, Any]: ...
    async def forget_person(self, subject: DataSubject) -> dict[str, int]: ...
