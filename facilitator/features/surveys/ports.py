"""What the surveys feature stores through."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from facilitator.domain.model import DataSubject
from facilitator.features.surveys.domain import Answer, Draft, Survey, SurveyStatus


class SurveyRepository(Protocol):
    async def add(self, survey: Survey) -> Survey: ...

    async def get(self, survey_id: int) -> Survey | None: ...

    async def in_community(self, community_id: int, limit: int) -> list[Survey]:
        """The community's surveys, newest first."""
        ...

    async def set_status(self, survey_id: int, status: SurveyStatus, now: datetime) -> bool:
        """Open (sent) or close a survey; False if it already had that status."""
        ...

    async def mark_reminded(self, survey_id: int, now: datetime) -> bool:
        """Note that the reminders went out; False if they had already."""
        ...

    async def open_with_deadline(self) -> list[Survey]: ...

    async def respond(self, survey_id: int, person_id: int, answers: Sequence[Answer]) -> bool:
        """Store one person's answers once: their place in the set of respondents and the
        answers (which carry a person and time only if the caller put them there); False,
        storing nothing, if they had answered already."""
        ...

    async def respondents(self, survey_id: int) -> set[int]: ...

    async def has_answered(self, survey_id: int, person_id: int) -> bool: ...

    async def answers(self, survey_id: int) -> list[Answer]: ...

    async def response_counts(self, survey_ids: Sequence[int]) -> dict[int, int]: ...

    async def draft(self, survey_id: int, person_id: int) -> Draft | None: ...

    async def pending_draft(self, person_id: int) -> Draft | None:
        """The draft the person touched last, if any."""
        ...

    async def save_draft(self, draft: Draft, now: datetime) -> None: ...

    async def drop_draft(self, survey_id: int, person_id: int) -> None: ...

    async def drop_drafts(self, survey_id: int) -> int:
        """Forget every unfinished answer to a survey (it closed); how many."""
        ...

    async def export_person(self, subject: DataSubject) -> dict[str, Any]: ...

    async def forget_person(self, subject: DataSubject) -> dict[str, int]: ...
