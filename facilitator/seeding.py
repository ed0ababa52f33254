"""Loads the demo community from data/demo/community.yaml."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from facilitator.domain.model import Platform, PlatformUser, Role
from facilitator.features.knowledge.loading import ingest_directory
from facilitator.features.profiles.domain import MemberProfile
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.ports import Clock, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

DEMO_CHAT_ID = "demo"


async def seed_demo_community(
    uow_factory: UnitOfWorkFactory, data_dir: Path, clock: Clock
) -> bool:
    """Create the demo community and its members with their profiles; False if it already
    exists (then only the profiles of members who have none are filled in: a database the
    demo made before they were loaded)."""
    spec = demo_spec(data_dir)
    now = clock.now()
    async with uow_factory() as uow:
        if await uow.communities.by_key(spec["key"]) is not None:
            for person in spec.get("members", []):
                member = await uow.members.identity(Platform.CONSOLE, person["name"])
                if (
                    member is not None
                    and await uow.repo(ProfileRepository).get(member.person_id) is None
                ):
                    await _load_profile(uow, member.person_id, person, now)
            await uow.commit()
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
            await _load_profile(uow, member.person_id, person, now)
        await uow.commit()
    report = await ingest_directory(uow_factory, data_dir / "knowledge", spec["key"], clock)
    for error in report.errors:
        log.error("seed file not loaded", extra={"error": str(error)})
    log.info("demo community seeded", extra={"community": spec["key"]})
    return True


def demo_spec(data_dir: Path) -> dict[str, Any]:
    """data/demo/community.yaml: the demo community, its key and its members."""
    spec: dict[str, Any] = yaml.safe_load(
        (data_dir / "demo" / "community.yaml").read_text("utf-8")
    )
    return spec


async def _load_profile(
    uow: UnitOfWork, person_id: int, person: dict[str, Any], now: datetime
) -> None:
    """What a seeded member would have said with /intro and /timezone."""
    profiles = uow.repo(ProfileRepository)
    expertise = person.get("expertise") or []
    if person.get("organisation") or person.get("country") or expertise:
        await profiles.save(
            MemberProfile(
                person_id,
                organisation=person.get("organisation"),
                country=person.get("country"),
                expertise=tuple(str(phrase) for phrase in expertise),
            ),
            now,
        )
    if person.get("timezone"):
        await profiles.set_timezone(person_id, person["timezone"])
