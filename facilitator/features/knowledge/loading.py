"""Loading a folder of knowledge files into a community's repository, all or nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from facilitator.features.knowledge.ingest import IngestError, export_items, parse_directory
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.ports import Clock, UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    written: int = 0
    unchanged: int = 0
    errors: list[IngestError] = field(default_factory=list)


class UnknownCommunity(LookupError):
    pass


async def _community_id(uow_factory: UnitOfWorkFactory, key: str | None) -> int | None:
    if key is None:
        return None
    async with uow_factory() as uow:
        community = await uow.communities.by_key(key)
    if community is None:
        raise UnknownCommunity(key)
    return community.id


async def ingest_directory(
    uow_factory: UnitOfWorkFactory, root: Path, community_key: str | None, clock: Clock
) -> IngestReport:
    """Parse every file under `root`; malformed files are reported and skipped whole, the
    rest is written in one transaction. Items are matched by their stable key, so running it
    again updates instead of duplicating."""
    community_id = await _community_id(uow_factory, community_key)
    parsed = parse_directory(root)
    report = IngestReport(errors=list(parsed.errors))
    now = clock.now()
    async with uow_factory() as uow:
        before = await uow.repo(KnowledgeRepository).revision()
        for item in parsed.items:
            await uow.repo(KnowledgeRepository).upsert(item, community_id, now)
        report.written = await uow.repo(KnowledgeRepository).revision() - before
        report.unchanged = len(parsed.items) - report.written
        await uow.commit()
    log.info(
        "knowledge ingested",
        extra={
            "written": report.written,
            "unchanged": report.unchanged,
            "errors": len(report.errors),
        },
    )
    return report


async def export_scope(uow_factory: UnitOfWorkFactory, community_key: str | None) -> str:
    community_id = await _community_id(uow_factory, community_key)
    async with uow_factory() as uow:
        items = await uow.repo(KnowledgeRepository).in_scope(community_id)
    return export_items(items)
