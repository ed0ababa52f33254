"""What the fault tests share: real bot processes, Telegram's side of the webhook, and the
database read from outside."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.telegram.webhook import SECRET_HEADER
from facilitator.storage.engine import create_engine
from tests.adapters.fakes.telegram_api import (
    FakeTelegramAPI,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import WEBHOOK_SECRET, process_env, update_json, wait_until
from tests.conftest import REPO_ROOT

FIRST_DATE = 1_790_000_000
TEXTS = (
    "Les comparto el informe del taller de la semana pasada",
    "Great session today, thanks to everyone who joined",
    "Estamos cerrando la sistematización del piloto",
    "Bom dia a todos, semana cheia por aqui",
)


def group_messages(
    count: int, first_update_id: int, *, groups: int = 40, people: int = 400, chat_base: int = 0
) -> list[dict[str, Any]]:
    """`count` distinct group messages as Telegram sends them: update ids from
    `first_update_id`, spread over `groups` supergroups and `people` members. None is a
    question, a command or a thanks, so the bot records each one and answers none."""
    updates = []
    for n in range(count):
        chat_id = -1_008_000_000 - chat_base - n % groups
        author = user(7_000_000 + (n * 7) % people, f"Member {(n * 7) % people}")
        update = text_update(
            f"{TEXTS[n % len(TEXTS)]} ({n})",
            from_user=author,
            chat=supergroup_chat(chat_id, f"Group {chat_id}"),
            message_id=first_update_id + n,
            date=FIRST_DATE + n // 50,
            update_id=first_update_id + n,
        )
        updates.append(update)
    return updates


def with_commands(updates: list[dict[str, Any]], every: int, asker_base: int) -> dict[int, int]:
    """Replace every `every`-th update (from the first) by a member's private `/help`, which
    gets a reply; returns, by update id, the private chat each reply goes to."""
    commands: dict[int, int] = {}
    for n in range(0, len(updates), every):
        update_id = updates[n]["update_id"]
        asker = user(asker_base + n, f"Asker {n}")
        updates[n] = text_update(
            "/help",
            from_user=asker,
            chat=private_chat(asker),
            message_id=update_id,
            date=updates[n]["message"]["date"],
            update_id=update_id,
        )
        commands[update_id] = asker["id"]
    return commands


def ledger_event_id(update: dict[str, Any]) -> str:
    """The participation ledger's source event of a message update (the decoder's event id)."""
    message = update["message"]
    return f"chat:{message['chat']['id']}:msg:{message['message_id']}"


# -- processes ----------------------------------------------------------------------------------


def bot_env(
    api: FakeTelegramAPI, database_url: str, schema: str | None, port: int, **extra: str
) -> dict[str, str]:
    env = process_env(api, Path("unused.db"), port, **extra)
    env.update(
        FACILITATOR_SEMANTIC="off",
        FACILITATOR_DATABASE_URL=database_url,
        FACILITATOR_TELEGRAM_PUBLISH_COMMANDS_ON_START="false",
        PYTHONPATH=str(REPO_ROOT),
    )
    if schema is not None:
        env["FACILITATOR_DATABASE_SCHEMA"] = schema
    env.update(extra)
    return env


@dataclass
class BotProcess:
    """A `facilitator` process in its own process group (uvicorn's workers included)."""

    process: asyncio.subprocess.Process
    log: Path
    port: int

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def webhook(self) -> str:
        return self.url("/telegram/webhook")

    async def wait_ready(self, client: httpx.AsyncClient, timeout: float = 60) -> None:  # noqa: ASYNC109
        async def ready() -> bool:
            if self.process.returncode is not None:
                raise AssertionError(f"the bot exited: {self.log.read_text()[-3000:]}")
            try:
                return (await client.get(self.url("/readyz"))).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(ready, timeout, f"{self.log.name} to be ready")

    async def kill(self) -> None:
        """SIGKILL to every process of the group: no cleanup of any kind."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM, as systemd or docker would, then SIGKILL after 20 s."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                async with asyncio.timeout(20):
                    await self.process.wait()
            except TimeoutError:
                await self.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # any worker left behind

    def log_text(self) -> str:
        return self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""


async def start_bot(
    arguments: Sequence[str],
    env: dict[str, str],
    log: Path,
    port: int,
    overrides: Sequence[str] = (),
) -> BotProcess:
    """`facilitator <arguments>` through tests/faults/entry.py (`overrides` are its options)."""
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.faults.entry", *overrides, "--", *arguments,
            env=env, cwd=log.parent, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip
    return BotProcess(process, log, port)


@contextlib.asynccontextmanager
async def running(bots: list[BotProcess]) -> AsyncIterator[list[BotProcess]]:
    """Stops every process in `bots` (also ones appended later) when the block ends."""
    try:
        yield bots
    finally:
        for bot in bots:
            await bot.stop()


# -- Telegram's side of the webhook --------------------------------------------------------------


@dataclass
class Deliveries:
    """What Telegram knows: which updates got a 200, and what every attempt got."""

    acknowledged: set[int] = field(default_factory=set)
    statuses: dict[int, list[int | str]] = field(default_factory=dict)

    def record(self, update_id: int, outcome: int | str) -> None:
        self.statuses.setdefault(update_id, []).append(outcome)
        if outcome == 200:
            self.acknowledged.add(update_id)

    def refused(self) -> dict[int, list[int | str]]:
        """Attempts that were answered with something else than a 200."""
        return {
            update_id: [o for o in outcomes if isinstance(o, int) and o != 200]
            for update_id, outcomes in self.statuses.items()
            if any(isinstance(o, int) and o != 200 for o in outcomes)
        }


def webhook_session(connections: int = 32) -> aiohttp.ClientSession:
    """Telegram's side of the webhook: at most `connections` requests at a time, kept alive.

    aiohttp rather than httpx: an httpx client spends a few milliseconds of CPU on each
    request, more than the bot's own work on it, and these tests send thousands."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def post_once(
    session: aiohttp.ClientSession, url: str, update: dict[str, Any], deliveries: Deliveries
) -> None:
    """POST one update with the webhook's secret and record what Telegram would see: the
    status, or the name of the error when no answer came (a refused or dropped connection)."""
    headers = {"Content-Type": "application/json", SECRET_HEADER: WEBHOOK_SECRET}
    try:
        async with session.post(url, data=update_json(update), headers=headers) as reply:
            await reply.read()
            outcome: int | str = reply.status
    except (aiohttp.ClientError, TimeoutError) as error:
        outcome = f"{type(error).__name__}: {error}"
    deliveries.record(update["update_id"], outcome)


async def deliver(
    session: aiohttp.ClientSession,
    url: str,
    updates: Iterable[dict[str, Any]],
    deliveries: Deliveries,
    *,
    in_flight: int = 32,
) -> None:
    """POST each update with `in_flight` requests at a time, as Telegram's webhook does;
    only a 200 counts as delivered (a refused connection or an error is delivered later)."""
    queue = iter(list(updates))

    async def sender() -> None:
        for update in queue:
            await post_once(session, url, update, deliveries)

    await asyncio.gather(*(sender() for _ in range(in_flight)))


# -- the database, read from outside -------------------------------------------------------------


class Reader:
    """Reads the bot's tables with an engine of its own, as an operator would."""

    def __init__(self, url: str, schema: str | None) -> None:
        self.engine: AsyncEngine = create_engine(url, schema=schema, pool_size=2)

    async def rows(self, sql: str, **params: object) -> list[tuple[Any, ...]]:
        async with self.engine.connect() as conn:
            return [tuple(r) for r in await conn.execute(text(sql), params)]

    async def scalar(self, sql: str, **params: object) -> Any:
        [(value,)] = await self.rows(sql, **params)
        return value

    async def inbox_statuses(self) -> dict[str, int]:
        rows = await self.rows("select status, count(*) from inbox group by status")
        return {str(status): int(n) for status, n in rows}

    async def wait_for_inbox(
        self,
        expected: int,
        timeout: float,  # noqa: ASYNC109 - a deadline for the caller
        progress: Callable[[dict[str, int]], None] | None = None,
    ) -> float:
        """Wait until the inbox holds `expected` rows, none left to process; returns seconds."""
        started = time.monotonic()
        while True:
            statuses = await self.inbox_statuses()
            if progress is not None:
                progress(statuses)
            unfinished = sum(n for s, n in statuses.items() if s != "done")
            if sum(statuses.values()) >= expected and unfinished == 0:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"inbox not drained after {timeout}s: {statuses}")
            await asyncio.sleep(0.25)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def deliver_steadily(
    session: aiohttp.ClientSession,
    url: str,
    updates: Sequence[dict[str, Any]],
    deliveries: Deliveries,
    rate: float,
    *,
    redeliver_dropped: int = 0,
) -> None:
    """POST update i at `i / rate` seconds from now, whatever became of the ones before (an
    open loop, like Telegram's steady stream of updates under load). With
    `redeliver_dropped`, an update whose connection was dropped before any answer is posted
    again (up to that many times, a second apart), as Telegram does; every attempt is
    recorded."""
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def post(update: dict[str, Any]) -> None:
        for attempt in range(redeliver_dropped + 1):
            if attempt:
                await asyncio.sleep(1)
            await post_once(session, url, update, deliveries)
            last = deliveries.statuses[update["update_id"]][-1]
            if not isinstance(last, str):
                return  # an answer: only a dropped connection is tried again

    posts = []
    for n, update in enumerate(updates):
        delay = start + n / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        posts.append(asyncio.create_task(post(update)))
    await asyncio.gather(*posts)
