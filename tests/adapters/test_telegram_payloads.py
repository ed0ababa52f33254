"""Every recorded Telegram payload through polling and through the webhook: handled or cleanly
rejected, and the update after a bad one still handled."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from facilitator.domain.errors import RecipientUnreachable
from facilitator.domain.model import Platform
from facilitator.markup import Destination, OutboundMessage, RichText
from tests.adapters.fakes import payloads_dir
from tests.adapters.fakes.telegram_api import (
    chat_member_dict,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import (
    TelegramHarness,
    member_update,
    post_update,
    served,
    wait_until,
)

PAYLOADS = payloads_dir() / "telegram"

# Inbound updates: a single update, or a getUpdates envelope of several. Expected inbox
# outcome per file: (handled, rejected). PTB 22.8 refuses the official guide's examples (no
# `is_bot`), polls and poll answers without persistent ids, and a sticker without its sizes.
UPDATES: dict[str, tuple[int, int]] = {
    **{
        f"tg_doc_{name}.json": (0, 1)
        for name in (
            "callback_query",
            "chosen_inline_result",
            "edited_message",
            "inline_query",
            "message_audio",
            "message_document",
            "message_entities",
            "message_forwarded",
            "message_forwarded_channel",
            "message_reply",
            "message_text_start",
            "message_text_start_tls12",
            "message_voice",
        )
    },
    "tg_javabots_getUpdates_auto_delete_timer.json": (1, 0),
    "tg_javabots_getUpdates_group_session.json": (45, 2),
    "tg_javabots_getUpdates_poll_answer.json": (0, 1),
    "tg_javabots_getUpdates_private_chat.json": (6, 0),
    "tg_javabots_getUpdates_video_chat.json": (5, 0),
    "tg_javabots_getUpdates_write_access_allowed.json": (1, 0),
    "tg_javabots_update_callback_query_with_message.json": (1, 0),
    "tg_javabots_update_command_start_private.json": (1, 0),
    "tg_javabots_update_document_private.json": (1, 0),
    "tg_javabots_update_edited_message_supergroup.json": (1, 0),
    "tg_javabots_update_left_chat_member.json": (1, 0),
    "tg_javabots_update_migrate_from_chat_id.json": (1, 0),
    "tg_javabots_update_migrate_to_chat_id.json": (1, 0),
    "tg_javabots_update_new_chat_members_bot_added.json": (1, 0),
    "tg_javabots_update_poll_message_supergroup.json": (0, 1),
    "tg_javabots_update_reply_supergroup.json": (1, 0),
    "tg_javabots_update_text_supergroup.json": (1, 0),
}
# Bot API answers, not updates: each is covered below as what the adapter receives from calls.
API_RESPONSES = {
    "tg_javabots_close_ok_true.json",
    "tg_javabots_error_400_with_parameters.json",
    "tg_javabots_error_409_conflict.json",
    "tg_javabots_getChatMember_restricted.json",
    "tg_javabots_getMyCommands.json",
}
NEXT = user(999, "Next", language_code="en")


def _load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text("utf-8"))


def _updates(name: str) -> list[Any]:
    data = _load(name)
    return list(data["result"]) if "result" in data else [data]


def test_every_recorded_payload_is_classified() -> None:
    assert {p.name for p in PAYLOADS.glob("*.json")} == set(UPDATES) | API_RESPONSES


async def _webhook(tg: TelegramHarness, bodies: list[str]) -> list[int]:
    asgi = Starlette(routes=list(tg.adapter.routes()))
    async with served(asgi) as base, httpx.AsyncClient() as client:
        url = base + tg.app.settings.telegram_webhook_path
        return [(await post_update(client, url, body)).status_code for body in bodies]


@pytest.mark.parametrize("path", ["polling", "webhook"])
@pytest.mark.parametrize("name", sorted(UPDATES))
async def test_recorded_updates_are_handled_or_rejected_and_later_ones_still_run(
    tg: TelegramHarness, name: str, path: str
) -> None:
    handled, rejected = UPDATES[name]
    after = text_update(
        "/help", from_user=NEXT, chat=private_chat(NEXT), update_id=10**9, message_id=1
    )
    if path == "polling":
        tg.api.queue_raw(_load(name))
        assert await tg.adapter.poller.poll_once() == handled + rejected
        tg.api.queue_updates([after])
        await tg.adapter.poller.poll_once()
    else:
        # Bodies exactly as recorded (re-serialised only where a file holds several).
        whole = (PAYLOADS / name).read_text("utf-8")
        bodies = [json.dumps(u) for u in _updates(name)] if "result" in _load(name) else [whole]
        statuses = await _webhook(tg, [*bodies, json.dumps(after)])
        assert statuses == [200] * (len(bodies) + 1)
    await tg.app.inbox.process_pending()

    statuses = await tg.inbox_statuses()
    assert statuses == {k: v for k, v in {"done": handled + 1, "rejected": rejected}.items() if v}
    assert tg.app.inbox.rejected == rejected
    assert len(tg.sent_texts(NEXT["id"])) == 1  # the update after the bad one got its answer


@pytest.mark.parametrize("path", ["polling", "webhook"])
async def test_a_recorded_button_press_is_answered_and_reaches_the_core(
    tg: TelegramHarness, path: str
) -> None:
    name = "tg_javabots_update_callback_query_with_message.json"
    if path == "polling":
        tg.api.queue_raw(_load(name))
        await tg.adapter.poller.poll_once()
    else:
        assert await _webhook(tg, [(PAYLOADS / name).read_text("utf-8")]) == [200]
    await tg.app.inbox.process_pending()

    [answer] = tg.api.calls_to("answerCallbackQuery")
    assert answer.params["callback_query_id"] == "4382bfdwdsb323b2d9" and answer.ok
    stale = tg.app.services.catalogue.text("en", "errors.stale_button")
    assert tg.sent_texts(2) == [stale]  # "*" is no action of ours


async def test_the_recorded_group_session_welcomes_and_answers_start(tg: TelegramHarness) -> None:
    await tg.poll_raw(_load("tg_javabots_getUpdates_group_session.json"))

    assert len(tg.sent_texts(12345678)) >= 1  # /start in the private chat
    async with tg.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, "-10011869112345")
    assert community is not None and community.title == "My new test group"


@pytest.mark.expected_errors
async def test_a_recorded_409_conflict_on_get_updates_does_not_stop_polling(
    tg: TelegramHarness,
) -> None:
    conflict = _load("tg_javabots_error_409_conflict.json")
    tg.api.fail_next("getUpdates", conflict["error_code"], conflict["description"])
    tg.api.queue_updates([text_update("/help", from_user=NEXT, chat=private_chat(NEXT))])
    tg.api.fail_next("getUpdates", 409)  # the second poll of `run` fails too, then recovers

    run = asyncio.create_task(tg.adapter.poller.run())  # backoffs happen in virtual time
    try:
        await wait_until(lambda: tg.adapter.poller.stored >= 1, 5, "the update stored")
    finally:
        run.cancel()
    await tg.app.inbox.process_pending()

    assert [c.status for c in tg.api.calls_to("getUpdates")][:3] == [409, 409, 200]
    assert tg.time.slept >= 3  # backed off 1 s, then 2 s
    assert len(tg.sent_texts(NEXT["id"])) == 1


async def test_a_recorded_400_with_migrate_and_retry_parameters_follows_the_migration(
    tg: TelegramHarness,
) -> None:
    error = _load("tg_javabots_error_400_with_parameters.json")
    parameters = error["parameters"]
    tg.api.fail_next(
        "sendMessage",
        error["error_code"],
        error["description"],
        retry_after=parameters["retry_after"],
        migrate_to_chat_id=parameters["migrate_to_chat_id"],
    )
    destination = Destination(Platform.TELEGRAM, "-4001")

    await tg.adapter.messenger.send(destination, OutboundMessage(RichText.of("hello")))

    sent = [(c.params["chat_id"], c.status) for c in tg.api.calls_to("sendMessage")]
    assert sent == [(-4001, 400), (12345, 200)]  # PTB reads migrate_to_chat_id first


async def test_a_recorded_restricted_member_ptb_cannot_parse_is_rejected_not_fatal(
    tg: TelegramHarness,
) -> None:
    restricted = _load("tg_javabots_getChatMember_restricted.json")["result"]
    group = supergroup_chat()
    change = member_update("chat_member", group, NEXT, chat_member_dict(NEXT), restricted)
    tg.api.queue_raw([{"update_id": 5, **change}])

    await tg.adapter.poller.poll_once()
    await tg.poll(text_update("/help", from_user=NEXT, chat=private_chat(NEXT)))

    assert await tg.inbox_statuses() == {"rejected": 1, "done": 1}
    assert len(tg.sent_texts(NEXT["id"])) == 1


async def test_publishing_replaces_a_recorded_stale_command_list(tg: TelegramHarness) -> None:
    stale = _load("tg_javabots_getMyCommands.json")["result"]
    tg.api.commands[(tg.api._scope_key(None), "")] = stale

    await tg.adapter.publish_commands()

    names = [c["command"] for c in tg.api.get_commands()]
    assert "help" in names and "enabled" not in names and "disabled" not in names


async def test_a_recorded_success_envelope_posted_as_an_update_is_rejected(
    tg: TelegramHarness,
) -> None:
    body = (PAYLOADS / "tg_javabots_close_ok_true.json").read_text("utf-8")

    assert await _webhook(tg, [body]) == [200]  # authentic (secret), so stored: then rejected
    await tg.app.inbox.process_pending()

    assert await tg.inbox_statuses() == {"rejected": 1}


async def test_a_private_reply_to_someone_who_blocked_the_bot_is_unreachable(
    tg: TelegramHarness,
) -> None:
    tg.api.block(NEXT["id"])

    with pytest.raises(RecipientUnreachable):
        await tg.adapter.messenger.send(
            Destination(Platform.TELEGRAM, str(NEXT["id"]), is_direct=True),
            OutboundMessage(RichText.of("hi")),
        )
