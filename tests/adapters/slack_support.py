"""Helpers for the Slack adapter tests: the real core + adapter, the fake Web API, real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from aiohttp import web
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette

from adapters.slack import build
from adapters.slack.adapter import SlackAdapter
from facilitator.bootstrap import App
from facilitator.domain.model import Platform
from tests.adapters.fakes import payloads_dir
from tests.adapters.fakes.slack_api import DEFAULT_TOKEN, FakeSlackAPI, RecordedCall
from tests.conftest import FrozenClock, build_test_app, make_settings, sqlite_with_tables
from tests.fake_credentials import SLACK_APP_TOKEN, SLACK_SIGNING_SECRET

SIGNING_SECRET = SLACK_SIGNING_SECRET
APP_TOKEN = SLACK_APP_TOKEN
CHANNEL = "C0LEARNERS"


def slack_payload(name: str) -> str:
    return (payloads_dir() / "slack" / name).read_text(encoding="utf-8")


def signed_headers(
    body: str, content_type: str, *, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": signature,
    }


class VirtualTime:
    """A monotonic clock and a sleep for pacing and retries: sleeping moves the clock."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class ResponseUrlSink:
    """A local stand-in for hooks.slack.com: records what is posted to response URLs."""

    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    origin: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def hook(request: web.Request) -> web.Response:
            self.received.append((request.path, await request.json()))
            return web.Response(status=self.status, text="ok" if self.status == 200 else "no")

        application = web.Application()
        application.router.add_post("/{tail:.*}", hook)
        self._runner = web.AppRunner(application)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.origin = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, name: str) -> str:
        return f"{self.origin}/commands/T0FAKE0001/{name}"


async def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    """Poll a condition nothing can signal (uvicorn's `started`), within a deadline."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def served(asgi: Starlette) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1, a free port; yields its base URL."""
    config = uvicorn.Config(
        asgi, host="127.0.0.1", port=0, log_config=None, lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: server.started, 10)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class SlackHarness:
    """The real core on SQLite with the Slack adapter, served over HTTP, against the fake."""

    api: FakeSlackAPI
    app: App
    adapter: SlackAdapter
    clock: FrozenClock
    time: VirtualTime
    hooks: ResponseUrlSink
    http: httpx.AsyncClient
    url: str
    seq: int = 0

    def next_ts(self) -> str:
        self.seq += 1
        return f"1767000000.{self.seq:06d}"

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        sent = signed_headers(body, content_type, timestamp=timestamp, secret=secret)
        sent.update(headers or {})
        return await self.http.post(self.url, content=body.encode("utf-8"), headers=sent)

    async def event(
        self, event: Mapping[str, Any], *, event_id: str | None = None, **options: Any
    ) -> httpx.Response:
        self.seq += 1
        envelope = {
            "token": "unused",
            "team_id": self.api.team_id,
            "api_app_id": self.api.app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or f"Ev{self.seq:08d}",
            "event_time": 1767000000 + self.seq,
        }
        return await self.post(json.dumps(envelope), "application/json", **options)

    async def command(
        self,
        command: str,
        text: str,
        *,
        user: str,
        channel: str = CHANNEL,
        response_url: str | None = None,
    ) -> httpx.Response:
        self.seq += 1
        form = {
            "token": "unused",
            "team_id": self.api.team_id,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "learners",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.api.app_id,
            "response_url": response_url or "https://example.invalid/not-slack",
            "trigger_id": f"{self.seq}.1767.trigger",
        }
        return await self.post(urlencode(form), "application/x-www-form-urlencoded")

    async def interaction(self, payload: Mapping[str, Any]) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def process(self) -> int:
        return await self.app.inbox.process_pending()

    async def inbox(self) -> dict[str, int]:
        async with self.app.uow_factory() as uow:
            return await uow.inbox.counts()

    async def ledger(self, kind: str | None = None) -> int:
        async with self.app.uow_factory() as uow:
            community = await uow.communities.by_chat(Platform.SLACK, CHANNEL)
            if community is None:
                return 0
            return await uow.ledger.count(community.id, kind)

    def posted(self, channel: str | None = None) -> list[RecordedCall]:
        calls = [c for c in self.api.calls_to("chat.postMessage") if c.error is None]
        return [c for c in calls if channel is None or c.params.get("channel") == channel]

    def ephemerals(self, user: str | None = None) -> list[RecordedCall]:
        calls = [c for c in self.api.calls_to("chat.postEphemeral") if c.error is None]
        return [c for c in calls if user is None or c.params.get("user") == user]


def texts(calls: list[RecordedCall]) -> list[str]:
    return [str(call.params.get("text", "")) for call in calls]


@contextlib.asynccontextmanager
async def slack_harness(
    api: FakeSlackAPI,
    tmp_path: Path,
    clock: FrozenClock,
    *,
    virtual: VirtualTime | None = None,
    **overrides: object,
) -> AsyncIterator[SlackHarness]:
    options: dict[str, object] = {
        "slack_bot_token": DEFAULT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_base_url": api.base_url,
        **overrides,
    }
    settings = make_settings(sqlite_with_tables(tmp_path / "slack.db"), **options)
    app = build_test_app(settings, clock=clock)
    virtual = virtual or VirtualTime()
    hooks = ResponseUrlSink()
    await hooks.start()
    adapter = build(
        settings,
        app,
        monotonic=virtual,
        sleep=virtual.sleep,
        response_url_prefixes=(hooks.origin + "/",),
    )
    app.attach(Platform.SLACK, adapter.messenger, adapter.decoder, adapter.files, adapter.members)
    try:
        await adapter.start()
        asgi = Starlette(routes=list(adapter.routes()))
        async with served(asgi) as base, httpx.AsyncClient() as http:
            yield SlackHarness(
                api, app, adapter, clock, virtual, hooks, http, base + "/slack/events"
            )
    finally:
        await adapter.stop()
        await hooks.stop()
        await app.aclose()
