"""The announcements' repository on SQLite and PostgreSQL: versions keep their order, the
claim is won once (also by two workers at the same moment), a cancellation is for the
community's own rows only, and subscriptions are per community."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from facilitator.domain.model import Platform, PlatformUser
from facilitator.features.announcements.domain import AnnouncementStatus
from facilitator.features.announcements.ports import AnnouncementRepository
from tests.conftest import Database
from tests.storage.test_repository_contract import NOW, add_community, uow


async def _author(db: Database) -> int:
    async with uow(db) as u:
        member = await u.members.ensure(PlatformUser(Platform.TELEGRAM, "7", "Ana"), NOW)
        await u.commit()
    return member.person_id


async def test_versions_keep_their_order_and_their_text_exactly(database: Database) -> None:
    community = await add_community(database)
    author = await _author(database)
    versions = {"pt": "Olá <b>$5</b> =1+1", "en": "Hello\nsecond line", "es": "Hola"}
    async with uow(database) as u:
        repo = u.repo(AnnouncementRepository)
        added = await repo.add(community, author, versions, NOW + timedelta(hours=1), True, NOW)
        await u.commit()
    assert added.id is not None
    async with uow(database) as u:
        found = await u.repo(AnnouncementRepository).get(added.id)
    assert found is not None
    assert list(found.versions.items()) == list(versions.items())
    assert found.pin and found.status is AnnouncementStatus.SCHEDULED
    assert found.due_at == NOW + timedelta(hours=1) and found.author_id == author


async def test_due_rows_are_claimed_once_by_two_workers_at_the_same_moment(
    database: Database,
) -> None:
    community = await add_community(database)
    author = await _author(database)
    async with uow(database) as u:
        repo = u.repo(AnnouncementRepository)
        ids = [
            (await repo.add(community, author, {"en": f"n{n}"}, NOW, False, NOW)).id
            for n in range(5)
        ]
        later = await repo.add(community, author, {"en": "later"}, NOW + timedelta(1), False, NOW)
        await u.commit()

    async def worker() -> list[int]:
        won = []
        async with uow(database) as u:
            repo = u.repo(AnnouncementRepository)
            for announcement in await repo.due(NOW, 50):
                assert announcement.id is not None
                if await repo.claim(announcement.id, NOW):
                    won.append(announcement.id)
            await u.commit()
        return won

    first, second = await asyncio.gather(worker(), worker())
    assert sorted(first + second) == ids  # each once, by one worker or the other
    async with uow(database) as u:
        repo = u.repo(AnnouncementRepository)
        assert await repo.due(NOW, 50) == []
        assert [a.id for a in await repo.scheduled(community, 50)] == [later.id]
        assert await repo.count_scheduled(community) == 1
        sent = await repo.get(ids[0])
    assert sent is not None and sent.status is AnnouncementStatus.SENT and sent.sent_at == NOW


async def test_a_cancellation_is_for_the_communitys_own_scheduled_rows(
    database: Database,
) -> None:
    water = await add_community(database)
    other = await add_community(database, chat="-100555", key="other")
    author = await _author(database)
    async with uow(database) as u:
        repo = u.repo(AnnouncementRepository)
        theirs = await repo.add(other, author, {"en": "x"}, NOW, False, NOW)
        assert theirs.id is not None
        assert await repo.cancel(theirs.id, water) is False
        assert await repo.cancel(theirs.id, other) is True
        assert await repo.cancel(theirs.id, other) is False
        assert await repo.claim(theirs.id, NOW) is False
        await u.commit()


async def test_subscriptions_are_per_community_and_idempotent(database: Database) -> None:
    water = await add_community(database)
    other = await add_community(database, chat="-100555", key="other")
    person = await _author(database)
    async with uow(database) as u:
        repo = u.repo(AnnouncementRepository)
        assert await repo.subscribe(water, person, NOW) is True
        assert await repo.subscribe(water, person, NOW) is False
        assert await repo.subscribers(water) == {person}
        assert await repo.subscribers(other) == set()
        assert await repo.unsubscribe(water, person) is True
        assert await repo.unsubscribe(water, person) is False
        assert await repo.subscribers(water) == set()
        await u.commit()
