"""The fake Telegram Bot API behaves like Telegram for the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Poll,
    ReactionTypeEmoji,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    RetryAfter,
)
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from adapters.telegram.adapter import quiet_token_loggers
from tests.adapters.fakes import payloads_dir
from tests.adapters.fakes.telegram_api import (
    DEFAULT_TOKEN,
    FakeTelegramAPI,
    ManualClock,
    chat_member_dict,
    group_chat,
    supergroup_chat,
    text_update,
    user,
)

BOT_ID = 123456789
CHAT_ID = 42


@pytest.fixture(autouse=True)
def _quiet_token_loggers() -> None:
    # These tests build PTB bots directly; the adapter quiets PTB's loggers when it builds one.
    quiet_token_loggers()


def _bot(api: FakeTelegramAPI) -> Bot:
    return Bot(DEFAULT_TOKEN, base_url=api.base_url, base_file_url=api.base_file_url)


def _payload(name: str) -> Any:
    return json.loads((payloads_dir() / "telegram" / name).read_text(encoding="utf-8"))


@pytest_asyncio.fixture
async def bot(fake_telegram: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with _bot(fake_telegram) as started:
        yield started


async def test_get_me_answers_the_bot_user_of_the_token(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    me = await bot.get_me()

    assert (me.id, me.is_bot, me.username) == (BOT_ID, True, "facilitator_test_bot")
    assert bot.base_url == f"{fake_telegram.base_url}{DEFAULT_TOKEN}"
    assert [call.method for call in fake_telegram.calls] == ["getMe", "getMe"]  # 1st: initialize
    assert {call.token for call in fake_telegram.calls} == {DEFAULT_TOKEN}


async def test_send_message_returns_a_parsed_message_and_records_typed_params(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="vote:yes")]])

    first = await bot.send_message(CHAT_ID, "42", reply_markup=keyboard, message_thread_id=7)
    second = await bot.send_message(CHAT_ID, "again")

    assert isinstance(first, Message)
    assert (first.chat.id, first.text, first.message_thread_id) == (CHAT_ID, "42", 7)
    assert first.from_user is not None and first.from_user.id == BOT_ID
    assert first.reply_markup == keyboard
    assert second.message_id == first.message_id + 1
    params = fake_telegram.calls_to("sendMessage")[0].params
    assert params["chat_id"] == CHAT_ID
    assert params["text"] == "42"  # form-encoded by PTB, still a string
    assert params["message_thread_id"] == 7
    assert params["reply_markup"] == keyboard.to_dict()


async def test_html_text_comes_back_plain_with_entities_and_bad_html_is_a_bad_request(
    bot: Bot,
) -> None:
    sent = await bot.send_message(CHAT_ID, "<b>Hi</b> &amp; bye", parse_mode=ParseMode.HTML)

    assert sent.text == "Hi & bye"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 2)]
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(CHAT_ID, "<b>unclosed", parse_mode=ParseMode.HTML)
    # PTB drops "Bad Request: " and .capitalize()s the rest of Telegram's description
    assert str(caught.value) == (
        "Can't parse entities: can't find end tag corresponding to start tag \"b\""
    )
    with pytest.raises(BadRequest, match=r"(?i)Character '!' is reserved"):
        await bot.send_message(CHAT_ID, "Hello!", parse_mode=ParseMode.MARKDOWN_V2)


async def test_editing_a_message_to_identical_content_is_rejected_as_not_modified(
    bot: Bot,
) -> None:
    sent = await bot.send_message(CHAT_ID, "draft")

    edited = await bot.edit_message_text("final", chat_id=CHAT_ID, message_id=sent.message_id)

    assert isinstance(edited, Message) and edited.text == "final"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("final", chat_id=CHAT_ID, message_id=sent.message_id)


async def test_send_document_records_the_uploaded_file_name_and_bytes(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    content = b"%PDF-1.4 handout"

    sent = await bot.send_document(CHAT_ID, content, filename="handout.pdf", caption="Week 1")

    assert sent.document is not None
    assert (sent.document.file_name, sent.document.file_size) == ("handout.pdf", len(content))
    assert sent.caption == "Week 1"
    call = fake_telegram.calls_to("sendDocument")[0]
    assert call.files == {"document": content}
    assert call.file_names == {"document": "handout.pdf"}
    assert call.params["caption"] == "Week 1"
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == content


async def test_injected_429_surfaces_as_retry_after_with_its_delay(
    fake_telegram: FakeTelegramAPI, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # else reading retry_after warns (-W error)
    fake_telegram.fail_next("sendMessage", 429, retry_after=7)

    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT_ID, "hello")

    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    assert fake_telegram.calls_to("sendMessage")[0].status == 429
    assert fake_telegram.rate_limited_count == 1
    assert (await bot.send_message(CHAT_ID, "hello")).text == "hello"  # only the next call failed


async def test_injected_403_surfaces_as_forbidden(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    fake_telegram.fail_next("sendMessage", 403, chat_id=CHAT_ID)

    await bot.send_message(CHAT_ID + 1, "other chats are unaffected")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(CHAT_ID, "hello")


async def test_injected_migration_surfaces_as_chat_migrated_with_the_new_id(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    fake_telegram.fail_next("sendMessage", 400, migrate_to_chat_id=-1001234567890)

    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-4001, "hello")

    assert caught.value.new_chat_id == -1001234567890


async def test_get_updates_serves_queued_updates_and_drops_them_once_offset_passes_them(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    ids = fake_telegram.queue_updates([text_update("/start"), text_update("hello")])

    first = await bot.get_updates(timeout=0)
    again = await bot.get_updates(timeout=0)
    after = await bot.get_updates(offset=ids[0] + 1, timeout=0)
    done = await bot.get_updates(offset=ids[1] + 1, timeout=0)

    assert [u.update_id for u in first] == ids == [u.update_id for u in again]
    assert first[0].message is not None and first[0].message.text == "/start"
    assert [u.update_id for u in after] == ids[1:]
    assert done == ()
    assert fake_telegram.offsets_requested == [None, None, ids[0] + 1, ids[1] + 1]


async def test_long_poll_returns_as_soon_as_an_update_is_queued(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await fake_telegram.wait_for_calls("getUpdates")

    fake_telegram.queue_updates([text_update("wake up")])
    async with asyncio.timeout(5):
        updates = await poll

    assert [u.message.text for u in updates if u.message] == ["wake up"]


async def test_recorded_private_chat_batch_is_served_exactly_and_parsed_by_ptb(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    recorded = _payload("tg_javabots_getUpdates_private_chat.json")
    fake_telegram.queue_raw(recorded)

    updates = await bot.get_updates(timeout=0)

    assert [u.to_dict()["update_id"] for u in updates] == [
        u["update_id"] for u in recorded["result"]
    ]
    assert fake_telegram.calls_to("getUpdates")[0].response == recorded


async def test_malformed_recorded_update_is_served_unchanged(
    fake_telegram: FakeTelegramAPI,
) -> None:
    recorded = _payload("tg_doc_message_text_start.json")  # its users lack `is_bot`
    fake_telegram.queue_raw([recorded])

    async with httpx.AsyncClient() as client:
        reply = await client.post(
            f"{fake_telegram.base_url}{DEFAULT_TOKEN}/getUpdates", json={"timeout": 0}
        )

    assert reply.status_code == 200
    assert reply.json() == {"ok": True, "result": [recorded]}


async def test_commands_are_kept_per_scope_and_language(bot: Bot) -> None:
    group_scope = BotCommandScopeChat(-4001)
    await bot.set_my_commands([BotCommand("help", "Show help")])
    await bot.set_my_commands(
        [BotCommand("hilfe", "Hilfe zeigen")], scope=group_scope, language_code="de"
    )

    german = await bot.get_my_commands(scope=group_scope, language_code="de")
    default = await bot.get_my_commands(scope=BotCommandScopeDefault())
    english_in_group = await bot.get_my_commands(scope=group_scope, language_code="en")
    await bot.delete_my_commands(scope=group_scope, language_code="de")

    assert german == (BotCommand("hilfe", "Hilfe zeigen"),)
    assert default == (BotCommand("help", "Show help"),)
    assert english_in_group == ()
    assert await bot.get_my_commands(scope=group_scope, language_code="de") == ()


async def test_rate_limit_enforcer_answers_429_to_a_second_message_to_one_chat_in_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    clock = ManualClock()
    async with FakeTelegramAPI(clock=clock) as api, _bot(api) as bot:
        api.enforce_limits(global_per_second=30, per_chat_per_second=1, per_group_per_minute=20)
        await bot.send_message(CHAT_ID, "one")
        clock.advance(0.5)
        await bot.send_message(CHAT_ID + 1, "another chat is fine")

        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(CHAT_ID, "two")
        clock.advance(0.5)
        await bot.send_message(CHAT_ID, "two, a second later")

    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    assert [(v.limit, v.chat_id) for v in api.violations] == [("per_chat", CHAT_ID)]
    assert api.rate_limited_count == 1


async def test_rate_limit_enforcer_caps_a_group_at_its_per_minute_limit() -> None:
    clock = ManualClock()
    async with FakeTelegramAPI(clock=clock) as api, _bot(api) as bot:
        api.enforce_limits(per_group_per_minute=3, answer_429=False)
        for n in range(4):
            await bot.send_message(-4001, f"message {n}")
            clock.advance(1.0)

    assert [v.limit for v in api.violations] == ["per_group"]
    assert api.rate_limited_count == 0  # counted only: answer_429=False


async def test_send_poll_returns_a_poll_ptb_can_parse_and_stop_poll_closes_it(
    bot: Bot,
) -> None:
    sent = await bot.send_poll(-4001, "Next topic?", ["Graphs", "Trees"], is_anonymous=False)

    assert isinstance(sent.poll, Poll)
    assert [o.text for o in sent.poll.options] == ["Graphs", "Trees"]
    assert all(o.persistent_id for o in sent.poll.options)
    stopped = await bot.stop_poll(-4001, sent.message_id)
    assert stopped.is_closed and stopped.id == sent.poll.id


async def test_chat_queries_and_housekeeping_methods_answer_objects_ptb_parses(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    group = supergroup_chat()
    admin = user(7, "Grace")
    fake_telegram.add_chat(group, member_count=12)
    fake_telegram.set_chat_member(group["id"], chat_member_dict(admin, "administrator"))
    fake_telegram.queue_updates([text_update("hi", from_user=admin, chat=group)])
    [incoming] = await bot.get_updates(timeout=0)
    assert incoming.message is not None
    photo = await bot.send_photo(group["id"], b"\x89PNG fake", caption="diagram")

    chat = await bot.get_chat(group["id"])
    member = await bot.get_chat_member(group["id"], BOT_ID)
    admins = await bot.get_chat_administrators(group["id"])
    count = await bot.get_chat_member_count(group["id"])
    reacted = await bot.set_message_reaction(
        group["id"], incoming.message.message_id, [ReactionTypeEmoji("👍")]
    )
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data="done")]])
    marked = await bot.edit_message_reply_markup(
        group["id"], photo.message_id, reply_markup=keyboard
    )
    answered = await bot.answer_callback_query("4382bfdwdsb323b2d9", text="Saved")
    deleted = await bot.delete_message(group["id"], photo.message_id)
    left = await bot.leave_chat(group["id"])

    assert isinstance(chat, ChatFullInfo) and chat.title == group["title"]
    assert isinstance(member, ChatMemberMember) and member.user.id == BOT_ID
    assert [type(a) for a in admins] == [ChatMemberAdministrator]
    assert count == 12
    assert photo.photo and photo.caption == "diagram"
    assert isinstance(marked, Message) and marked.reply_markup == keyboard
    assert reacted and answered and deleted and left
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(group["id"], photo.message_id)


async def test_webhook_lifecycle_and_get_updates_conflict_while_a_webhook_is_set(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    await bot.set_webhook("https://bot.example.org/tg", secret_token="s3cret")

    info = await bot.get_webhook_info()
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    await bot.delete_webhook()

    assert info.url == "https://bot.example.org/tg"
    assert fake_telegram.webhook == {"url": ""}
    assert (await bot.get_webhook_info()).url == ""
    with pytest.raises(BadRequest, match=r"(?i)HTTPS URL must be provided"):
        await bot.set_webhook("http://insecure.example.org")


async def test_unknown_method_answers_404_not_found(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    async with httpx.AsyncClient() as client:
        reply = await client.post(f"{fake_telegram.base_url}{DEFAULT_TOKEN}/sendTelepathy")

    assert reply.status_code == 404
    assert reply.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("send_telepathy")


async def test_wait_for_calls_raises_when_the_calls_do_not_arrive(
    fake_telegram: FakeTelegramAPI,
) -> None:
    with pytest.raises(TimeoutError, match="expected 1 call"):
        await fake_telegram.wait_for_calls("sendMessage", 1, timeout=0.1)


async def test_ptb_application_polling_receives_a_queued_update_and_its_reply_is_recorded(
    fake_telegram: FakeTelegramAPI,
) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    app = (
        Application.builder()
        .token(DEFAULT_TOKEN)
        .base_url(fake_telegram.base_url)
        .base_file_url(fake_telegram.base_file_url)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=10))
        try:
            [update_id] = fake_telegram.queue_updates([text_update("ping", chat=group_chat())])
            [reply] = await fake_telegram.wait_for_calls("sendMessage")
            await fake_telegram.wait_for_calls("getUpdates", 2)  # the poll that confirms it
        finally:
            await app.updater.stop()
            await app.stop()

    assert reply.params["text"] == "echo: ping"
    assert reply.params["chat_id"] == group_chat()["id"]
    assert fake_telegram.calls[1].method == "deleteWebhook"  # start_polling clears any webhook
    offsets = fake_telegram.offsets_requested
    assert offsets[0] == 0  # PTB's first poll asks from offset 0 ...
    assert set(offsets[1:]) == {update_id + 1}  # ... and advances only past what it got
