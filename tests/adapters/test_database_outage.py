"""`facilitator serve` while PostgreSQL is out of reach: webhooks say 503 (both platforms deliver
again), one short warning per request, /readyz says not ready; afterwards all is as before."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette

from facilitator.runtime import create_asgi_app
from facilitator.storage.engine import create_engine
from tests.adapters.fakes import payloads_dir
from tests.adapters.fakes.slack_api import DEFAULT_TOKEN as SLACK_TOKEN
from tests.adapters.fakes.slack_api import FakeSlackAPI
from tests.adapters.fakes.telegram_api import DEFAULT_TOKEN as TELEGRAM_TOKEN
from tests.adapters.fakes.telegram_api import FakeTelegramAPI
from tests.adapters.slack_support import SIGNING_SECRET, signed_headers, slack_payload
from tests.adapters.tcp_relay import TcpRelay
from tests.adapters.telegram_support import WEBHOOK_SECRET, post_update, wait_until
from tests.conftest import POSTGRES_URL, fresh_postgres_schema, make_settings
from tests.log_scan import LogScan

TELEGRAM_UPDATE = "tg_javabots_update_text_supergroup.json"
SLACK_EVENT = "slack_bolt_event_app_mention.json"


@contextlib.asynccontextmanager
async def serving(asgi: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The app under uvicorn on 127.0.0.1 with its lifespan (workers, adapters started)."""
    config = uvicorn.Config(asgi, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: server.started, 30, "uvicorn to start")
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        server.should_exit = True
        await task


def telegram_update(update_id: int) -> str:
    update: dict[str, Any] = json.loads(
        (payloads_dir() / "telegram" / TELEGRAM_UPDATE).read_text("utf-8")
    )
    update["update_id"] = update_id
    return json.dumps(update)


def slack_event(event_id: str, ts: str) -> str:
    event: dict[str, Any] = json.loads(slack_payload(SLACK_EVENT))
    event["event_id"] = event_id
    event["event"]["ts"] = event["event"]["event_ts"] = ts
    return json.dumps(event)


async def test_during_a_database_outage_webhooks_answer_503_and_log_one_line_each(
    fake_telegram: FakeTelegramAPI, fake_slack: FakeSlackAPI, log_scan: LogScan
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        schema = await stack.enter_async_context(fresh_postgres_schema())
        host, port = "127.0.0.1", int(POSTGRES_URL.rsplit(":", 1)[1].split("/", 1)[0])
        relay = TcpRelay(host, port)
        await relay.start()
        stack.push_async_callback(relay.cut)
        url = POSTGRES_URL.replace(f"{host}:{port}", f"127.0.0.1:{relay.port}")
        settings = make_settings(
            url,
            schema,
            telegram_bot_token=TELEGRAM_TOKEN,
            telegram_webhook_secret=WEBHOOK_SECRET,
            telegram_api_base_url=fake_telegram.base_url,
            telegram_publish_commands_on_start=False,
            slack_bot_token=SLACK_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_base_url=fake_slack.base_url,
        )
        client = await stack.enter_async_context(serving(create_asgi_app(settings)))

        async def telegram(update_id: int) -> int:
            body = telegram_update(update_id)
            return (await post_update(client, "/telegram/webhook", body)).status_code

        async def slack(event_id: str, ts: str) -> int:
            body = slack_event(event_id, ts)
            headers = signed_headers(body, "application/json")
            return (await client.post("/slack/events", content=body, headers=headers)).status_code

        before = (await telegram(1), await slack("Ev1", "1595926230.000001"))
        ready_before = (await client.get("/readyz")).status_code

        await relay.cut()
        seen_before_outage = len(log_scan.seen)
        during = [await telegram(2), await slack("Ev2", "1595926230.000002"), await telegram(3)]
        ready_during = (await client.get("/readyz")).status_code
        outage_logs = log_scan.seen[seen_before_outage:]

        await relay.start()
        after = (await telegram(2), await slack("Ev2", "1595926230.000002"), await telegram(3))
        await wait_until(lambda: ready(client), 30, "/readyz to say 200")

        reader = create_engine(POSTGRES_URL, schema=schema)
        stack.push_async_callback(reader.dispose)
        async with reader.connect() as conn:
            stored = (await conn.execute(text("select delivery_id from inbox"))).scalars()
            delivery_ids = sorted(stored)

    assert before == (200, 200) and ready_before == 200
    assert during == [503, 503, 503]
    assert ready_during == 503
    assert after == (200, 200, 200)
    assert delivery_ids == ["1", "2", "3", "C111:1595926230.000001", "C111:1595926230.000002"]
    webhook_lines = [
        s for s in outage_logs if s.logger.startswith("adapters.") and s.level >= logging.INFO
    ]
    assert [s.level for s in webhook_lines] == [logging.WARNING] * 3
    assert all("database unavailable" in s.text for s in webhook_lines)
    assert all("Traceback" not in s.text and "Hi there" not in s.text for s in outage_logs)
    assert not [s for s in outage_logs if s.level >= logging.ERROR]


async def ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/readyz")).status_code == 200
