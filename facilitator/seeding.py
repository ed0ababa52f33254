"""Loads the demo community from data/demo/community.yaml."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from facilitator.domain.model import Platform, PlatformUser, Role
from facilitator.features.knowledge.loading import ingest_directory
from facilitator.ports import Clock, UnitOfWorkFactory

log = logging.getLogger(__name__)

DEMO_CHAT_ID = "demo"


async def seed_demo_community(
    uow_factory: UnitOfWorkFactory, data_dir: Path, clock: Clock
) -> bool:
    """Create the demo community and its members; False if it already exists."""
    spec: dict[str, Any] = yaml.safe_load(
        (data_dir / "demo" / "community.yaml").read_text("utf-8")
    )
    now = clock.now()
    async with uow_factory() as uow:
        if await uow.communities.by_key(spec["key"]) is not None:
            return False
        community = await uow.communities.add(
            key=spec["key"],
            platform=Platform.CONSOLE,
            chat_id=DEMO_CHAT_ID,
            title=spec["title"],
            timezone=spec.get("timezone", "UTC"),
            language=spec.get("language", "en"),
            settings={"purpose": spec.get("purpose", {})},
            now=now,
        )
        for person in spec.get("members", []):
            member = await uow.members.ensure(
                PlatformUser(
                    Platform.CONSOLE, person["name"], person.get("display_name", person["name"])
                ),
                now,
            )
            if person.get("lang"):
                await uow.members.set_language(member.person_id, person["lang"])
            await uow.members.set_role(
                member.person_id, community.id, Role.parse(person.get("role", "member")), now
            )
        await uow.commit()
    report = await ingest_directory(uow_factory, data_dir / "knowledge", spec["key"], clock)
    for error in report.errors:
        log.error("seed file not loaded", extra={"error": str(error)})
    log.info("demo community seeded", extra={"community": spec["key"]})
    return True
