"""`facilitator serve --workers 2` on PostgreSQL: any worker's `/metrics` counts every worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.adapters.fakes.slack_api import DEFAULT_TOKEN, FakeSlackAPI
from tests.adapters.slack_support import SIGNING_SECRET, signed_headers
from tests.adapters.test_metrics import parse, value
from tests.adapters.test_slack_serve import free_port, wait_healthy
from tests.conftest import POSTGRES_URL, fresh_postgres_schema

CHANNEL = "C0WORKERS"
MESSAGES = 8
SCRAPES = 12


async def fresh_connection(method: str, url: str, **options: object) -> httpx.Response:
    """A request on a new connection, so that any worker may accept it."""
    async with httpx.AsyncClient() as client:
        return await client.request(method, url, **options)  # type: ignore[arg-type]


async def handled(base: str) -> float:
    response = await fresh_connection("GET", f"{base}/metrics")
    assert response.status_code == 200
    samples = parse(response.text)
    return value(
        samples, "facilitator_inbound_events_total", kind="message_received", outcome="done"
    )


@contextlib.asynccontextmanager
async def serve_workers(
    fake_slack: FakeSlackAPI, tmp_path: Path, log_path: Path, **env_extra: str
) -> AsyncIterator[str]:
    """`facilitator serve --workers 2` for Slack on a fresh PostgreSQL schema, healthy; yields
    its base URL and stops it afterwards (its output goes to `log_path`)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with fresh_postgres_schema() as schema:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("FACILITATOR_", "SLACK_", "TELEGRAM_", "PROMETHEUS_"))
        }
        env.update(
            SLACK_BOT_TOKEN=DEFAULT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            FACILITATOR_SLACK_API_BASE_URL=fake_slack.base_url,
            FACILITATOR_SEMANTIC="off",
            FACILITATOR_DATABASE_URL=POSTGRES_URL,
            FACILITATOR_DATABASE_SCHEMA=schema,
            FACILITATOR_HTTP_PORT=str(port),
        )
        env.update(env_extra)
        with log_path.open("wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "facilitator.cli", "serve", "--workers", "2"),
                cwd=tmp_path,
                env=env,
                stdout=log_file,
                stderr=log_file,
            )
            try:
                await wait_healthy(base, process)
                yield base
            finally:
                if process.returncode is None:
                    process.terminate()
                    async with asyncio.timeout(30):
                        await process.wait()


async def test_every_worker_reports_the_counters_of_all_workers(
    fake_slack: FakeSlackAPI, tmp_path: Path
) -> None:
    fake_slack.set_channel(CHANNEL, name="workers", members=[fake_slack.bot_user_id])
    fake_slack.set_user("U0CARLA", name="carla")
    log_path = tmp_path / "serve.log"
    async with serve_workers(fake_slack, tmp_path, log_path) as base:
        for n in range(MESSAGES):
            body = json.dumps(
                {
                    "type": "event_callback",
                    "event_id": f"Ev0W{n}",
                    "event": {
                        "type": "message",
                        "channel": CHANNEL,
                        "channel_type": "channel",
                        "user": "U0CARLA",
                        "text": f"note {n}",
                        "ts": f"1767000000.00000{n}",
                    },
                }
            )
            headers = signed_headers(body, "application/json")
            posted = await fresh_connection(
                "POST", f"{base}/slack/events", content=body, headers=headers
            )
            assert posted.status_code == 200
        async with asyncio.timeout(60):
            while True:
                if await handled(base) >= MESSAGES:
                    break
                await asyncio.sleep(0.1)
        scraped = [await handled(base) for _ in range(SCRAPES)]
    logs = log_path.read_text("utf-8", errors="replace")

    # Each scrape went to whichever worker accepted it; each reports both workers' counts.
    assert scraped == [MESSAGES] * SCRAPES
    found = re.search(r"worker metrics gathered in (\S+)", logs)
    assert found is not None, logs
    # The temporary directory is gone with serve.
    assert not await asyncio.to_thread(Path(found.group(1)).exists)
