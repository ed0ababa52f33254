"""`facilitator run` for Slack: Socket Mode against a local WebSocket that plays Slack's part."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from tests.adapters.fakes.slack_api import DEFAULT_TOKEN, FakeSlackAPI
from tests.adapters.slack_support import APP_TOKEN, CHANNEL, slack_harness, texts
from tests.conftest import FrozenClock


class SocketModeServer:
    """Slack's side of Socket Mode: says hello, pushes envelopes, collects acknowledgements."""

    def __init__(self) -> None:
        self.acks: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.connected = asyncio.Event()
        self.socket: web.WebSocketResponse | None = None
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.socket = socket
        await socket.send_json({"type": "hello", "num_connections": 1})
        self.connected.set()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                await self.acks.put(json.loads(message.data))
        return socket

    async def push(self, envelope: dict[str, Any]) -> dict[str, Any]:
        assert self.socket is not None
        await self.socket.send_json(envelope)
        async with asyncio.timeout(10):
            return await self.acks.get()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[SocketModeServer]:
        application = web.Application()
        application.router.add_get("/link", self._link)
        self._runner = web.AppRunner(application)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"ws://{host}:{port}/link"
        try:
            yield self
        finally:
            await self._runner.cleanup()


def event_envelope(envelope_id: str, event: dict[str, Any], retry: int = 0) -> dict[str, Any]:
    return {
        "envelope_id": envelope_id,
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": retry,
        "retry_reason": "timeout" if retry else "",
        "payload": {
            "type": "event_callback",
            "team_id": "T0FAKE0001",
            "event_id": "Ev0SOCKET1",
            "event_time": 1767000000,
            "event": event,
        },
    }


async def test_socket_mode_stores_each_envelope_before_acknowledging_it_and_once(
    tmp_path: Path, clock: FrozenClock
) -> None:
    async with (
        FakeSlackAPI(tokens=(DEFAULT_TOKEN, APP_TOKEN)) as api,
        SocketModeServer().running() as server,
    ):
        api.respond_with("apps.connections.open", {"ok": True, "url": server.url})
        api.set_user("U0MARIA", name="maria", locale="pt-BR")
        async with slack_harness(api, tmp_path, clock, slack_app_token=APP_TOKEN) as slack:
            receiving = asyncio.create_task(slack.adapter.receive())
            async with asyncio.timeout(10):
                await server.connected.wait()

            joined = {"type": "member_joined_channel", "user": "U0MARIA", "channel": CHANNEL}
            first = await server.push(event_envelope("env-1", joined))
            stored_at_ack = await slack.inbox()
            again = await server.push(event_envelope("env-2", joined, retry=1))
            command = await server.push(
                {
                    "envelope_id": "env-3",
                    "type": "slash_commands",
                    "accepts_response_payload": True,
                    "payload": {
                        "command": "/facilitator",
                        "text": "whoami",
                        "user_id": "U0MARIA",
                        "user_name": "maria",
                        "channel_id": CHANNEL,
                        "channel_name": "learners",
                        "trigger_id": "3.3.3",
                        "response_url": "https://example.invalid/not-fetched",
                    },
                }
            )
            await slack.process()

            await slack.adapter.stop()
            async with asyncio.timeout(10):
                await receiving

    assert first == {"envelope_id": "env-1"}
    assert again == {"envelope_id": "env-2"}
    assert command == {"envelope_id": "env-3"}
    assert stored_at_ack == {"pending": 1}
    [opened] = api.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN
    posted = texts([c for c in api.calls_to("chat.postMessage") if c.error is None])
    assert len([t for t in posted if t.startswith("Boas-vindas")]) == 1
    assert any(t.startswith("Você é *maria*") for t in posted)


@pytest.mark.expected_errors
async def test_run_without_an_app_token_says_what_is_missing(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock, caplog: Any
) -> None:
    async with slack_harness(fake_slack, tmp_path, clock) as slack:
        await slack.adapter.receive()

    assert "SLACK_APP_TOKEN" in caplog.text
