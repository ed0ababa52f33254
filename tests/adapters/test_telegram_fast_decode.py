"""The Telegram decoder's fast path (plain messages read straight from the JSON) against PTB's.

PTB is the authority: each update is decoded by a decoder that parses everything with PTB
(`fast=False`) and by one that takes the fast path where it can, each with its own bot
identity and admin cache against the fake Bot API. The events (or the error), and the Bot API
calls each made on the way (getMe, getChatAdministrators), must be the same; the tests also
check which updates took the fast path, so that none passes by never taking it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from telegram import Bot
from telegram.ext import Defaults, ExtBot

from adapters.telegram.adapter import quiet_token_loggers
from adapters.telegram.decoder import AdminDirectory, BotIdentity, TelegramDecoder
from facilitator.domain.events import CommandInvoked, FileRef, MessageReceived
from tests.adapters.fakes import payloads_dir
from tests.adapters.fakes.telegram_api import (
    DEFAULT_TOKEN,
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
    member_update,
    poll_answer,
    reaction_update,
    service_message,
)
from tests.adapters.test_telegram_batches import conversation
from tests.conftest import FrozenClock

PAYLOADS = payloads_dir() / "telegram"

ADA = user(111, "Ada", last_name="Lovelace", username="ada", language_code="pt-BR")
BEA = user(222, "Bea", language_code="es")
LEO = user(333, "Léo 🙂", last_name="", language_code=None)
HELPER = user(555, "Helper", username="helper_bot", is_bot=True)
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)
GROUP = supergroup_chat(-1001234567890, "Learning <b>Circle</b>")
BASIC = group_chat(-4001, "Study group")
FORUM = supergroup_chat(-1009999, "Forum", is_forum=True)
CHATS = (GROUP, BASIC, FORUM, private_chat(ADA), private_chat(LEO))


Outcome = tuple[str, str]


async def _outcome(decoder: TelegramDecoder, payload: str) -> Outcome:
    try:
        events = await decoder.decode(payload)
    except Exception as error:  # noqa: BLE001 - the PTB path's error is the expected one
        return ("error", f"{type(error).__name__}: {error}")
    return ("events", repr(list(events)))  # repr: time zones and types show, not only ==


@dataclass
class Pair:
    """A decoder with the fast path and one without, on their own caches, one fake Bot API."""

    api: FakeTelegramAPI
    fast: TelegramDecoder
    slow: TelegramDecoder

    async def compare(self, update: Mapping[str, Any] | str) -> bool:
        """Decode with both; assert the same outcome and calls. True if the fast path was taken."""
        payload = update if isinstance(update, str) else json.dumps(update, ensure_ascii=False)
        start = len(self.api.calls)
        expected = await _outcome(self.slow, payload)
        middle = len(self.api.calls)
        before = self.fast.fast_decoded
        actual = await _outcome(self.fast, payload)
        calls = [(c.method, c.params) for c in self.api.calls]
        assert actual == expected, payload
        assert calls[middle:] == calls[start:middle], payload
        return self.fast.fast_decoded > before

    async def events(self, update: Mapping[str, Any]) -> list[Any]:
        return list(await self.fast.decode(json.dumps(update, ensure_ascii=False)))


def _bot(api: FakeTelegramAPI, defaults: Defaults | None = None) -> Bot:
    quiet_token_loggers()  # as the adapter does: PTB logs its URLs, token included, at DEBUG
    if defaults is not None:
        return ExtBot(DEFAULT_TOKEN, base_url=api.base_url, defaults=defaults)
    return Bot(DEFAULT_TOKEN, base_url=api.base_url, base_file_url=api.base_file_url)


def _decoders(bot: Bot, clock: FrozenClock) -> tuple[TelegramDecoder, TelegramDecoder]:
    def one(fast: bool) -> TelegramDecoder:
        return TelegramDecoder(bot, BotIdentity(bot), AdminDirectory(bot), clock, fast=fast)

    return one(True), one(False)


@pytest_asyncio.fixture
async def pair(fake_telegram: FakeTelegramAPI, clock: FrozenClock) -> AsyncIterator[Pair]:
    api = fake_telegram
    for chat in (GROUP, BASIC, FORUM):
        api.add_chat(chat)
        api.set_chat_member(chat["id"], chat_member_dict(ADA, "administrator"))
        api.set_chat_member(chat["id"], chat_member_dict(BEA))
    async with _bot(api) as bot:
        fast, slow = _decoders(bot, clock)
        yield Pair(api, fast, slow)


# -- updates -------------------------------------------------------------------------------------


def _numbered(update: Mapping[str, Any], update_id: int = 700) -> dict[str, Any]:
    """As test_telegram_decoder's `_decode`: an update id, and a message id where missing."""
    data = {"update_id": update_id, **update}
    for key in ("message", "edited_message"):
        if key in data and "message_id" not in data[key]:
            data[key] = {"message_id": 31, **data[key]}
    return data


def _caption(update: dict[str, Any], caption: str, **files: Any) -> dict[str, Any]:
    message = update["message"] if "message" in update else update["edited_message"]
    del message["text"]
    message.update(caption=caption, **files)
    return update


PHOTO = [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]
DOCUMENT = {"file_id": "d", "file_unique_id": "v", "file_name": "notes.pdf"}
TOPIC_START = {
    "message_id": 5,
    "date": 1,
    "chat": FORUM,
    "from": ADA,
    "forum_topic_created": {"name": "Week 1", "icon_color": 0},
}


def _reply(update: dict[str, Any], replied: Mapping[str, Any]) -> dict[str, Any]:
    update["message"]["reply_to_message"] = dict(replied)
    return update


def _entities(update: dict[str, Any], *entities: Mapping[str, Any]) -> dict[str, Any]:
    update["message"]["entities"] = [dict(e) for e in entities]
    return update


def _plain_updates() -> dict[str, dict[str, Any]]:
    """Updates the fast path must take (and decode as PTB does)."""
    handle = f"@{BOT_USERNAME}"
    hello = "Hi 👩‍💻 𝔘 " + handle.upper() + " see"
    hello_at = len("Hi 👩‍💻 𝔘 ".encode("utf-16-le")) // 2
    return {
        "group message": text_update("Hello all", from_user=ADA, chat=GROUP, date=1000),
        "basic group": text_update("Hello", from_user=LEO, chat=BASIC),
        "private": text_update("hola", from_user=BEA, chat=private_chat(BEA)),
        "command": text_update("/help me", from_user=ADA, chat=GROUP),
        "command by member": text_update("/members", from_user=BEA, chat=GROUP),
        "addressed command": text_update(f"/help@{BOT_USERNAME} x", from_user=BEA, chat=GROUP),
        "addressed in caps": text_update("/HELP@Facilitator_Test_Bot", from_user=ADA, chat=BASIC),
        "another bot's command": text_update("/help@other_bot", from_user=ADA, chat=GROUP),
        "private command": text_update("/start", from_user=LEO, chat=private_chat(LEO)),
        "edit": text_update("/help fixed", from_user=ADA, chat=GROUP, edited=True, date=50),
        "edit at 0": text_update("zero", from_user=ADA, chat=GROUP, edited=True, date=0),
        "date 0": text_update("epoch", from_user=ADA, chat=GROUP, date=0),
        "bot": text_update("beep", from_user=HELPER, chat=GROUP),
        "topic": text_update("in a topic", from_user=BEA, chat=FORUM, message_thread_id=5),
        "topic reply": _reply(
            text_update("t", from_user=BEA, chat=FORUM, message_thread_id=5), TOPIC_START
        ),
        "reply to bot": _reply(
            text_update("thanks", from_user=BEA, chat=GROUP),
            {"message_id": 9, "date": 1, "chat": GROUP, "from": ME, "text": "welcome"},
        ),
        "reply to person": _reply(
            text_update("yes", from_user=BEA, chat=GROUP),
            {
                "message_id": 8,
                "date": 1,
                "edit_date": 2,
                "chat": GROUP,
                "from": ADA,
                "text": "@someone?",
                "entities": [{"type": "mention", "offset": 0, "length": 8}],
            },
        ),
        "reply without author": _reply(
            text_update("what?", from_user=BEA, chat=GROUP),
            {"message_id": 7, "date": 1, "chat": GROUP, "caption": "x", "photo": PHOTO},
        ),
        "photo caption": _caption(
            text_update("x", from_user=ADA, chat=FORUM, message_thread_id=5),
            f"See https://example.org {handle}",
            photo=PHOTO,
        ),
        "document caption": _caption(
            text_update("x", from_user=BEA, chat=GROUP),
            "notes",
            document=DOCUMENT,
            caption_entities=[{"type": "bold", "offset": 0, "length": 5}],
        ),
        "photo alone": _caption(text_update("x", from_user=BEA, chat=GROUP), "", photo=PHOTO),
        "empty photo list": _caption(text_update("x", from_user=BEA, chat=GROUP), "", photo=[]),
        "nothing at all": {
            "message": {"message_id": 3, "date": 5, "chat": GROUP, "from": BEA},
        },
        "mention entity": _entities(
            text_update(hello, from_user=BEA, chat=GROUP),
            {"type": "mention", "offset": hello_at, "length": len(handle)},
        ),
        "text_mention of the bot": _entities(
            text_update("hey you", from_user=BEA, chat=GROUP),
            {"type": "text_mention", "offset": 4, "length": 3, "user": ME},
        ),
        "text_mention of someone": _entities(
            text_update("hey you", from_user=BEA, chat=GROUP),
            {"type": "text_mention", "offset": 4, "length": 3, "user": ADA},
        ),
        "url entity": _entities(
            text_update("see example.org", from_user=BEA, chat=GROUP),
            {"type": "url", "offset": 4, "length": 11},
        ),
        "text_link": _entities(
            text_update("see this", from_user=BEA, chat=GROUP),
            {"type": "text_link", "offset": 4, "length": 4, "url": "https://example.org"},
        ),
        # PTB keys parsed entities by (type, offset, length): the first of equal ones stays.
        "the same entity twice, someone's first": _entities(
            text_update("hey you", from_user=BEA, chat=GROUP),
            {"type": "text_mention", "offset": 4, "length": 3, "user": ADA},
            {"type": "text_mention", "offset": 4, "length": 3, "user": ME},
        ),
        "the same entity twice, the bot's first": _entities(
            text_update("hey you", from_user=BEA, chat=GROUP),
            {"type": "text_mention", "offset": 4, "length": 3, "user": ME},
            {"type": "text_mention", "offset": 4, "length": 3, "user": ADA},
        ),
        "text and caption, one entity in both": {
            "message": {
                # "…botx": no mention but by the entity, whose text the caption's overrides
                **text_update(f"{handle}x hi", from_user=BEA, chat=GROUP)["message"],
                "entities": [{"type": "mention", "offset": 0, "length": len(handle)}],
                "caption": "1234567890123456789012 xyz",
                "caption_entities": [{"type": "mention", "offset": 0, "length": len(handle)}],
            }
        },
        # Half an emoji: PTB's slicing fails (UnicodeDecodeError), and so must the fast path's.
        "mention splitting an emoji": _entities(
            text_update("🙂 hi", from_user=BEA, chat=GROUP),
            {"type": "mention", "offset": 1, "length": 2},
        ),
        "handle without entity": text_update(f"ping {handle}!", from_user=BEA, chat=GROUP),
        "link preview options": {
            "message": {
                **text_update("https://example.org", from_user=BEA, chat=GROUP)["message"],
                "link_preview_options": {"is_disabled": True},
            }
        },
    }


def _ptb_updates() -> dict[str, dict[str, Any] | str]:
    """Updates that must go through PTB (and decode as before)."""
    plain = text_update("Hello", from_user=ADA, chat=GROUP)

    def changed(path: str, key: str, value: Any) -> dict[str, Any]:
        update = json.loads(json.dumps(_numbered(plain)))
        target = update
        for step in path.split(".") if path else []:
            target = target[int(step)] if isinstance(target, list) else target[step]
        target[key] = value
        return update

    replying = _numbered(
        _entities(
            _reply(
                text_update("hey you", from_user=BEA, chat=GROUP),
                {"message_id": 9, "date": 1, "chat": GROUP, "from": ME, "text": "welcome"},
            ),
            {"type": "text_mention", "offset": 4, "length": 3, "user": ME},
        )
    )

    def changed_reply(path: str, key: str, value: Any) -> dict[str, Any]:
        update = json.loads(json.dumps(replying))
        target = update["message"]
        for step in path.split(".") if path else []:
            target = target[int(step)] if isinstance(target, list) else target[step]
        target[key] = value
        return update

    channel = {"id": -1002000, "type": "channel", "title": "News"}
    return {
        # unknown keys, anywhere
        "unknown update key": changed("", "business_message", {"x": 1}),
        "unknown message key": changed("message", "paid_star_count", 3),
        "unknown user key": changed("message.from", "is_verified", True),
        "unknown chat key": changed("message.chat", "is_direct_messages", False),
        "unknown reply key": changed_reply("reply_to_message", "quote", {"text": "w"}),
        "unknown reply user key": changed_reply("reply_to_message.from", "new", 1),
        "unknown reply chat key": changed_reply("reply_to_message.chat", "new", 1),
        "unknown entity key": changed_reply("entities.0", "unix_time", 5),
        "unknown entity user key": changed_reply("entities.0.user", "new", 1),
        # unexpected types
        "text not a string": changed("message", "text", 5),
        "text null": changed("message", "text", None),
        "date a float": changed("message", "date", 1000.5),
        "date a string": changed("message", "date", "1000"),
        "date a bool": changed("message", "date", True),
        "message id a string": changed("message", "message_id", "31"),
        "chat id a string": changed("message.chat", "id", "-100"),
        "user id a bool": changed("message.from", "id", True),
        "is_bot a string": changed("message.from", "is_bot", "false"),
        "empty first name": changed("message.from", "first_name", ""),
        "last name null": changed("message.from", "last_name", None),
        "language null": changed("message.from", "language_code", None),
        "entities an object": changed("message", "entities", {}),
        "entity not an object": changed("message", "entities", [None]),
        "entity offset a string": changed_reply("entities.0", "offset", "4"),
        "update id a string": changed("", "update_id", "700"),
        "date out of range": changed("message", "date", 10**20),
        "reply date out of range": changed_reply("reply_to_message", "date", 10**20),
        "a document PTB refuses": changed("message", "document", {"file_id": "x"}),
        "a photo PTB refuses": changed("message", "photo", [{"file_id": "x"}]),
        "photo not a list": changed("message", "photo", "x"),
        "topic opened, malformed": changed_reply("reply_to_message", "forum_topic_created", {}),
        # missing what PTB requires, and more than one kind
        "no update id": json.dumps({"message": _numbered(plain)["message"]}),
        "no sender": {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": GROUP}},
        "no is_bot": changed("message", "from", {"id": 1, "first_name": "A"}),
        "no chat type": changed("message", "chat", {"id": 1}),
        "both message and edit": changed("", "edited_message", plain["message"]),
        "entities without text": changed("message", "caption_entities", []),
        "mention without text": {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": GROUP,
                "from": BEA,
                "photo": PHOTO,
                "entities": [{"type": "mention", "offset": 0, "length": 2}],
            },
        },
        # what the fast path leaves to PTB on purpose
        "sender chat": changed("message", "sender_chat", GROUP),
        "automatic forward": changed("message", "is_automatic_forward", True),
        "forwarded": changed("message", "forward_origin", {"type": "hidden_user", "date": 1}),
        "channel chat": changed("message", "chat", channel),
        "sticker": changed(
            "message",
            "sticker",
            {
                "file_id": "s",
                "file_unique_id": "s",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            },
        ),
        "location": changed("message", "location", {"latitude": 1.0, "longitude": 2.0}),
        "joined": service_message(GROUP, BEA, date=77, new_chat_members=[BEA, ME]),
        "left": service_message(GROUP, BEA, date=80, left_chat_member=BEA),
        "moved": service_message(BASIC, ADA, migrate_to_chat_id=GROUP["id"]),
        "arrived": service_message(GROUP, ADA, migrate_from_chat_id=-4001),
        "pinned": changed(
            "message", "pinned_message", {"message_id": 1, "date": 0, "chat": GROUP}
        ),
        "topic created": changed("message", "forum_topic_created", {"name": "W", "icon_color": 0}),
        "member joined": member_update(
            "chat_member", GROUP, BEA, chat_member_dict(BEA, "left"), chat_member_dict(BEA)
        ),
        "bot added": member_update(
            "my_chat_member", GROUP, ADA, chat_member_dict(ME, "left"), chat_member_dict(ME)
        ),
        "button": callback_query_update(
            "vote|b",
            message={"message_id": 12, "date": 1, "chat": GROUP, "from": ME, "text": "Vote"},
            from_user=BEA,
        ),
        "poll answer": poll_answer("5834976086823272001", BEA, [0, 2]),
        "reaction": reaction_update(GROUP, BEA, 31, old=["👍"], new=["🔥"]),
        "channel post": {
            "channel_post": {"message_id": 1, "date": 1, "chat": {"id": -100, "type": "channel"}}
        },
        "inline query": {"inline_query": {"id": "1", "from": ADA, "query": "q", "offset": ""}},
        "future update": {"some_future_update": {"anything": True}},
        # not updates at all
        "not JSON": "{not json",
        "a list": "[1, 2]",
        "message without chat type": '{"update_id": 1, "message": {"chat": {"id": 1}}}',
        "empty message": '{"message": {}}',
        "a string": '"message"',
    }


PLAIN = _plain_updates()
VIA_PTB = _ptb_updates()


@pytest.mark.parametrize("name", sorted(PLAIN))
async def test_plain_messages_take_the_fast_path_with_the_same_events(
    pair: Pair, name: str
) -> None:
    assert await pair.compare(_numbered(PLAIN[name]))


@pytest.mark.parametrize("name", sorted(VIA_PTB))
async def test_everything_else_goes_through_ptb_with_the_same_outcome(
    pair: Pair, name: str
) -> None:
    update = VIA_PTB[name]
    payload = update if isinstance(update, str) else _numbered(update)
    assert not await pair.compare(payload)


async def test_all_plain_messages_in_one_run_call_the_bot_api_alike(pair: Pair) -> None:
    """One decoder pair through everything: admin lookups cached and dropped alike."""
    taken = [await pair.compare(_numbered(u, n)) for n, u in enumerate(PLAIN.values())]
    promoted = member_update(
        "chat_member", GROUP, ADA, chat_member_dict(BEA), chat_member_dict(BEA, "administrator")
    )
    pair.api.set_chat_member(GROUP["id"], chat_member_dict(BEA, "administrator"))
    assert not await pair.compare(_numbered(promoted))
    assert await pair.compare(_numbered(PLAIN["command by member"]))

    assert all(taken)
    assert len(pair.api.calls_to("getMe")) == 2 + 1  # each decoder once, and the Bot's own
    assert len(pair.api.calls_to("getChatAdministrators")) == 2 * 3  # GROUP, BASIC, again


async def test_what_the_fast_path_reads(pair: Pair) -> None:
    """The fast path's events themselves, beyond their equality with PTB's."""
    [command] = await pair.events(_numbered(PLAIN["command"]))
    [caption] = await pair.events(_numbered(PLAIN["photo caption"]))
    [mention] = await pair.events(_numbered(PLAIN["mention entity"]))
    [edit] = await pair.events(_numbered(PLAIN["edit"]))
    [reply] = await pair.events(_numbered(PLAIN["reply to bot"]))
    [nameless] = await pair.events(_numbered(PLAIN["basic group"]))

    assert isinstance(command, CommandInvoked) and command.origin.user.is_platform_admin
    assert isinstance(caption, MessageReceived) and caption.origin.thread_id == "5"
    assert caption.has_file and caption.has_link and caption.mentions_bot
    assert caption.reply_to is None  # the topic's first message is not a reply
    assert isinstance(mention, MessageReceived) and mention.mentions_bot
    assert isinstance(edit, MessageReceived) and edit.is_edit
    assert edit.origin.event_id == "chat:-1001234567890:msg:31:edit:50"
    assert str(edit.origin.occurred_at) == "1970-01-01 00:00:50+00:00"
    assert isinstance(reply, MessageReceived) and reply.reply_to is not None
    assert reply.reply_to.is_bot and reply.mentions_bot
    assert (
        nameless.origin.user.display_name == "Léo 🙂" and nameless.origin.user.locale_hint is None
    )
    assert pair.fast.fast_decoded == 6 and pair.slow.fast_decoded == 0


# -- recorded payloads ---------------------------------------------------------------------------

# Updates per recorded file that take the fast path: a person's text, caption or file message.
FAST_IN_RECORDINGS = {
    "tg_javabots_getUpdates_group_session.json": 6,  # the rest: service messages, locations …
    "tg_javabots_getUpdates_private_chat.json": 6,
    "tg_javabots_update_command_start_private.json": 1,
    "tg_javabots_update_document_private.json": 1,
    "tg_javabots_update_edited_message_supergroup.json": 1,
    "tg_javabots_update_reply_supergroup.json": 1,
    "tg_javabots_update_text_supergroup.json": 1,
}


def _recorded() -> dict[str, list[Any]]:
    """Every update of every recorded file; Bot API answers that are not updates are left out."""
    recorded: dict[str, list[Any]] = {}
    for path in sorted(PAYLOADS.glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        found = data["result"] if isinstance(data.get("result"), list) else [data]
        updates = [u for u in found if isinstance(u, dict) and "update_id" in u]
        if updates:
            recorded[path.name] = updates
    return recorded


RECORDED = _recorded()


def test_the_recordings_are_found() -> None:
    assert len(RECORDED) >= 25 and set(FAST_IN_RECORDINGS) <= set(RECORDED)


@pytest.mark.parametrize("name", sorted(RECORDED))
async def test_recorded_updates_decode_alike(pair: Pair, name: str) -> None:
    expected = FAST_IN_RECORDINGS.get(name, 0)
    taken = [await pair.compare(update) for update in RECORDED[name]]
    if len(RECORDED[name]) == 1:  # also the file exactly as recorded, as a webhook gets it
        assert await pair.compare((PAYLOADS / name).read_text("utf-8")) == bool(expected)

    assert sum(taken) == expected


async def test_a_batch_conversation_decodes_alike(pair: Pair) -> None:
    updates = conversation()
    taken = [await pair.compare(update) for update in updates]

    service = [
        u for u in updates if {"new_chat_members", "left_chat_member"} & set(u.get("message", ()))
    ]
    assert len(service) == 2  # a newcomer's join and a member's leave, both through PTB
    assert sum(taken) == len(updates) - len(service)


async def test_dates_follow_the_bots_defaults_time_zone(
    fake_telegram: FakeTelegramAPI, clock: FrozenClock
) -> None:
    api = fake_telegram
    async with _bot(api, Defaults(tzinfo=ZoneInfo("America/Sao_Paulo"))) as bot:
        fast, slow = _decoders(bot, clock)
        pair = Pair(api, fast, slow)
        for name in ("group message", "edit", "edit at 0", "date 0", "reply to person"):
            assert await pair.compare(_numbered(PLAIN[name]))
        [event] = await pair.events(_numbered(PLAIN["group message"]))

    assert str(event.origin.occurred_at) == "1969-12-31 21:16:40-03:00"


# -- any message ---------------------------------------------------------------------------------

HANDLES = st.sampled_from(
    [f"@{BOT_USERNAME}", f"@{BOT_USERNAME.upper()}", "@Facilitator_Test_Bot", "@other_bot"]
)
WORDS = st.one_of(
    st.text(max_size=8),  # any characters, astral ones included
    st.text(st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), max_size=3),  # emoji
    st.sampled_from(["🙂", "👩‍💻", "𝔘𝔫𝔦", "é", " ", "\n", "https://x.org/a", "www.x.org", "/"]),
)
SENDERS = st.sampled_from([ADA, BEA, LEO, HELPER, ME])
KINDS = st.sampled_from(
    ["mention", "text_mention", "url", "text_link", "bold", "hashtag", "bot_command", "pre"]
)
COMMANDS = st.sampled_from(
    ["/help", "/members", f"/help@{BOT_USERNAME}", "/Help@Facilitator_TEST_bot", "/x@other_bot"]
)
# Where an unknown key is put, if anywhere: then PTB must decode the update.
PLACES = st.sampled_from(["update", "message", "from", "chat", "reply", "reply.from", "entity"])


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@st.composite
def _body(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    """Text from pieces, some of them entities at their UTF-16 offsets, and stray entities."""
    text, entities = "", []
    if draw(st.booleans()):
        command = draw(COMMANDS)
        entities.append({"type": "bot_command", "offset": 0, "length": _utf16(command)})
        text = command + draw(st.sampled_from(["", " ", " args 🙂"]))
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 3)) == 0:
            piece = draw(HANDLES)
            entity: dict[str, Any] = {"type": "mention"}
            if draw(st.booleans()):
                entity = {"type": "text_mention", "user": draw(SENDERS)}
            entity.update(offset=_utf16(text), length=_utf16(piece))
            entities.append(entity)
            text += piece
        else:
            text += draw(WORDS)
    size = _utf16(text)
    for _ in range(draw(st.integers(0, 3))):  # anywhere: they may split a surrogate pair
        offset = draw(st.integers(0, size))
        entity = {
            "type": draw(KINDS),
            "offset": offset,
            "length": draw(st.integers(0, size - offset)),
        }
        if entity["type"] == "text_link":
            entity["url"] = "https://example.org"
        if entity["type"] == "text_mention":
            entity["user"] = draw(SENDERS)
        entities.append(entity)
    if entities and draw(st.booleans()):  # equal to another (type, offset, length): PTB keeps one
        twin = dict(draw(st.sampled_from(entities)))
        if twin["type"] == "text_mention":
            twin["user"] = draw(SENDERS)
        entities.append(twin)
    return text, draw(st.permutations(entities))


@st.composite
def _updates(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """A message update, and whether an unknown key was put in it."""
    chat = draw(st.sampled_from(CHATS))
    date = draw(st.integers(0, 2_000_000_000))
    message: dict[str, Any] = {
        "message_id": draw(st.integers(1, 10**6)),
        "from": dict(draw(SENDERS)),
        "chat": dict(chat),
        "date": date,
    }
    text, entities = draw(_body())
    form = draw(st.sampled_from(["text", "photo", "document", "file only", "both"]))
    if form in ("text", "both"):
        message["text"] = text
        if entities:
            message["entities"] = entities
    if form == "both":  # no client sends both; PTB reads them, and so must the fast path
        caption, caption_entities = draw(_body())
        message["caption"] = caption
        if caption_entities:
            message["caption_entities"] = caption_entities
    elif form != "both":
        message["photo" if form == "photo" else "document"] = (
            PHOTO if form == "photo" else DOCUMENT
        )
        if form != "file only":
            message["caption"] = text
            if entities:
                message["caption_entities"] = entities
    if chat is FORUM and draw(st.booleans()):
        message["message_thread_id"] = draw(st.integers(1, 99))
        message["is_topic_message"] = draw(st.booleans())
    replied = draw(st.sampled_from([None, "person", "bot", "anonymous", "topic"]))
    if replied == "topic":
        message["reply_to_message"] = {**TOPIC_START, "chat": dict(chat)}
    elif replied is not None:
        message["reply_to_message"] = {
            "message_id": draw(st.integers(1, 10**6)),
            "date": draw(st.integers(0, date)),
            "chat": dict(chat),
            "text": draw(st.text(max_size=5)),
        }
        if replied != "anonymous":
            message["reply_to_message"]["from"] = dict(ME if replied == "bot" else ADA)
    edited = draw(st.booleans())
    if edited:
        message["edit_date"] = date + draw(st.integers(0, 10**6))
    kind = "edited_message" if edited else "message"
    update = copy.deepcopy({"update_id": draw(st.integers(1, 10**9)), kind: message})
    message = update[kind]

    place = draw(st.one_of(st.none(), PLACES))
    target = {
        None: None,
        "update": update,
        "message": message,
        "from": message["from"],
        "chat": message["chat"],
        "reply": message.get("reply_to_message"),
        "reply.from": message.get("reply_to_message", {}).get("from"),
        "entity": next(iter(message.get("entities", message.get("caption_entities", []))), None),
    }[place]
    if target is not None:
        target["a_future_field"] = draw(st.one_of(st.booleans(), st.integers(), st.text()))
    return update, target is not None


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(_updates())
async def test_any_message_decodes_alike_and_takes_the_fast_path_unless_unknown(
    pair: Pair, case: tuple[dict[str, Any], bool]
) -> None:
    update, unknown = case

    taken = await pair.compare(update)

    event("fast path" if taken else "through PTB")
    assert taken is not unknown


async def test_a_command_replying_to_a_message_carries_its_text_author_and_link(
    pair: Pair,
) -> None:
    """`/save` replying to an answer: the recorded reply with a command for its text. Both
    paths give the answer's words, who wrote them and a link to the message."""
    [update] = RECORDED["tg_javabots_update_reply_supergroup.json"]
    saving = copy.deepcopy(update)
    saving["message"]["text"] = "/save How do we greet?"
    saving["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 5}]
    assert await pair.compare(saving)
    [command] = await pair.events(saving)
    assert isinstance(command, CommandInvoked) and command.name == "save"
    assert command.args == "How do we greet?"
    replied = command.reply_to
    assert replied is not None and replied.message_id == "11" and replied.user_id == "12345678"
    assert replied.text == "Hello, modified" and replied.user_name == "FirstName"
    assert replied.link == "https://t.me/c/11869112345/11"
    # The same reply as a plain message carries them too.
    [message] = await pair.events(update)
    assert isinstance(message, MessageReceived) and message.reply_to == replied


async def test_a_command_replying_to_a_document_carries_its_file_on_both_paths(
    pair: Pair,
) -> None:
    """`/share` replying to a PDF: the file's id, name, type and size reach the core alike
    from the fast path and through PTB; a document missing its optional fields too."""
    document = {**DOCUMENT, "mime_type": "application/pdf", "file_size": 2048}
    posted = {"message_id": 7, "date": 1, "chat": GROUP, "from": ADA, "document": document}
    sharing = _reply(text_update("/share #budgets", from_user=BEA, chat=GROUP), posted)
    assert await pair.compare(_numbered(sharing))
    [command] = await pair.events(_numbered(sharing, 2))
    assert isinstance(command, CommandInvoked) and command.name == "share"
    assert command.reply_to is not None
    assert command.reply_to.file == FileRef("d", "notes.pdf", "application/pdf", 2048)

    bare = _reply(
        text_update("/share", from_user=BEA, chat=GROUP),
        {**posted, "document": {"file_id": "e", "file_unique_id": "w"}},
    )
    assert await pair.compare(_numbered(bare, 3))
    [command] = await pair.events(_numbered(bare, 4))
    assert isinstance(command, CommandInvoked) and command.reply_to is not None
    assert command.reply_to.file == FileRef("e")


async def test_a_command_in_a_documents_caption_carries_the_document_on_both_paths(
    pair: Pair,
) -> None:
    document = {**DOCUMENT, "mime_type": "application/pdf", "file_size": 4096}
    sent = text_update("/share #budgets", from_user=BEA, chat=GROUP)
    sent["message"]["caption_entities"] = sent["message"].pop("entities")
    sent["message"]["caption"] = sent["message"].pop("text")
    sent["message"]["document"] = document
    assert await pair.compare(_numbered(sent))
    [command] = await pair.events(_numbered(sent, 2))
    assert isinstance(command, CommandInvoked) and command.name == "share"
    assert command.args == "#budgets" and command.reply_to is None
    assert command.attached == FileRef("d", "notes.pdf", "application/pdf", 4096)
