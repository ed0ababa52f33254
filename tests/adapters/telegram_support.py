"""Helpers for the Telegram adapter tests: the real core + adapter against the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from adapters.telegram.adapter import TelegramAdapter, make_bot
from adapters.telegram.limiter import FloodLimiter
from adapters.telegram.webhook import SECRET_HEADER
from facilitator.bootstrap import App
from facilitator.domain.model import Platform
from tests.adapters.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI, ManualClock
from tests.conftest import (
    REPO_ROOT,
    FrozenClock,
    build_test_app,
    make_settings,
    sqlite_with_tables,
)
from tests.fake_credentials import TELEGRAM_WEBHOOK_SECRET

WEBHOOK_SECRET = TELEGRAM_WEBHOOK_SECRET
BOT_ID = 123456789
BOT_USERNAME = "facilitator_test_bot"


class VirtualTime:
    """A clock and a sleep for the flood limiter: sleeping moves the clock, nobody waits."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.slept = 0.0

    async def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.clock.advance(seconds)
        await asyncio.sleep(0)


@dataclass
class TelegramHarness:
    """The real core on SQLite with the Telegram adapter, talking to the fake Bot API."""

    api: FakeTelegramAPI
    app: App
    adapter: TelegramAdapter
    clock: FrozenClock
    time: VirtualTime

    async def poll(self, *updates: Mapping[str, Any]) -> list[int]:
        """Queue updates, poll once (storing and handling them), then process the inbox."""
        ids = self.api.queue_updates(updates) if updates else []
        await self.adapter.poller.poll_once()
        await self.app.inbox.process_pending()
        return ids

    async def poll_raw(self, batch: Any) -> int:
        self.api.queue_raw(batch)
        stored = await self.adapter.poller.poll_once()
        await self.app.inbox.process_pending()
        return stored

    async def inbox_statuses(self) -> dict[str, int]:
        async with self.app.uow_factory() as uow:
            return await uow.inbox.counts()

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        calls = [c for c in self.api.calls_to("sendMessage") if c.ok]
        if chat_id is not None:
            calls = [c for c in calls if str(c.params["chat_id"]) == str(chat_id)]
        return [str(c.result["text"]) for c in calls]


@contextlib.asynccontextmanager
async def telegram_harness(
    api: FakeTelegramAPI, tmp_path: Path, clock: FrozenClock, **overrides: object
) -> AsyncIterator[TelegramHarness]:
    options: dict[str, object] = {
        "telegram_bot_token": DEFAULT_TOKEN,
        "telegram_webhook_secret": WEBHOOK_SECRET,
        "telegram_api_base_url": api.base_url,
        "telegram_poll_timeout": 0,
        "telegram_publish_commands_on_start": False,
        **overrides,
    }
    settings = make_settings(sqlite_with_tables(tmp_path / "telegram.db"), **options)
    app = build_test_app(settings, clock=clock)
    virtual = VirtualTime(ManualClock())
    bot, poll_request = make_bot(settings)
    adapter = TelegramAdapter(
        settings,
        app.inbox.accept,
        app.services.registry,
        app.services.catalogue,
        app.clock,
        bot=bot,
        poll_request=poll_request,
        limiter=FloodLimiter(clock=virtual.clock, sleep=virtual.sleep),
        sleep=virtual.sleep,
        accept_many=app.inbox.accept_many,
    )
    app.attach(
        Platform.TELEGRAM, adapter.messenger, adapter.decoder, adapter.files, adapter.members
    )
    await adapter.start()
    try:
        yield TelegramHarness(api, app, adapter, clock, virtual)
    finally:
        await adapter.stop()
        await app.aclose()


@contextlib.asynccontextmanager
async def served(asgi: Starlette) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1, a free port; yields its base URL."""
    config = uvicorn.Config(asgi, host="127.0.0.1", port=0, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: server.started, 10, "uvicorn to start")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def post_update(
    client: httpx.AsyncClient,
    url: str,
    body: str | bytes,
    secret: str | None = WEBHOOK_SECRET,
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    return await client.post(url, content=body, headers=headers)


# -- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_env(api: FakeTelegramAPI, database: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of a bot process: only ours, whatever the developer's shell holds."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FACILITATOR_", "TELEGRAM_", "SLACK_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        FACILITATOR_TELEGRAM_API_BASE_URL=api.base_url,
        FACILITATOR_SEMANTIC="off",
        FACILITATOR_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        FACILITATOR_HTTP_PORT=str(port),
        FACILITATOR_PROMPTS_DIR=str(REPO_ROOT / "prompts"),
        FACILITATOR_DATA_DIR=str(REPO_ROOT / "data"),
        FACILITATOR_TELEGRAM_POLL_TIMEOUT="2",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


# The inbox leases claimed rows for 60 s: rows a killed process had claimed are taken up by the
# next process only after that. Test processes lease for 1 s, so a restart does not wait a
# minute of wall time; the mechanism is the same.
_SHORT_LEASE = (
    "import sys, facilitator.inbox as inbox; inbox.LEASE_SECONDS = 1.0; "
    "from facilitator.cli import main; sys.argv = ['facilitator', *sys.argv[1:]]; main()"
)


async def start_process(
    command: str, env: dict[str, str], log: Path, *, short_lease: bool = False
) -> asyncio.subprocess.Process:
    entry = ["-c", _SHORT_LEASE] if short_lease else ["-m", "facilitator.cli"]
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, *entry, command, env=env, cwd=log.parent, stdout=out, stderr=out
        )


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


async def wait_until(
    condition: Callable[[], Awaitable[bool] | bool],
    timeout: float = 20.0,  # noqa: ASYNC109 - a deadline for the caller
    what: str = "condition",
) -> None:
    """Poll `condition` every 20 ms until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def query(database: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Read the bot's SQLite file as it is on disk (WAL mode: readers never block the bot)."""
    if not database.exists():
        return []
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
        try:
            return list(connection.execute(sql, args))
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return []
            raise


def successful_sends(api: FakeTelegramAPI) -> list[dict[str, Any]]:
    return [dict(c.params) for c in api.calls_to("sendMessage") if c.ok]


def update_json(update: Mapping[str, Any]) -> str:
    return json.dumps(update, ensure_ascii=False)


# -- update builders the fake does not have ------------------------------------------------------


def member_update(
    kind: str,
    chat: Mapping[str, Any],
    actor: Mapping[str, Any],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    date: int = 1_790_000_000,
) -> dict[str, Any]:
    """A `my_chat_member` or `chat_member` update (old/new: `chat_member_dict` objects)."""
    return {
        kind: {
            "chat": dict(chat),
            "from": dict(actor),
            "date": date,
            "old_chat_member": dict(old),
            "new_chat_member": dict(new),
        }
    }


def service_message(
    chat: Mapping[str, Any], actor: Mapping[str, Any], date: int = 1_790_000_000, **fields: Any
) -> dict[str, Any]:
    """A message update carrying a service field (new_chat_members, migrate_to_chat_id, …)."""
    return {"message": {"chat": dict(chat), "from": dict(actor), "date": date, **fields}}


def poll_answer(poll_id: str, voter: Mapping[str, Any], options: list[int]) -> dict[str, Any]:
    return {
        "poll_answer": {
            "poll_id": poll_id,
            "user": dict(voter),
            "option_ids": options,
            "option_persistent_ids": [str(o) for o in options],
        }
    }


def reaction_update(
    chat: Mapping[str, Any],
    who: Mapping[str, Any],
    message_id: int,
    old: list[str],
    new: list[str],
    date: int = 1_790_000_000,
) -> dict[str, Any]:
    return {
        "message_reaction": {
            "chat": dict(chat),
            "message_id": message_id,
            "user": dict(who),
            "date": date,
            "old_reaction": [{"type": "emoji", "emoji": e} for e in old],
            "new_reaction": [{"type": "emoji", "emoji": e} for e in new],
        }
    }
