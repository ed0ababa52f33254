"""Bookmarks: a member keeps repository items and lists them privately, in their community
only, and `/forgetme` erases them; through the real core and storage."""

from __future__ import annotations

import pytest

from facilitator.domain.events import CommandInvoked, Origin
from facilitator.domain.model import Community, Platform, PlatformUser, Role
from facilitator.features.bookmarks.commands import LIMIT
from facilitator.features.bookmarks.ports import BookmarkRepository
from facilitator.features.knowledge.domain import ItemType, KnowledgeItem
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.privacy.service import PersonalRecords
from tests.conftest import Harness


async def add_item(
    harness: Harness, community: Community | None, title: str, url: str | None = None
) -> int:
    item = KnowledgeItem(
        key=f"k-{title}", type=ItemType.FAQ, title=title, body="Answer.", lang="en", url=url
    )
    async with harness.app.uow_factory() as uow:
        stored = await uow.repo(KnowledgeRepository).upsert(
            item, community.id if community else None, harness.clock.now()
        )
        await uow.commit()
    assert stored.id is not None
    return stored.id


async def other_community(harness: Harness) -> Community:
    async with harness.app.uow_factory() as uow:
        found = await uow.communities.add(
            key="other",
            platform=Platform.CONSOLE,
            chat_id="other",
            title="Other network",
            timezone="UTC",
            language="en",
            settings={},
            now=harness.clock.now(),
        )
        await uow.commit()
    return found


async def command_in(harness: Harness, chat: str, user: str, name: str, args: str) -> list[str]:
    harness.seq += 1
    origin = Origin(
        platform=Platform.CONSOLE,
        event_id=f"cmd:{harness.seq}",
        chat_id=chat,
        user=PlatformUser(Platform.CONSOLE, user, user.title(), "en"),
        occurred_at=harness.clock.now(),
    )
    return await harness.dispatch(CommandInvoked(origin, name, args))


async def test_a_member_keeps_items_and_lists_them_privately(harness: Harness) -> None:
    demo = await harness.community()
    first = await add_item(harness, demo, "How do we run a webinar?", "https://example.org/w")
    second = await add_item(harness, None, "What is a community of practice?")
    [saved] = await harness.say(f"/bookmark {first}")
    assert saved == (
        f"Bookmarked #{first}: “How do we run a webinar?”. /bookmarks lists what you keep."
    )
    await harness.say(f"/bookmark {second}")  # the installation-wide library counts too
    [again] = await harness.say(f"/bookmark {first}")
    assert again == f"You already keep #{first}."
    before = len(harness.messenger.sent)
    [listing] = await harness.say("/bookmarks")
    [(destination, message)] = harness.messenger.sent[before:]
    assert destination.user_id == "carla" and message.ephemeral
    assert listing.splitlines() == [
        "Your bookmarks (2)",
        f"• #{second} What is a community of practice?",
        f"• #{first} How do we run a webinar?: https://example.org/w",
    ]
    [empty] = await harness.say("/bookmarks", user="bea")  # each member sees only their own
    assert empty.startswith("You have no bookmarks here yet.")


async def test_remove_and_what_is_no_longer_published(harness: Harness) -> None:
    demo = await harness.community()
    kept = await add_item(harness, demo, "Kept")
    dropped = await add_item(harness, demo, "Dropped later")
    await harness.say(f"/bookmark {kept}")
    await harness.say(f"/bookmark {dropped}")
    [removed] = await harness.say(f"/bookmark remove {kept}")
    assert removed == f"Removed #{kept} from your bookmarks."
    [absent] = await harness.say(f"/bookmark remove {kept}")
    assert absent == f"#{kept} is not among your bookmarks."
    await harness.grant("mod", Role.MODERATOR)
    await harness.say(f"/faq remove {dropped}", user="mod")
    [listing] = await harness.say("/bookmarks")
    assert listing.startswith("You have no bookmarks here yet.")


async def test_one_community_cannot_reach_another_communitys_items_or_bookmarks(
    any_harness: Harness,
) -> None:
    harness = any_harness  # on SQLite, then on PostgreSQL
    demo = await harness.community()
    other = await other_community(harness)
    theirs = await add_item(harness, other, "Other network's secret plan")
    ours = await add_item(harness, demo, "Demo item")
    # An item of another community reads as missing: its title never shows.
    [refused] = await harness.say(f"/bookmark {theirs}")
    assert refused == f"There is no item #{theirs} in this community's repository."
    # Bookmarks are kept per community: one kept in the other network is not listed here,
    # and removing it from here does nothing there.
    [kept_there] = await command_in(harness, "other", "carla", "bookmark", str(theirs))
    assert kept_there.startswith(f"Bookmarked #{theirs}")
    await harness.say(f"/bookmark {ours}")
    [here] = await harness.say("/bookmarks")
    assert "secret plan" not in here and f"#{ours} Demo item" in here
    [not_here] = await harness.say(f"/bookmark remove {theirs}")
    assert not_here == f"#{theirs} is not among your bookmarks."
    [there] = await command_in(harness, "other", "carla", "bookmarks", "")
    assert f"#{theirs} Other network's secret plan" in there and "Demo item" not in there
    async with harness.app.uow_factory() as uow:
        member = await uow.members.identity(Platform.CONSOLE, "carla")
        assert member is not None
        repo = uow.repo(BookmarkRepository)
        assert await repo.count(demo.id, member.person_id) == 1
        assert await repo.count(other.id, member.person_id) == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", "Usage: /bookmark ID"),
        ("abc", "Usage: /bookmark ID"),
        ("99999999999999999999", "Usage: /bookmark ID"),
        ("-1", "There is no item #-1"),
        ("424242", "There is no item #424242"),
        ("remove", "Usage: /bookmark remove ID"),
        ("9" * 100_000, "Usage: /bookmark ID"),
        ("1 $= *x* <b>" + "=" * 100_000, "Usage: /bookmark ID"),
    ],
    ids=["empty", "word", "20 digits", "negative", "unknown", "remove alone", "100k", "markup"],
)
async def test_bad_arguments_get_a_clear_reply(harness: Harness, args: str, expected: str) -> None:
    await harness.community()
    replies = await harness.say(f"/bookmark {args}".strip())
    assert replies and expected in "\n".join(replies)


async def test_markup_in_a_title_is_shown_as_text_and_replies_follow_the_language(
    harness: Harness,
) -> None:
    demo = await harness.community()
    item = await add_item(harness, demo, "*$x^$* <b>=cmd|' /C calc'!A0</b> [link](http://x)")
    [saved] = await harness.say(f"/bookmark {item}", locale="es")
    assert saved.startswith(f"Guardado #{item}: “*$x^$* <b>=cmd|' /C calc'!A0</b> [link](")
    [listing] = await harness.say("/bookmarks", locale="pt")
    assert listing.splitlines()[0] == "Seus favoritos (1)"


async def test_a_member_keeps_at_most_the_limit(harness: Harness) -> None:
    demo = await harness.community()
    async with harness.app.uow_factory() as uow:
        member = await uow.members.identity(Platform.CONSOLE, "carla")
    if member is None:
        await harness.say("hello")
        async with harness.app.uow_factory() as uow:
            member = await uow.members.identity(Platform.CONSOLE, "carla")
    assert member is not None
    ids = [await add_item(harness, demo, f"Item {n}") for n in range(LIMIT + 1)]
    async with harness.app.uow_factory() as uow:
        for item_id in ids[:LIMIT]:
            await uow.repo(BookmarkRepository).add(
                demo.id, member.person_id, item_id, harness.clock.now()
            )
        await uow.commit()
    [full] = await harness.say(f"/bookmark {ids[-1]}")
    assert full.startswith(f"You keep {LIMIT} bookmarks here, the most there can be.")


async def test_forgetme_erases_bookmarks_and_mydata_lists_them(harness: Harness) -> None:
    demo = await harness.community()
    item = await add_item(harness, demo, "Kept item")
    await harness.say(f"/bookmark {item}")
    async with harness.app.uow_factory() as uow:
        member = await uow.members.identity(Platform.CONSOLE, "carla")
        assert member is not None
        records = harness.app.services.feature(PersonalRecords)
        exported = await records.export(uow, member.person_id)
        assert [b["item_id"] for b in exported["bookmarks"]] == [item]
        erased = await records.forget(uow, member.person_id)
        await uow.commit()
    assert erased["bookmarks"] == 1
    async with harness.app.uow_factory() as uow:
        assert await uow.repo(BookmarkRepository).count(demo.id, member.person_id) == 0
