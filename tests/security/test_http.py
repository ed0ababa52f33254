"""The HTTP endpoints under attack: forged, stale, replayed and oversized requests.

The matrix ("slack_http" and "telegram_webhook" are the tests of the same name in
tests/adapters; "here" is this file):

| endpoint           | case                                         | answer | where            |
|--------------------|----------------------------------------------|--------|------------------|
| POST /slack/events | no signature                                 | 401    | slack_http       |
|                    | wrong signing secret                         | 401    | slack_http       |
|                    | timestamp six minutes old                    | 401    | slack_http       |
|                    | timestamp six minutes ahead                  | 401    | here             |
|                    | timestamp not a number, or missing           | 401    | here             |
|                    | body changed after signing                   | 401    | here             |
|                    | another signature version (v1=)              | 401    | here             |
|                    | declared body over the limit                 | 413    | slack_http       |
|                    | chunked body over the limit (no length)      | 413    | here             |
|                    | an endless body is not read past the limit   | 413    | here             |
| POST /telegram/…   | missing, empty or wrong secret header        | 403    | telegram_webhook |
|                    | no secret configured                         | 403    | telegram_webhook |
|                    | the secret in the query string, not a header | 403    | here             |
|                    | oversized body, wrong secret                 | 403    | here             |
|                    | oversized body, right secret (declared)      | 413    | here             |
|                    | chunked body over the limit (no length)      | 413    | here             |
|                    | an endless body is not read past the limit   | 413    | here             |

Nothing refused is stored in the inbox.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.types import Message

from adapters.slack.http import MAX_BODY_BYTES as SLACK_MAX_BODY
from adapters.telegram.webhook import MAX_BODY as TELEGRAM_MAX_BODY
from adapters.telegram.webhook import SECRET_HEADER
from tests.adapters.fakes.slack_api import FakeSlackAPI
from tests.adapters.fakes.telegram_api import supergroup_chat, text_update, user
from tests.adapters.slack_support import SlackHarness, signed_headers, slack_harness
from tests.adapters.telegram_support import (
    WEBHOOK_SECRET,
    TelegramHarness,
    post_update,
    served,
)
from tests.conftest import FrozenClock

CHUNK = 64 * 1024
FLOOD = 40 * 1024 * 1024  # what an attacker streams at an endpoint
UPDATE = text_update("/help", from_user=user(111, "Ada"), chat=supergroup_chat(), update_id=7)


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        yield harness


@pytest_asyncio.fixture
async def webhook(tg: TelegramHarness) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    asgi = Starlette(routes=list(tg.adapter.routes()))
    async with served(asgi) as base, httpx.AsyncClient() as client:
        yield client, base + "/telegram/webhook"


def _event_body() -> str:
    event = {"type": "app_mention", "user": "U0CARLA", "text": "hi", "channel": "C0LEARNERS"}
    return json.dumps({"type": "event_callback", "event_id": "Ev0SEC0001", "event": event})


def _stale_ahead(body: str) -> dict[str, str]:
    return signed_headers(body, "application/json", timestamp=int(time.time()) + 360)


def _timestamp(value: str | None) -> Callable[[str], dict[str, str]]:
    def headers(body: str) -> dict[str, str]:
        signed = signed_headers(body, "application/json")
        signed.pop("x-slack-request-timestamp")
        if value is not None:
            signed["x-slack-request-timestamp"] = value
        return signed

    return headers


def _tampered(body: str) -> dict[str, str]:
    return signed_headers(body.replace("hi", "ho"), "application/json")


def _version_one(body: str) -> dict[str, str]:
    signed = signed_headers(body, "application/json")
    signed["x-slack-signature"] = signed["x-slack-signature"].replace("v0=", "v1=")
    return signed


@pytest.mark.parametrize(
    "forge",
    [
        _stale_ahead,
        _timestamp("soon"),
        _timestamp(""),
        _timestamp("1e3"),
        _timestamp(None),
        _tampered,
        _version_one,
    ],
    ids=["ahead", "word", "empty", "exponent", "missing", "tampered", "v1"],
)
async def test_a_forged_slack_request_is_refused_with_401(
    slack: SlackHarness, forge: Callable[[str], dict[str, str]]
) -> None:
    body = _event_body()

    response = await slack.http.post(slack.url, content=body, headers=forge(body))
    await slack.process()

    assert response.status_code == 401
    assert await slack.inbox() == {}


async def _stream(total: int, chunk: int = CHUNK) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        sent += chunk
        yield b" " * chunk


async def test_a_chunked_slack_body_over_the_limit_is_refused_with_413(
    slack: SlackHarness,
) -> None:
    headers = signed_headers("", "application/json")  # no content-length: chunked

    response = await slack.http.post(
        slack.url, content=_stream(SLACK_MAX_BODY + 2 * CHUNK), headers=headers
    )

    assert response.status_code == 413
    assert await slack.inbox() == {}


async def test_the_secret_in_the_query_string_is_not_the_secret_header(
    tg: TelegramHarness, webhook: tuple[httpx.AsyncClient, str]
) -> None:
    client, url = webhook

    reply = await client.post(
        url, params={"secret_token": WEBHOOK_SECRET}, content=json.dumps(UPDATE)
    )

    assert reply.status_code == 403
    assert await tg.inbox_statuses() == {}


@pytest.mark.parametrize(("secret", "status"), [("wrong", 403), (WEBHOOK_SECRET, 413)])
async def test_an_oversized_update_is_refused_after_the_secret_is_checked(
    tg: TelegramHarness, webhook: tuple[httpx.AsyncClient, str], secret: str, status: int
) -> None:
    client, url = webhook
    body = json.dumps({**UPDATE, "pad": "x" * (TELEGRAM_MAX_BODY + 1)})

    reply = await post_update(client, url, body, secret=secret)

    assert reply.status_code == status
    assert await tg.inbox_statuses() == {}


async def test_a_chunked_update_over_the_limit_is_refused_with_413(
    tg: TelegramHarness, webhook: tuple[httpx.AsyncClient, str]
) -> None:
    client, url = webhook
    headers = {"content-type": "application/json", SECRET_HEADER: WEBHOOK_SECRET}

    reply = await client.post(url, content=_stream(TELEGRAM_MAX_BODY + 2 * CHUNK), headers=headers)

    assert reply.status_code == 413
    assert await tg.inbox_statuses() == {}


async def _flood(asgi: Starlette, path: str, headers: dict[str, str]) -> tuple[int, int]:
    """Stream FLOOD bytes at `path` without a length; (status, bytes the app read)."""
    read = 0
    status = 0

    async def receive() -> Message:
        nonlocal read
        read += CHUNK
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": read < FLOOD}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    await asgi(scope, receive, send)
    return status, read


async def test_an_endless_slack_body_is_not_read_past_the_limit(slack: SlackHarness) -> None:
    asgi = Starlette(routes=list(slack.adapter.routes()))

    status, read = await _flood(asgi, "/slack/events", signed_headers("", "application/json"))

    assert status == 413
    assert read <= SLACK_MAX_BODY + CHUNK


async def test_an_endless_update_is_not_read_past_the_limit(tg: TelegramHarness) -> None:
    asgi = Starlette(routes=list(tg.adapter.routes()))
    headers = {"content-type": "application/json", SECRET_HEADER: WEBHOOK_SECRET}

    status, read = await _flood(asgi, "/telegram/webhook", headers)

    assert status == 413
    assert read <= TELEGRAM_MAX_BODY + CHUNK
