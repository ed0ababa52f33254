"""`/mydata` and `/forgetme` across every feature: one path for exporting and erasing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from facilitator.domain.model import DataSubject
from facilitator.feature import Feature, PersonalData
from facilitator.features.privacy.ports import PersonRecordRepository
from facilitator.ports import UnitOfWork

# The engine's tables: the privacy feature's own part.
PERSON_RECORDS = PersonalData(
    tables=(
        "persons",
        "identities",
        "memberships",
        "role_grants",
        "link_codes",
        "questions",
        "outbox",
        "inbox",
    ),
    export=lambda uow, who: uow.repo(PersonRecordRepository).export_person(who),
    forget=lambda uow, who: uow.repo(PersonRecordRepository).forget_person(who),
)


class PersonalRecords:
    """Runs each feature's `PersonalData` hooks, in the order of bootstrap's feature list,
    the engine's records last (a feature's hook may need the person's questions to find its
    rows)."""

    def __init__(self, parts: Sequence[PersonalData]) -> None:
        self._parts = tuple(parts)

    @classmethod
    def of(cls, features: Sequence[Feature]) -> PersonalRecords:
        parts = [
            f.personal_data
            for f in features
            if f.personal_data is not None and f.personal_data is not PERSON_RECORDS
        ]
        return cls([*parts, PERSON_RECORDS])

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(table for part in self._parts for table in part.tables)

    async def subject(self, uow: UnitOfWork, person_id: int) -> DataSubject:
        accounts = await uow.members.by_person(person_id)
        return DataSubject(person_id, tuple(sorted(m.identity_id for m in accounts)))

    async def export(self, uow: UnitOfWork, person_id: int) -> dict[str, Any]:
        """Everything stored about the person, as plain data, one section per kind."""
        subject = await self.subject(uow, person_id)
        data: dict[str, Any] = {}
        for part in self._parts:
            data.update(await part.export(uow, subject))
        return data

    async def forget(self, uow: UnitOfWork, person_id: int) -> dict[str, int]:
        """Erase what every feature stores about the person; how many rows, by kind."""
        subject = await self.subject(uow, person_id)
        erased: dict[str, int] = {}
        for part in self._parts:
            for name, count in (await part.forget(uow, subject)).items():
                erased[name] = erased.get(name, 0) + count
        return erased
