"""The retention job: participation events and message texts are kept only so long."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from facilitator.features.participation.ports import ParticipationRepository
from facilitator.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)


class Retention:
    """Deletes ledger entries older than `events_days`, and question texts and unanswered
    lookups older than `texts_days` (an open question's text is kept only while the
    auto-answer and the knowledge gaps can use it). Clears the raw inbound payloads already
    handled after `payload_days`, and deletes those rows (by then a delivery id and a status)
    after `texts_days`, long after any platform would deliver them again."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, events_days: int, texts_days: int, payload_days: int
    ) -> None:
        self._uow_factory = uow_factory
        self.events_days = events_days
        self.texts_days = texts_days
        self.payload_days = payload_days

    async def run(self, now: datetime) -> dict[str, int]:
        texts_before = now - timedelta(days=self.texts_days)
        async with self._uow_factory() as uow:
            purged = await uow.repo(ParticipationRepository).purge(
                events_before=now - timedelta(days=self.events_days), texts_before=texts_before
            )
            purged["inbox_payloads"] = await uow.inbox.clear_payloads(
                now - timedelta(days=self.payload_days)
            )
            purged["inbox_rows"] = await uow.inbox.purge(texts_before)
            await uow.commit()
        if any(purged.values()):
            log.info("retention applied", extra=purged)  # counts only, never what was cleared
        return purged
