"""What the privacy feature stores through: the engine's own records of a person."""

from __future__ import annotations

from typing import Any, Protocol

from facilitator.domain.model import DataSubject


class PersonRecordRepository(Protocol):
    """The person, their accounts, memberships and roles, the questions they asked and the
    messages queued for them: the engine's tables, whose part in `/mydata` and `/forgetme`
    the privacy feature declares."""

    async def export_person(self, subject: DataSubject) -> dict[str, Any]: ...

    async def forget_person(self, subject: DataSubject) -> dict[str, int]: ...
