"""What the reports feature stores through."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from facilitator.domain.model import DataSubject
from facilitator.features.reports.domain import Report


class ReportRepository(Protocol):
    async def add(self, report: Report) -> Report | None:
        """Store the report; None if the member reported that message already."""
        ...

    async def get(self, report_id: int) -> Report | None: ...

    async def filed_since(self, community_id: int, reporter_id: int, since: datetime) -> int:
        """How many reports the person filed in this community since `since`."""
        ...

    async def open_reports(
        self, community_id: int, *, for_coordinators: bool, limit: int
    ) -> list[Report]:
        """Open reports, oldest first; those meant for coordinators only if asked."""
        ...

    async def resolve(self, report_id: int, by_person: int, now: datetime) -> bool:
        """Close an open report and clear the message's words; False if it was not open."""
        ...

    async def expire(self, before: datetime, now: datetime) -> int:
        """Close every report still open that was filed before `before`, clearing the
        message's words; how many."""
        ...

    async def export_person(self, subject: DataSubject) -> dict[str, Any]: ...

    async def forget_person(self, subject: DataSubject) -> dict[str, int]: ...
