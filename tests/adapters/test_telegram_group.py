"""A group's life end to end: updates polled from the fake Bot API, the real core, the replies
the fake recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest_asyncio

from facilitator.domain.model import Community, ParticipationKind, Platform
from tests.adapters.fakes.telegram_api import (
    FakeTelegramAPI,
    callback_query_update,
    chat_member_dict,
    group_chat,
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
    poll_answer,
    reaction_update,
    service_message,
    telegram_harness,
)
from tests.conftest import FrozenClock

GROUP = supergroup_chat(-1001500, "Knowledge <Exchange>", is_forum=True)
ADA = user(111, "Ada", language_code="en")  # created the group and adds the bot: a moderator
BEA = user(222, "Bea", language_code="en")
CARL = user(333, "Carl", language_code="en")  # a Telegram admin of the group
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)
TOPIC = 7


@pytest_asyncio.fixture
async def tg(tg: TelegramHarness) -> TelegramHarness:
    """The shared harness, with the bot added to the group by its creator (Carl administers
    it too)."""
    tg.api.add_chat(GROUP)
    tg.api.set_chat_member(GROUP["id"], chat_member_dict(ADA, "creator"))
    tg.api.set_chat_member(GROUP["id"], chat_member_dict(CARL, "administrator"))
    await tg.poll(_bot_added())
    return tg


def _bot_added(chat: dict[str, Any] = GROUP) -> dict[str, Any]:
    return member_update(
        "my_chat_member", chat, ADA, chat_member_dict(ME, "left"), chat_member_dict(ME)
    )


def _say(who: dict[str, Any], text: str, **fields: Any) -> dict[str, Any]:
    return text_update(text, from_user=who, chat=GROUP, **fields)


def _plain(tg: TelegramHarness, key: str, **values: object) -> str:
    return tg.app.services.catalogue.render("en", key, **values).plain()


async def _community(tg: TelegramHarness, chat_id: int = GROUP["id"]) -> Community | None:
    async with tg.app.uow_factory() as uow:
        return await uow.communities.by_chat(Platform.TELEGRAM, str(chat_id))


async def _ledger(tg: TelegramHarness, kind: ParticipationKind) -> int:
    community = await _community(tg)
    assert community is not None
    async with tg.app.uow_factory() as uow:
        return await uow.ledger.count(community.id, kind)


async def test_adding_the_bot_registers_the_group_and_explains_privacy_mode(
    tg: TelegramHarness,
) -> None:
    community = await _community(tg)

    assert community is not None and community.title == "Knowledge <Exchange>"
    assert tg.sent_texts(GROUP["id"]) == [
        _plain(tg, "core.added.hello", community="Knowledge <Exchange>", name="Ada"),
        _plain(tg, "core.added.privacy_mode"),
    ]
    [hello] = [c for c in tg.api.calls_to("sendMessage")][:1]
    assert "Knowledge &lt;Exchange&gt;" in hello.params["text"]  # escaped in the HTML


async def test_adding_the_bot_as_an_admin_skips_the_privacy_hint(
    fake_telegram: FakeTelegramAPI, tmp_path: Path, clock: FrozenClock
) -> None:
    chat = group_chat(-4321, "Admins")
    added = member_update(
        "my_chat_member",
        chat,
        ADA,
        chat_member_dict(ME, "left"),
        chat_member_dict(ME, "administrator"),
    )
    async with telegram_harness(fake_telegram, tmp_path, clock) as tg:
        await tg.poll(added)

        assert len(tg.sent_texts(chat["id"])) == 1


async def test_a_newcomer_is_welcomed_once_though_telegram_tells_twice(
    tg: TelegramHarness,
) -> None:
    joined = member_update(
        "chat_member", GROUP, BEA, chat_member_dict(BEA, "left"), chat_member_dict(BEA), date=900
    )
    service = service_message(GROUP, BEA, date=900, new_chat_members=[BEA])

    await tg.poll(joined, service)
    await tg.poll(service_message(GROUP, BEA, date=900, new_chat_members=[BEA]))

    welcome = _plain(tg, "core.welcome", name="Bea", community="Knowledge <Exchange>")
    assert tg.sent_texts(GROUP["id"]).count(welcome) == 1
    assert await _ledger(tg, ParticipationKind.MEMBER_JOINED) == 1


async def test_help_is_answered_in_the_topic_it_was_asked_in(tg: TelegramHarness) -> None:
    tg.api.calls.clear()

    await tg.poll(
        _say(BEA, "/help", message_thread_id=TOPIC),
        _say(BEA, f"/help@{BOT_USERNAME}", message_thread_id=TOPIC),
        _say(BEA, "/help@someone_else_bot", message_thread_id=TOPIC),
    )

    calls = [c for c in tg.api.calls_to("sendMessage") if c.ok]
    assert len(calls) == 2
    assert all(c.params["message_thread_id"] == TOPIC for c in calls)
    assert all(
        c.result["text"].startswith("What you can do here (your role: member)") for c in calls
    )
    assert "/members" not in calls[0].result["text"]


async def test_help_on_a_topic_in_the_group_links_to_the_private_chat(
    tg: TelegramHarness,
) -> None:
    tg.api.calls.clear()

    await tg.poll(_say(ADA, "/help moderación", message_id=70))

    [call] = [c for c in tg.api.calls_to("sendMessage") if c.ok]
    assert call.params["chat_id"] == GROUP["id"]
    assert call.result["text"] == _plain(tg, "core.help.in_private", topic="Moderation")
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [
                {
                    "text": "Open the list",
                    "url": f"https://t.me/{BOT_USERNAME}?start=help_moderation",
                }
            ]
        ]
    }


async def test_the_help_link_opens_the_list_in_the_private_chat(tg: TelegramHarness) -> None:
    tg.api.calls.clear()

    await tg.poll(text_update("/start help_moderation", from_user=ADA, chat=private_chat(ADA)))
    await tg.poll(text_update("/start help", from_user=BEA, chat=private_chat(BEA)))

    [listing] = tg.sent_texts(ADA["id"])
    [short] = tg.sent_texts(BEA["id"])
    assert listing.startswith("Moderation (your role: moderator)")
    assert "/doc add" in listing and "/members" in listing
    assert short.startswith("What you can do here (your role: member)")
    assert len(short.splitlines()) <= 12
    assert tg.sent_texts(GROUP["id"]) == []


async def test_a_pressed_button_is_answered_and_reaches_the_core(tg: TelegramHarness) -> None:
    shown = next(c.result for c in tg.api.calls_to("sendMessage") if c.ok)
    press = callback_query_update("retired_action|42", message=shown, from_user=BEA)

    await tg.poll(press)

    [answer] = tg.api.calls_to("answerCallbackQuery")
    assert answer.ok
    stale = _plain(tg, "errors.stale_button")
    [reply] = [c for c in tg.api.calls_to("sendMessage") if c.ok and c.result["text"] == stale]
    # Meant for Bea only: Telegram has no such message, so it quotes the message pressed on.
    assert reply.params["reply_parameters"]["message_id"] == shown["message_id"]


async def test_a_poll_vote_is_recorded_once_per_poll_and_person(tg: TelegramHarness) -> None:
    await tg.poll(_say(BEA, "hello everyone"))  # Bea is now a member of the group

    await tg.poll(poll_answer("5834976086823272001", BEA, [1]))
    await tg.poll(poll_answer("5834976086823272001", BEA, [0]))  # changed her vote

    assert await _ledger(tg, ParticipationKind.POLL_VOTE) == 1
    assert await _ledger(tg, ParticipationKind.MESSAGE_POSTED) == 1


async def test_a_moderator_command_is_refused_to_a_member_and_allowed_to_a_group_admin(
    tg: TelegramHarness,
) -> None:
    tg.api.calls.clear()

    await tg.poll(_say(BEA, "/members"))
    await tg.poll(_say(CARL, "/members"))

    refusal, listing = [c for c in tg.api.calls_to("sendMessage") if c.ok]
    assert refusal.result["text"] == _plain(
        tg, "errors.not_allowed", command="members", role="moderator", yours="member"
    )
    assert refusal.params["reply_parameters"]["message_id"] > 0  # quotes Bea's command
    assert "Carl" in listing.result["text"]


async def test_edits_and_other_bots_are_not_counted_and_reactions_are(tg: TelegramHarness) -> None:
    helper = user(555, "Helper", username="helper_bot", is_bot=True)
    tg.api.calls.clear()

    await tg.poll(_say(BEA, "my first post", message_id=50, date=10))
    await tg.poll(_say(BEA, "my first post, fixed", message_id=50, date=10, edited=True))
    await tg.poll(_say(BEA, "/help", message_id=51, date=11, edited=True))
    await tg.poll(_say(helper, "/help"))
    await tg.poll(reaction_update(GROUP, BEA, 50, old=[], new=["👍"]))

    assert await _ledger(tg, ParticipationKind.MESSAGE_POSTED) == 1
    assert await _ledger(tg, ParticipationKind.REACTION_GIVEN) == 1
    assert tg.api.calls_to("sendMessage") == []


async def test_a_faq_added_by_a_moderator_answers_a_members_question(tg: TelegramHarness) -> None:
    await tg.poll(
        _say(ADA, '/faq add "How do I join a webinar?" "Use the link in the #events topic."')
    )
    tg.api.calls.clear()

    await tg.poll(_say(BEA, "/faq how do I join a webinar", message_thread_id=TOPIC))

    sent = [c for c in tg.api.calls_to("sendMessage") if c.ok]
    answers = [c for c in sent if "Use the link in the #events topic." in c.result["text"]]
    assert len(answers) == 1, [c.result["text"] for c in sent]
    assert answers[0].params["message_thread_id"] == TOPIC


async def test_a_group_that_becomes_a_supergroup_keeps_its_community(
    fake_telegram: FakeTelegramAPI, tmp_path: Path, clock: FrozenClock
) -> None:
    old = group_chat(-4001, "Study group")
    new = supergroup_chat(-1004001, "Study group")
    async with telegram_harness(fake_telegram, tmp_path, clock) as tg:
        await tg.poll(_bot_added(old))
        await tg.poll(
            service_message(old, ADA, migrate_to_chat_id=new["id"]),
            service_message(new, ADA, migrate_from_chat_id=old["id"]),
            text_update("/help", from_user=BEA, chat=new),
        )

        assert await _community(tg, old["id"]) is None
        moved = await _community(tg, new["id"])
        assert moved is not None and moved.title == "Study group"
        assert len(tg.sent_texts(new["id"])) == 1


async def test_commands_work_in_a_private_chat_too(tg: TelegramHarness) -> None:
    await tg.poll(text_update("/whoami", from_user=BEA, chat=private_chat(BEA)))

    [reply] = tg.sent_texts(BEA["id"])
    assert reply.startswith("You are Bea")
