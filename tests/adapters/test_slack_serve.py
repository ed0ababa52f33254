"""The real `facilitator serve` process receives signed Slack requests and answers via the fake."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from tests.adapters.fakes.slack_api import DEFAULT_TOKEN, FakeSlackAPI
from tests.adapters.slack_support import SIGNING_SECRET, signed_headers
from tests.fake_credentials import secrets_in

CHANNEL = "C0SERVE01"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_healthy(base: str, process: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as client, asyncio.timeout(60):
        while True:
            assert process.returncode is None, "facilitator serve exited"
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


async def test_facilitator_serve_handles_signed_slack_requests(
    fake_slack: FakeSlackAPI, tmp_path: Path
) -> None:
    fake_slack.set_channel(CHANNEL, name="serve-test", members=[fake_slack.bot_user_id])
    fake_slack.set_user("U0CARLA", name="carla")
    fake_slack.set_user("U0BRUNO", name="bruno")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FACILITATOR_", "SLACK_", "TELEGRAM_"))
    }
    env.update(
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        FACILITATOR_SLACK_API_BASE_URL=fake_slack.base_url,
        FACILITATOR_SEMANTIC="off",
        FACILITATOR_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        FACILITATOR_HTTP_HOST="127.0.0.1",
        FACILITATOR_HTTP_PORT=str(port),
        FACILITATOR_LOG_LEVEL="INFO",
    )
    log_path = tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "facilitator.cli",
            "serve",
            cwd=tmp_path,
            env=env,
            stdout=log_file,
            stderr=log_file,
        )
        try:
            await wait_healthy(base, process)
            async with httpx.AsyncClient(base_url=base) as client:

                async def post(body: str, content_type: str, **options: object) -> httpx.Response:
                    headers = signed_headers(body, content_type, **options)  # type: ignore[arg-type]
                    return await client.post("/slack/events", content=body, headers=headers)

                ready = await client.get("/readyz")
                challenge = await post(
                    json.dumps({"type": "url_verification", "token": "t", "challenge": "c-123"}),
                    "application/json",
                )
                forged = await post(
                    json.dumps({"type": "url_verification", "challenge": "x"}),
                    "application/json",
                    secret="forged",
                )
                stale = await post(
                    json.dumps({"type": "url_verification", "challenge": "x"}),
                    "application/json",
                    timestamp=int(time.time()) - 600,
                )
                added = await post(
                    json.dumps(
                        {
                            "type": "event_callback",
                            "event_id": "Ev0SERVE01",
                            "event_time": 1767000000,
                            "event": {
                                "type": "member_joined_channel",
                                "user": fake_slack.bot_user_id,
                                "channel": CHANNEL,
                                "inviter": "U0CARLA",
                            },
                        }
                    ),
                    "application/json",
                )
                hello = await fake_slack.wait_for_calls("chat.postMessage", 1, timeout=30)
                said = await post(
                    json.dumps(
                        {
                            "type": "event_callback",
                            "event_id": "Ev0SERVE02",
                            "event": {
                                "type": "message",
                                "channel": CHANNEL,
                                "channel_type": "channel",
                                "user": "U0BRUNO",
                                "text": "private words 7f3a9 from bruno",
                                "ts": "1767000000.000001",
                            },
                        }
                    ),
                    "application/json",
                )
                refused = await post(
                    urlencode(
                        {
                            "command": "/facilitator",
                            "text": "members",
                            "user_id": "U0BRUNO",
                            "user_name": "bruno",
                            "channel_id": CHANNEL,
                            "channel_name": "serve-test",
                            "trigger_id": "11.22.33",
                            "response_url": "https://example.invalid/not-slack",  # never fetched
                        }
                    ),
                    "application/x-www-form-urlencoded",
                )
                [refusal] = await fake_slack.wait_for_calls("chat.postEphemeral", 1, timeout=30)
        finally:
            if process.returncode is None:
                process.terminate()
                async with asyncio.timeout(30):
                    await process.wait()
    logs = log_path.read_text("utf-8", errors="replace")

    assert ready.status_code == 200 and ready.json()["adapters"] == {"slack": True}
    assert challenge.status_code == 200 and challenge.json() == {"challenge": "c-123"}
    assert forged.status_code == 401 and stale.status_code == 401
    assert added.status_code == said.status_code == refused.status_code == 200
    assert hello[0].params["channel"] == CHANNEL and "serve-test" in hello[0].params["text"]
    assert refusal.params["user"] == "U0BRUNO"
    assert refusal.params["text"].startswith("Sorry, /members is for the moderator role or above,")
    assert not secrets_in(logs)
    assert "7f3a9" not in logs  # message bodies are never logged at INFO
    assert "slack adapter started" in logs
