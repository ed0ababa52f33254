"""Decoding stored updates into core events, with PTB parsing each update on its own."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from telegram import Bot

from adapters.telegram.adapter import quiet_token_loggers
from adapters.telegram.decoder import AdminDirectory
from facilitator.domain.errors import UndecodablePayload
from facilitator.domain.events import (
    BotAdded,
    BotRemoved,
    ButtonPressed,
    CommandInvoked,
    ConversationMoved,
    InboundEvent,
    MemberJoined,
    MemberLeft,
    MessageReceived,
    PollVoteCast,
    ReactionChanged,
)
from tests.adapters.fakes.telegram_api import (
    DEFAULT_TOKEN,
    FakeTelegramAPI,
    ManualClock,
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
)

ADA = user(111, "Ada", last_name="Lovelace", username="ada", language_code="pt-BR")
BEA = user(222, "Bea", language_code="es")
GROUP = supergroup_chat(-1001234567890, "Learning <b>Circle</b>")
FORUM = supergroup_chat(-1009999, "Forum", is_forum=True)
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)


async def _decode(tg: TelegramHarness, update: Mapping[str, Any]) -> Sequence[InboundEvent]:
    data = {"update_id": 700, **update}
    for key in ("message", "edited_message"):
        if key in data and "message_id" not in data[key]:
            data[key] = {"message_id": 31, **data[key]}
    return await tg.adapter.decoder.decode(json.dumps(data))


async def test_a_group_message_carries_who_where_and_the_locale_hint(tg: TelegramHarness) -> None:
    [event] = await _decode(tg, text_update("Hello all", from_user=ADA, chat=GROUP, date=1000))

    assert isinstance(event, MessageReceived)
    origin = event.origin
    assert (origin.chat_id, origin.chat_title, origin.is_direct) == (
        "-1001234567890",
        "Learning <b>Circle</b>",
        False,
    )
    assert (origin.user.user_id, origin.user.display_name) == ("111", "Ada Lovelace")
    assert (origin.user.locale_hint, origin.user.is_bot) == ("pt-BR", False)
    assert origin.event_id == "chat:-1001234567890:msg:31"
    assert origin.message_id == "31" and origin.thread_id is None
    assert (event.text, event.is_edit, event.mentions_bot, event.reply_to) == (
        "Hello all",
        False,
        False,
        None,
    )
    assert tg.api.calls_to("getChatAdministrators") == []  # only commands need the role


@pytest.mark.parametrize("text", ["/help", f"/help@{BOT_USERNAME}", "/HELP@Facilitator_Test_Bot"])
async def test_commands_with_or_without_the_bot_name_are_commands(
    tg: TelegramHarness, text: str
) -> None:
    [event] = await _decode(tg, text_update(text + " me", from_user=ADA, chat=GROUP))

    assert isinstance(event, CommandInvoked)
    assert (event.name, event.args) == ("help", "me")


async def test_a_command_for_another_bot_is_ignored(tg: TelegramHarness) -> None:
    assert await _decode(tg, text_update("/help@other_bot", from_user=ADA, chat=GROUP)) == []


async def test_group_admins_are_known_for_commands_and_the_lookup_is_cached(
    tg: TelegramHarness,
) -> None:
    tg.api.add_chat(GROUP)
    tg.api.set_chat_member(GROUP["id"], chat_member_dict(ADA, "administrator"))

    [by_admin] = await _decode(tg, text_update("/members", from_user=ADA, chat=GROUP))
    [by_member] = await _decode(tg, text_update("/members", from_user=BEA, chat=GROUP))
    promoted = member_update(
        "chat_member",
        GROUP,
        ADA,
        chat_member_dict(BEA),
        chat_member_dict(BEA, "administrator"),
    )
    tg.api.set_chat_member(GROUP["id"], chat_member_dict(BEA, "administrator"))
    assert await _decode(tg, promoted) == []  # not a join: nothing for the core
    [after_promotion] = await _decode(tg, text_update("/members", from_user=BEA, chat=GROUP))

    assert by_admin.origin.user.is_platform_admin
    assert not by_member.origin.user.is_platform_admin
    assert after_promotion.origin.user.is_platform_admin
    assert len(tg.api.calls_to("getChatAdministrators")) == 2  # cached, then dropped once


async def test_group_admins_are_asked_again_after_five_minutes_and_sooner_after_a_failure(
    fake_telegram: FakeTelegramAPI,
) -> None:
    fake_telegram.add_chat(GROUP)
    fake_telegram.set_chat_member(GROUP["id"], chat_member_dict(ADA, "administrator"))
    clock = ManualClock()
    quiet_token_loggers()  # the adapter does this when it builds its bot
    async with Bot(DEFAULT_TOKEN, base_url=fake_telegram.base_url) as bot:
        admins = AdminDirectory(bot, ttl_seconds=300.0, clock=clock)
        seen = [await admins.is_admin(GROUP["id"], ADA["id"])]
        clock.advance(299)
        seen.append(await admins.is_admin(GROUP["id"], ADA["id"]))  # still cached
        clock.advance(1)
        fake_telegram.fail_next("getChatAdministrators", 500)
        seen.append(await admins.is_admin(GROUP["id"], ADA["id"]))  # unknown: not admin
        clock.advance(29)
        seen.append(await admins.is_admin(GROUP["id"], ADA["id"]))  # the failure is cached
        clock.advance(1)
        seen.append(await admins.is_admin(GROUP["id"], ADA["id"]))

    assert seen == [True, True, False, False, True]
    statuses = [c.status for c in fake_telegram.calls_to("getChatAdministrators")]
    assert statuses == [200, 500, 200]


async def test_captions_files_replies_and_topics(tg: TelegramHarness) -> None:
    photo = text_update("x", from_user=ADA, chat=FORUM, message_thread_id=5)
    message = photo["message"]
    del message["text"]
    message.update(
        caption=f"See https://example.org @{BOT_USERNAME}",
        photo=[{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}],
        reply_to_message={
            "message_id": 5,
            "date": 1,
            "chat": FORUM,
            "from": ADA,
            "forum_topic_created": {"name": "Week 1", "icon_color": 0},
        },
    )
    reply_to_bot = text_update("thanks", from_user=BEA, chat=GROUP)
    reply_to_bot["message"]["reply_to_message"] = {
        "message_id": 9,
        "date": 1,
        "chat": GROUP,
        "from": ME,
        "text": "welcome",
    }
    sticker_only = text_update("x", from_user=BEA, chat=GROUP)
    del sticker_only["message"]["text"]
    sticker_only["message"]["location"] = {"latitude": 1.0, "longitude": 2.0}

    [captioned] = await _decode(tg, photo)
    [reply] = await _decode(tg, reply_to_bot)
    [located] = await _decode(tg, sticker_only)

    assert isinstance(captioned, MessageReceived)
    assert captioned.text.startswith("See https://")
    assert captioned.has_file and captioned.has_link and captioned.mentions_bot
    assert captioned.reply_to is None  # the topic's first message is not a reply
    assert captioned.origin.thread_id == "5"
    assert isinstance(reply, MessageReceived) and reply.reply_to is not None
    assert (reply.reply_to.message_id, reply.reply_to.user_id) == ("9", str(BOT_ID))
    assert reply.reply_to.is_bot and reply.mentions_bot
    assert isinstance(located, MessageReceived) and located.text == ""


async def test_an_edit_is_marked_and_has_its_own_event_id(tg: TelegramHarness) -> None:
    update = text_update("/help fixed", from_user=ADA, chat=GROUP, edited=True, date=50)

    [event] = await _decode(tg, update)

    assert isinstance(event, MessageReceived) and event.is_edit  # never a command again
    assert event.origin.event_id == "chat:-1001234567890:msg:31:edit:50"


async def test_a_join_has_one_event_id_whether_told_by_service_message_or_chat_member(
    tg: TelegramHarness,
) -> None:
    by_message = service_message(GROUP, BEA, date=77, new_chat_members=[BEA, ME])
    by_member = member_update(
        "chat_member", GROUP, BEA, chat_member_dict(BEA, "left"), chat_member_dict(BEA), date=77
    )

    [from_message] = await _decode(tg, by_message)  # the bot itself is left to my_chat_member
    [from_member] = await _decode(tg, by_member)

    assert isinstance(from_message, MemberJoined) and isinstance(from_member, MemberJoined)
    assert from_message.origin.event_id == from_member.origin.event_id
    assert from_message.origin.event_id == "chat:-1001234567890:join:222:77"
    assert from_member.member.locale_hint == "es"


async def test_leaving_by_service_message_or_chat_member(tg: TelegramHarness) -> None:
    by_message = service_message(GROUP, BEA, date=80, left_chat_member=BEA)
    kicked = member_update(
        "chat_member", GROUP, ADA, chat_member_dict(BEA), chat_member_dict(BEA, "kicked")
    )

    [left] = await _decode(tg, by_message)
    [removed] = await _decode(tg, kicked)

    assert isinstance(left, MemberLeft) and left.member.user_id == "222"
    assert isinstance(removed, MemberLeft) and removed.origin.user.user_id == "111"


async def test_the_bot_added_removed_or_promoted(tg: TelegramHarness) -> None:
    def bot_change(old: str, new: str, chat: Mapping[str, Any] = GROUP) -> dict[str, Any]:
        return member_update(
            "my_chat_member", chat, ADA, chat_member_dict(ME, old), chat_member_dict(ME, new)
        )

    [as_member] = await _decode(tg, bot_change("left", "member"))
    [as_admin] = await _decode(tg, bot_change("left", "administrator", group_chat()))
    [removed] = await _decode(tg, bot_change("member", "left"))
    promoted = await _decode(tg, bot_change("member", "administrator"))
    blocked_in_private = await _decode(tg, bot_change("member", "kicked", private_chat(ADA)))

    assert isinstance(as_member, BotAdded) and as_member.can_read_all_messages is False
    assert as_member.origin.user.user_id == "111"  # who added it
    assert isinstance(as_admin, BotAdded) and as_admin.can_read_all_messages is True
    assert isinstance(removed, BotRemoved)
    assert promoted == [] and blocked_in_private == []


async def test_a_button_press_carries_action_value_and_the_message(tg: TelegramHarness) -> None:
    tg.api.add_chat(GROUP)
    shown = {"message_id": 12, "date": 1, "chat": GROUP, "from": ME, "text": "Vote"}
    inline = callback_query_update("vote|b", message=shown, from_user=BEA)
    del inline["callback_query"]["message"]
    inline["callback_query"]["inline_message_id"] = "abc"

    [pressed] = await _decode(tg, callback_query_update("vote|b", message=shown, from_user=BEA))

    assert isinstance(pressed, ButtonPressed)
    assert (pressed.action, pressed.value) == ("vote", "b")
    assert pressed.origin.message_id == "12" and pressed.origin.chat_id == str(GROUP["id"])
    assert pressed.origin.event_id == "callback:4382bfdwdsb323b2d9"
    assert pressed.origin.occurred_at == tg.clock.now()
    assert await _decode(tg, inline) == []


async def test_a_poll_answer_is_attributed_to_the_voters_private_chat(
    tg: TelegramHarness,
) -> None:
    [vote] = await _decode(tg, poll_answer("5834976086823272001", BEA, [0, 2]))

    assert isinstance(vote, PollVoteCast)
    assert (vote.poll_ref, vote.option_ids) == ("5834976086823272001", (0, 2))
    assert vote.origin.is_direct and vote.origin.chat_id == "222"
    assert vote.origin.event_id == "poll:5834976086823272001:voter:222"


async def test_reactions_added_and_removed(tg: TelegramHarness) -> None:
    events = await _decode(tg, reaction_update(GROUP, BEA, 31, old=["👍"], new=["🔥"]))

    assert sorted((e.emoji, e.added) for e in events if isinstance(e, ReactionChanged)) == [
        ("👍", False),
        ("🔥", True),
    ]
    assert len({e.origin.event_id for e in events}) == 2


async def test_a_group_becoming_a_supergroup_moves_the_conversation(tg: TelegramHarness) -> None:
    old = group_chat(-4001)
    moved = service_message(old, ADA, migrate_to_chat_id=GROUP["id"])
    arrived = service_message(GROUP, ADA, migrate_from_chat_id=-4001)

    [event] = await _decode(tg, moved)

    assert isinstance(event, ConversationMoved)
    assert (event.origin.chat_id, event.new_chat_id) == ("-4001", str(GROUP["id"]))
    assert await _decode(tg, arrived) == []


async def test_other_bots_are_marked_as_bots(tg: TelegramHarness) -> None:
    other = user(555, "Helper", username="helper_bot", is_bot=True)

    [event] = await _decode(tg, text_update("beep", from_user=other, chat=GROUP))

    assert event.origin.user.is_bot


async def test_messages_on_behalf_of_a_chat_are_not_attributed_to_anyone(
    tg: TelegramHarness,
) -> None:
    anonymous_admin = text_update("/members", from_user=user(1087968824, "Group", is_bot=True))
    anonymous_admin["message"].update(chat=GROUP, sender_chat=GROUP)
    channel = {"id": -1002000, "type": "channel", "title": "News"}
    forwarded = text_update("news", from_user=user(777000, "Telegram"), chat=GROUP)
    forwarded["message"].update(sender_chat=channel, is_automatic_forward=True)

    assert await _decode(tg, anonymous_admin) == []
    assert await _decode(tg, forwarded) == []


@pytest.mark.parametrize(
    "update",
    [
        {"inline_query": {"id": "1", "from": ADA, "query": "q", "offset": ""}},
        {"channel_post": {"message_id": 1, "date": 1, "chat": {"id": -100, "type": "channel"}}},
        {
            "message": {
                "message_id": 2,
                "date": 1,
                "chat": GROUP,
                "from": ADA,
                "pinned_message": {"message_id": 1, "date": 0, "chat": GROUP},
            }
        },
        {"some_future_update": {"anything": True}},
    ],
)
async def test_updates_the_bot_does_not_use_decode_to_nothing(
    tg: TelegramHarness, update: dict[str, Any]
) -> None:
    assert await _decode(tg, update) == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"update_id": 1, "message": {"chat": {"id": 1}}}', "cannot parse"),
        ('{"message": {}}', "cannot parse"),
    ],
)
async def test_payloads_ptb_cannot_parse_are_undecodable(
    tg: TelegramHarness, payload: str, reason: str
) -> None:
    with pytest.raises(UndecodablePayload, match=reason):
        await tg.adapter.decoder.decode(payload)
