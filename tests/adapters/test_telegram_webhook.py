"""The webhook route served by uvicorn on 127.0.0.1: secret checked, stored before the 200."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from starlette.applications import Starlette

from adapters.telegram.envelope import Envelope
from facilitator.domain.errors import StorageUnavailable
from tests.adapters.fakes import payloads_dir
from tests.adapters.fakes.telegram_api import (
    FakeTelegramAPI,
    callback_query_update,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import (
    WEBHOOK_SECRET,
    TelegramHarness,
    post_update,
    served,
    telegram_harness,
)
from tests.conftest import FrozenClock
from tests.log_scan import LogScan

ADA = user(111, "Ada")
GROUP = supergroup_chat()
UPDATE = text_update("/help", from_user=ADA, chat=GROUP, message_id=8, update_id=501, date=5)


@pytest_asyncio.fixture
async def hook(tg: TelegramHarness) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    asgi = Starlette(routes=list(tg.adapter.routes()))
    async with served(asgi) as base, httpx.AsyncClient() as client:
        yield client, base + "/telegram/webhook"


@pytest.mark.parametrize("secret", [None, "", "wrong", WEBHOOK_SECRET + "x", WEBHOOK_SECRET[:-1]])
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_stored(
    tg: TelegramHarness, hook: tuple[httpx.AsyncClient, str], secret: str | None
) -> None:
    client, url = hook

    reply = await post_update(client, url, json.dumps(UPDATE), secret=secret)

    assert reply.status_code == 403
    assert await tg.inbox_statuses() == {}


async def test_a_valid_update_is_stored_exactly_as_received_then_acknowledged(
    tg: TelegramHarness, hook: tuple[httpx.AsyncClient, str]
) -> None:
    client, url = hook
    body = '{"update_id": 501,  "message": ' + json.dumps(UPDATE["message"]) + "}"

    first = await post_update(client, url, body)
    again = await post_update(client, url, body)  # Telegram redelivers: stored once

    assert (first.status_code, again.status_code) == (200, 200)
    async with tg.app.uow_factory() as uow:
        [record] = await uow.inbox.claim(tg.clock.now(), 60, 10)
    assert (record.delivery_id, record.ordering_key) == ("501", str(GROUP["id"]))
    assert record.payload == body  # byte for byte, spacing included
    await tg.app.inbox.process_pending()


async def test_a_stored_update_is_processed_and_answered(
    tg: TelegramHarness, hook: tuple[httpx.AsyncClient, str]
) -> None:
    client, url = hook

    assert (await post_update(client, url, json.dumps(UPDATE))).status_code == 200
    await tg.app.inbox.process_pending()

    [help_text] = tg.sent_texts(GROUP["id"])
    assert help_text.startswith("What you can do here")


NESTED = b'{"update_id": 1, "message": ' + b"[" * 3000 + b"]" * 3000 + b"}"


@pytest.mark.parametrize(
    "body", [b"not json", b"\xff\xfe", b"[1, 2]", b'"text"', NESTED, b"[" * 6000]
)
async def test_bodies_that_are_not_updates_are_refused(
    tg: TelegramHarness, hook: tuple[httpx.AsyncClient, str], body: bytes
) -> None:
    client, url = hook

    reply = await post_update(client, url, body)

    assert reply.status_code == 400
    assert await tg.inbox_statuses() == {}


async def test_only_post_is_allowed(hook: tuple[httpx.AsyncClient, str]) -> None:
    client, url = hook

    assert (await client.get(url)).status_code == 405


async def test_a_button_press_is_answered_after_it_is_stored(tg: TelegramHarness) -> None:
    shown = {"message_id": 3, "date": 1, "chat": private_chat(ADA), "from": ADA, "text": "?"}
    press = callback_query_update("nope|1", message=shown, query_id="q-77", update_id=900)
    order: list[object] = []
    acknowledge = tg.adapter.acknowledge

    async def spy(envelopes: list[Envelope]) -> None:
        order.append(await tg.inbox_statuses())
        await acknowledge(envelopes)

    tg.adapter.acknowledge = spy  # type: ignore[method-assign]
    asgi = Starlette(routes=list(tg.adapter.routes()))
    async with served(asgi) as base, httpx.AsyncClient() as client:
        reply = await post_update(client, base + "/telegram/webhook", json.dumps(press))
        await tg.api.wait_for_calls("answerCallbackQuery")

    assert reply.status_code == 200
    assert order == [{"pending": 1}]
    assert tg.api.calls_to("answerCallbackQuery")[0].params == {"callback_query_id": "q-77"}


async def post_while_storing_fails(tg: TelegramHarness, error: Exception) -> httpx.Response:
    async def broken(raw: str, envelope: Envelope) -> bool:
        raise error

    tg.adapter.store = broken  # type: ignore[method-assign]
    asgi = Starlette(routes=list(tg.adapter.routes()))
    async with served(asgi) as base, httpx.AsyncClient() as client:
        return await post_update(client, base + "/telegram/webhook", json.dumps(UPDATE))


async def test_when_the_database_is_unavailable_telegram_gets_503_and_will_retry(
    tg: TelegramHarness, log_scan: LogScan
) -> None:
    reply = await post_while_storing_fails(tg, StorageUnavailable("ConnectionRefusedError"))

    assert reply.status_code == 503
    [line] = [s for s in log_scan.seen if s.logger == "adapters.telegram.webhook"]
    assert line.level == logging.WARNING
    assert "ConnectionRefusedError" in line.text and "Traceback" not in line.text
    assert "/help" not in line.text  # the update's text


@pytest.mark.expected_errors
async def test_when_storing_fails_otherwise_telegram_gets_a_500_and_will_retry(
    tg: TelegramHarness,
) -> None:
    reply = await post_while_storing_fails(tg, RuntimeError("a fault of ours, not an outage"))

    assert reply.status_code == 500


@pytest.mark.expected_errors
async def test_without_a_configured_secret_every_request_is_refused(
    fake_telegram: FakeTelegramAPI, tmp_path: Path, clock: FrozenClock
) -> None:
    async with (
        telegram_harness(fake_telegram, tmp_path, clock, telegram_webhook_secret=None) as tg,
        served(Starlette(routes=list(tg.adapter.routes()))) as base,
        httpx.AsyncClient() as client,
    ):
        url = base + "/telegram/webhook"
        replies = [
            await post_update(client, url, json.dumps(UPDATE), secret=secret)
            for secret in (None, "", WEBHOOK_SECRET)
        ]
        assert [r.status_code for r in replies] == [403, 403, 403]
        assert await tg.inbox_statuses() == {}


async def test_a_lone_surrogate_in_an_update_is_dropped_and_the_update_handled(
    tg: TelegramHarness, hook: tuple[httpx.AsyncClient, str]
) -> None:
    """JSON may escape half of an emoji's surrogate pair (`\\ud83d` alone): Python decodes it
    to a code point that no UTF-8 database, log file or terminal can encode."""
    client, url = hook
    recorded = (
        payloads_dir() / "telegram" / "tg_javabots_update_text_supergroup.json"
    ).read_text()
    update = json.loads(recorded)
    update["message"]["text"] = "Where is the visa guide? SURROGATE"
    update["message"]["from"]["first_name"] = "Ana SURROGATE"
    body = json.dumps(update).replace("SURROGATE", "\\ud83d")  # JSON escapes, as sent

    reply = await post_update(client, url, body)
    await tg.app.inbox.process_pending()

    assert reply.status_code == 200
    assert await tg.inbox_statuses() == {"done": 1}
    async with tg.app.storage.engine.connect() as conn:
        questions = (await conn.execute(text("select text from questions"))).scalars().all()
        names = (await conn.execute(text("select display_name from identities"))).scalars().all()
    assert questions == ["Where is the visa guide? "]
    assert names == ["Ana "]
