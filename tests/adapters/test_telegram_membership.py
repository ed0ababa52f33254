"""A moderator command sent privately asks Telegram (getChatMember, over HTTP to the fake Bot
API) whether the sender is still in the group: Telegram tells a bot of a removal only when it
is an administrator, and never while it is offline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from facilitator.domain.model import Platform, Role
from facilitator.features.knowledge.domain import ItemStatus
from facilitator.features.knowledge.ports import KnowledgeRepository
from tests.adapters.fakes.telegram_api import (
    FakeTelegramAPI,
    callback_query_update,
    chat_member_dict,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import (
    BOT_ID,
    BOT_USERNAME,
    TelegramHarness,
    member_update,
    telegram_harness,
)
from tests.conftest import FrozenClock

GROUP = supergroup_chat(-1001700, "Water network")
ADA = user(111, "Ada", language_code="en")  # created the group and added the bot
MO = user(555, "Mo", language_code="es")  # made a moderator with /role
ROOT = user(777, "Root", language_code="en")  # an installation admin
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)
KEY = f"telegram:{GROUP['id']}"


async def _group(tg: TelegramHarness) -> TelegramHarness:
    tg.api.add_chat(GROUP)
    tg.api.set_chat_member(GROUP["id"], chat_member_dict(ADA, "creator"))
    for member in (MO, ROOT):
        tg.api.set_chat_member(GROUP["id"], chat_member_dict(member))
    await tg.poll(
        member_update(
            "my_chat_member", GROUP, ADA, chat_member_dict(ME, "left"), chat_member_dict(ME)
        )
    )
    for member in (MO, ROOT):
        await tg.poll(text_update("hola", from_user=member, chat=GROUP))
    await tg.app.roles.grant(Platform.TELEGRAM, str(MO["id"]), Role.MODERATOR, KEY)
    return tg


@pytest_asyncio.fixture
async def tg(tg: TelegramHarness) -> TelegramHarness:
    """Answers kept a minute, as in production."""
    return await _group(tg)


@pytest_asyncio.fixture
async def uncached(
    fake_telegram: FakeTelegramAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[TelegramHarness]:
    """Every check asks Telegram; FACILITATOR_ADMINS names Root."""
    async with telegram_harness(
        fake_telegram,
        tmp_path,
        clock,
        membership_check_seconds=0,
        admins=f"telegram:{ROOT['id']}",
    ) as harness:
        yield await _group(harness)


def _privately(who: dict[str, Any], text: str) -> dict[str, Any]:
    return text_update(text, from_user=who, chat=private_chat(who))


async def _membership(tg: TelegramHarness, who: dict[str, Any]) -> tuple[Role, bool]:
    async with tg.app.uow_factory() as uow:
        community = await uow.communities.by_key(KEY)
        member = await uow.members.identity(Platform.TELEGRAM, str(who["id"]))
        assert community is not None and member is not None
        found = await uow.members.membership(member.person_id, community.id)
    assert found is not None
    return found.role, found.left_at is None


def _asked(tg: TelegramHarness, who: dict[str, Any]) -> int:
    return sum(
        1
        for call in tg.api.calls_to("getChatMember")
        if int(call.params["user_id"]) == who["id"] and int(call.params["chat_id"]) == GROUP["id"]
    )


async def test_a_moderator_telegram_says_has_left_is_refused_and_the_membership_closed(
    uncached: TelegramHarness,
) -> None:
    tg = uncached
    await tg.poll(_privately(MO, "/members"))
    assert tg.sent_texts(MO["id"])[-1].startswith("3 ")  # still in: the listing
    assert _asked(tg, MO) == 1

    # Removed while the bot was offline: no update, the database still says moderator.
    tg.api.set_chat_member(GROUP["id"], chat_member_dict(MO, "kicked"))
    assert await _membership(tg, MO) == (Role.MODERATOR, True)
    await tg.poll(_privately(MO, "/members"))

    assert tg.sent_texts(MO["id"])[-1] == (
        "Ya no estás en Water network, así que sus comandos de moderación ya no te "
        "corresponden. Si vuelves a unirte, alguien de la moderación puede volver a darte un rol."
    )
    assert await _membership(tg, MO) == (Role.MEMBER, False)
    await tg.poll(_privately(MO, "/outbox"))
    assert tg.sent_texts(MO["id"])[-1].startswith("Lo siento, /outbox")  # now plainly refused
    assert _asked(tg, MO) == 2


async def test_telegram_not_answering_refuses_the_command_politely_and_changes_nothing(
    uncached: TelegramHarness,
) -> None:
    tg = uncached
    tg.api.fail_next("getChatMember", 500, "Internal Server Error")
    await tg.poll(_privately(MO, "/members"))

    assert tg.sent_texts(MO["id"])[-1] == (
        "No pude comprobar en este momento que sigues en el grupo. "
        "Vuelve a intentarlo en un minuto."
    )
    assert await _membership(tg, MO) == (Role.MODERATOR, True)


async def test_an_installation_admin_is_not_asked_about(uncached: TelegramHarness) -> None:
    tg = uncached
    tg.api.set_chat_member(GROUP["id"], chat_member_dict(ROOT, "left"))
    await tg.poll(_privately(ROOT, "/members"))

    assert tg.sent_texts(ROOT["id"])[-1].startswith("3 ")
    assert _asked(tg, ROOT) == 0


async def test_a_members_command_asks_nothing_and_answers_are_kept_a_minute(
    tg: TelegramHarness,
) -> None:
    await tg.poll(_privately(ADA, "/whoami"))
    assert _asked(tg, ADA) == 0  # not a privileged command
    await tg.poll(_privately(MO, "/members"), _privately(MO, "/gaps"))
    assert _asked(tg, MO) == 1


async def test_a_privileged_button_pressed_privately_asks_telegram_too(
    uncached: TelegramHarness,
) -> None:
    """Approving a proposal from the private notice's button: a moderator Telegram says was
    removed is refused, the item stays proposed and the membership is closed."""
    tg = uncached
    carla = user(888, "Carla", language_code="en")
    await tg.poll(
        text_update("/share https://example.org/guide A guide", from_user=carla, chat=GROUP)
    )
    async with tg.app.uow_factory() as uow:
        community = await uow.communities.by_key(KEY)
        assert community is not None
        [draft] = await uow.repo(KnowledgeRepository).in_scope(community.id, [ItemStatus.PROPOSED])
    tg.api.set_chat_member(GROUP["id"], chat_member_dict(MO, "kicked"))
    notice = {"message_id": 9, "chat": private_chat(MO), "date": 1, "text": "A proposal"}
    await tg.poll(callback_query_update(f"kb_approve|{draft.id}", message=notice, from_user=MO))

    said = tg.sent_texts(MO["id"])
    assert any(text.startswith("Ya no estás en Water network") for text in said)
    assert await _membership(tg, MO) == (Role.MEMBER, False)
    async with tg.app.uow_factory() as uow:
        still = await uow.repo(KnowledgeRepository).get(draft.id)
    assert still is not None and still.status is ItemStatus.PROPOSED
    assert _asked(tg, MO) == 1


async def test_a_join_the_platform_reports_replaces_a_kept_answer(tg: TelegramHarness) -> None:
    """Answers are kept a minute; when Telegram says the person is back, the kept "not a
    member" is dropped, so a moderator named again is not refused by a stale answer."""
    tg.api.set_chat_member(GROUP["id"], chat_member_dict(MO, "kicked"))
    await tg.poll(_privately(MO, "/members"))
    assert tg.sent_texts(MO["id"])[-1].startswith("Ya no estás en Water network")

    tg.api.set_chat_member(GROUP["id"], chat_member_dict(MO))
    rejoined = member_update(
        "chat_member", GROUP, MO, chat_member_dict(MO, "left"), chat_member_dict(MO)
    )
    await tg.poll(rejoined)
    await tg.app.roles.grant(Platform.TELEGRAM, str(MO["id"]), Role.MODERATOR, KEY)
    await tg.poll(_privately(MO, "/members"))

    assert tg.sent_texts(MO["id"])[-1].startswith("3 ")
    assert _asked(tg, MO) == 2
