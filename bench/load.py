"""Sustained load: Telegram webhook updates sent at a steady rate to `facilitator serve`.

`facilitator serve --workers 2` runs as its own process on PostgreSQL (a private schema of the
test database), in Telegram webhook mode with a secret, its Bot API calls going to the fake Bot
API (`tests/adapters/fakes/telegram_api.py`) run inside this process. From here, group messages
(plain text, questions, replies that answer or thank, links; several groups, a few hundred
people) are POSTed to the webhook over loopback at a steady rate, through at most 40
connections like Telegram's default `max_connections`.

The load is open-loop: every update has its scheduled send time, and its latency runs from that
time to the acknowledgement, so it includes any queueing (in this process, in the connection
pool, in the server). Each rate runs for `--duration` seconds; then the inbox is given up to
`--drain` seconds to be worked off. Per rate: achieved rate, p50/p95/p99 of the
acknowledgement latency, errors, whether processing kept up (the inbox drained within
`--keep-up` seconds of the last send), and the CPU seconds per 1,000 updates of the server
(the uvicorn parent and its workers, from /proc/<pid>/stat, from the first send until the inbox
is drained), of the PostgreSQL backends serving its connections and of this process.

    python bench/load.py
    python bench/load.py --rates 50,100 --duration 10
    python bench/load.py --write docs/benchmarks.md
    python bench/load.py --rates 100,400 --variant 'h11+asyncio:http=h11,loop=asyncio' \\
        --variant 'httptools+uvloop:http=httptools,loop=uvloop'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import secrets
import shlex
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: `python bench/load.py`
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bench.benchmarks_doc import machine, write_section  # noqa: E402
from facilitator.storage.engine import create_engine  # noqa: E402
from tests.adapters.fakes.telegram_api import (  # noqa: E402
    DEFAULT_TOKEN,
    FakeTelegramAPI,
    supergroup_chat,
    text_update,
    user,
)

SECTION = "## Sustained load"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CONNECTIONS = 40  # Telegram's default max_connections for a webhook
TARGET_P95_MS = 200.0
STATS_DELAY = 1.5  # seconds: PostgreSQL's statistics are at most a second behind
WAITING = ("pending", "processing", "retry")
FINISHED = ("done", "rejected", "failed")
TEXTS = (
    "Les comparto el informe del taller de la semana pasada",
    "Great session today, thanks to everyone who joined",
    "Estamos cerrando la sistematización del piloto",
    "Bom dia a todos, semana cheia por aqui",
    "I'll share the slides after lunch",
    "Alguien más va al encuentro regional?",
)
QUESTIONS = (
    "¿Alguien tiene una plantilla de términos de referencia?",
    "How do you measure engagement in your community?",
    "Alguém conhece um bom guia de facilitação?",
    "Where can I find last week's recording?",
)


# -- the updates ----------------------------------------------------------------------------


class Conversations:
    """Group messages as Telegram sends them, generated on demand: each group has its members,
    its message ids and its recent messages, which replies (answers and thanks) point at."""

    def __init__(self, groups: int, people: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.chats = [
            supergroup_chat(-1007780000 - n, f"Load group {n + 1}") for n in range(groups)
        ]
        self.people = [
            user(6_000_000 + n, f"Person {n}", language_code=("es", "pt", "en")[n % 3])
            for n in range(people)
        ]
        self.members = [
            self.rng.sample(self.people, min(len(self.people), 60)) for _ in self.chats
        ]
        self.message_ids = [0] * groups
        self.recent: list[list[tuple[int, dict[str, Any]]]] = [[] for _ in self.chats]
        self.update_id = 1_000_000

    def next(self, date: int) -> str:
        group = self.rng.randrange(len(self.chats))
        chat, sender = self.chats[group], self.rng.choice(self.members[group])
        self.message_ids[group] += 1
        self.update_id += 1
        message_id = self.message_ids[group]
        roll = self.rng.random()
        if roll < 0.10:
            body = self.rng.choice(QUESTIONS)
        elif roll < 0.15:
            body = f"Miren esto: https://example.org/recurso/{self.update_id}"
        elif roll < 0.22:
            body = "¡Gracias!"
        else:
            body = self.rng.choice(TEXTS)
        update = text_update(
            body,
            from_user=sender,
            chat=chat,
            message_id=message_id,
            update_id=self.update_id,
            date=date,
        )
        recent = self.recent[group]
        if 0.15 <= roll < 0.30 and recent:
            target, author = self.rng.choice(recent)
            update["message"]["reply_to_message"] = {
                "message_id": target,
                "from": author,
                "chat": chat,
                "date": date - 60,
                "text": "…",
            }
        recent.append((message_id, sender))
        del recent[:-50]
        return json.dumps(update, ensure_ascii=False)


# -- the server process -----------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One `facilitator serve` of the run: a label and the settings it differs by."""

    label: str
    http: str | None = None  # FACILITATOR_HTTP_IMPLEMENTATION
    loop: str | None = None  # FACILITATOR_HTTP_LOOP
    pool_size: int | None = None  # FACILITATOR_DATABASE_POOL_SIZE
    max_overflow: int | None = None  # FACILITATOR_DATABASE_MAX_OVERFLOW

    @classmethod
    def parse(cls, spec: str) -> Variant:
        """`LABEL:key=value,...` with keys http, loop, pool, overflow; `LABEL` alone: defaults."""
        label, _, rest = spec.partition(":")
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in rest.split(","))):
            key, _, value = item.partition("=")
            if key in ("http", "loop"):
                values[key] = value
            elif key == "pool":
                values["pool_size"] = int(value)
            elif key == "overflow":
                values["max_overflow"] = int(value)
            else:
                raise ValueError(f"unknown key {key!r} in --variant {spec!r}")
        return cls(label or "default", **values)

    def env(self) -> dict[str, str]:
        found = {
            "FACILITATOR_HTTP_IMPLEMENTATION": self.http,
            "FACILITATOR_HTTP_LOOP": self.loop,
            "FACILITATOR_DATABASE_POOL_SIZE": self.pool_size,
            "FACILITATOR_DATABASE_MAX_OVERFLOW": self.max_overflow,
        }
        return {name: str(value) for name, value in found.items() if value is not None}

    def describe(self) -> str:
        return ", ".join(f"`{k}={v}`" for k, v in self.env().items()) or "default settings"


@dataclass
class Server:
    variant: Variant
    process: asyncio.subprocess.Process
    url: str
    secret: str
    log: Path
    engine: AsyncEngine
    database: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(
    postgres: str, workers: int, api: FakeTelegramAPI, folder: Path, variant: Variant
) -> AsyncIterator[Server]:
    """`facilitator serve --workers N` on a new database of the PostgreSQL server named by
    `postgres` (its own, so that PostgreSQL counts the connections it opens); stopped
    (SIGTERM) and the database dropped after."""
    database = f"load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{database}"'))
    url = make_url(postgres).set(database=database).render_as_string(hide_password=False)
    port, secret = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACILITATOR_", "TELEGRAM_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=secret,
        FACILITATOR_TELEGRAM_API_BASE_URL=api.base_url,
        FACILITATOR_TELEGRAM_PUBLISH_COMMANDS_ON_START="false",
        FACILITATOR_DATABASE_URL=url,
        FACILITATOR_HTTP_PORT=str(port),
        FACILITATOR_PROMPTS_DIR=str(ROOT / "prompts"),
        FACILITATOR_DATA_DIR=str(ROOT / "data"),
        PYTHONPATH=str(ROOT),
        **variant.env(),
    )
    folder = folder / uuid.uuid4().hex[:8]
    folder.mkdir()
    log = folder / "serve.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "facilitator.cli", "serve", "--workers", str(workers)),
            cwd=folder,
            env=env,
            stdout=out,
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base, process, workers)
        engine = create_engine(url)
        yield Server(variant, process, base, secret, log, engine, database)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(60):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await admin.dispose()


async def sessions_opened(engine: AsyncEngine, database: str) -> int:
    """Connections PostgreSQL has accepted to `database` since its statistics began."""
    async with engine.connect() as conn:
        found = await conn.scalar(
            text("select sessions from pg_stat_database where datname = :name"), {"name": database}
        )
    return int(found or 0)


async def wait_ready(url: str, process: asyncio.subprocess.Process, workers: int) -> None:
    """Until /readyz says 200 and every worker is up (each a child of the uvicorn parent)."""
    async with aiohttp.ClientSession() as session, asyncio.timeout(120):
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"facilitator serve exited with {process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{url}/readyz") as answer:
                    if answer.status == 200 and len(descendants(process.pid)) >= workers:
                        return
            await asyncio.sleep(0.2)


# -- CPU time from /proc ----------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat: pid, command name, then field 3 onwards."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    return [raw[: raw.index(" ")], name, *raw[raw.rindex(")") + 2 :].split()]


def _processes() -> Iterator[tuple[int, int]]:
    """(pid, parent pid) of every process."""
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            yield int(entry), int(fields[3])


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for child, parent in _processes():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_times(pids: list[int]) -> dict[int, float]:
    """User plus system time of each process still there, in seconds."""
    times = {}
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            times[pid] = (int(fields[13]) + int(fields[14])) / TICK
    return times


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings: what the processes there at the end used since the
    first (all of it, for processes started in between). A process gone by the end is left
    out: its time cannot be read any more."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def local_ports(pids: list[int]) -> set[int]:
    """Local TCP ports of the sockets the processes hold (their database connections among
    them), from /proc/<pid>/fd and /proc/net/tcp."""
    inodes: set[str] = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            next(fh)
            for line in fh:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def backends(engine: AsyncEngine, server_pids: list[int]) -> list[int]:
    """The PostgreSQL processes serving the server's connections (matched by client port), so
    that other clients of a shared database server are not counted."""
    ports = local_ports(server_pids)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("select pid, client_port from pg_stat_activity where client_port is not null")
        )
        return [int(pid) for pid, port in rows.all() if int(port) in ports]


# -- one rate -------------------------------------------------------------------------------


@dataclass
class Sent:
    lag: float  # how late the send started against its schedule
    latency: float  # schedule to acknowledgement
    status: int | str


@dataclass
class Phase:
    rate: int
    duration: float
    variant: str = ""
    sent: list[Sent] = field(default_factory=list)
    window: float = 0.0
    backlog_max: int = 0
    drained_after: float | None = None
    finished: dict[str, int] = field(default_factory=dict)
    server_cpu: float = 0.0
    postgres_cpu: float = 0.0
    bench_cpu: float = 0.0
    server_errors: int = 0
    workers_changed: bool = False
    handled: int = 0  # inbox rows finished during the phase (acknowledged or not)
    backends_seen: int = 0
    connections_opened: int = 0

    @property
    def ok(self) -> list[Sent]:
        return [s for s in self.sent if s.status == 200]

    def summary(self, keep_up: float) -> dict[str, Any]:
        ok = sorted(s.latency for s in self.ok)
        quantiles = statistics.quantiles(ok, n=100, method="inclusive") if len(ok) > 1 else []
        per_thousand = 1000 / self.handled if self.handled else 0.0
        return {
            "variant": self.variant,
            "rate": self.rate,
            "sent": len(self.sent),
            "achieved": len(ok) / self.window if self.window else 0.0,
            "p50_ms": quantiles[49] * 1000 if quantiles else None,
            "p95_ms": quantiles[94] * 1000 if quantiles else None,
            "p99_ms": quantiles[98] * 1000 if quantiles else None,
            "max_ms": ok[-1] * 1000 if ok else None,
            "late_sends_p99_ms": statistics.quantiles(
                [s.lag for s in self.sent], n=100, method="inclusive"
            )[98]
            * 1000
            if len(self.sent) > 1
            else 0.0,
            "errors": len(self.sent) - len(ok),
            "error_kinds": sorted({str(s.status) for s in self.sent if s.status != 200}),
            "backlog_max": self.backlog_max,
            "drained_after_s": self.drained_after,
            "kept_up": self.drained_after is not None and self.drained_after <= keep_up,
            "inbox": self.finished,
            "handled": self.handled,
            "postgres_backends_seen": self.backends_seen,
            "connections_opened": self.connections_opened,
            "server_cpu_per_1000": self.server_cpu * per_thousand,
            "postgres_cpu_per_1000": self.postgres_cpu * per_thousand,
            "bench_cpu_per_1000": self.bench_cpu * per_thousand,
            "server_cpu_s": self.server_cpu,
            "server_error_lines": self.server_errors,
            "workers_changed": self.workers_changed,
        }


async def backlog(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        waiting = ", ".join(f"'{s}'" for s in WAITING)
        found = await conn.scalar(text(f"select count(*) from inbox where status in ({waiting})"))
    return int(found or 0)


async def inbox_counts(
    engine: AsyncEngine, statuses: tuple[str, ...] | None = None
) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("select status, count(*) from inbox group by status"))
        counts = {str(status): int(n) for status, n in rows.all()}
    return {k: v for k, v in counts.items() if statuses is None or k in statuses}


def error_lines(log: Path, start: int) -> tuple[int, int]:
    """ERROR records written to the server's log since byte `start`, and the new end."""
    with log.open("rb") as fh:
        fh.seek(start)
        chunk = fh.read()
    return chunk.count(b" ERROR "), start + len(chunk)


class Backends:
    """CPU of the PostgreSQL backends serving the server's connections, read at every sample.

    A connection opened and closed between two samples (SQLAlchemy closes the overflow
    connections it opened beyond the pool as soon as they are returned) is missed, so the
    figure is a lower bound; `seen` counts the backends found."""

    def __init__(self, engine: AsyncEngine, server_pids: list[int]) -> None:
        self._engine = engine
        self._server_pids = server_pids
        self._before: dict[int, float] = {}
        self._latest: dict[int, float] = {}

    async def start(self) -> None:
        self._before = cpu_times(await backends(self._engine, self._server_pids))
        self._latest = dict(self._before)

    async def sample(self) -> None:
        self._latest.update(cpu_times(await backends(self._engine, self._server_pids)))

    @property
    def used(self) -> float:
        return cpu_used(self._before, self._latest)

    @property
    def seen(self) -> int:
        return len(self._latest)


async def run_rate(
    server: Server,
    session: aiohttp.ClientSession,
    conversations: Conversations,
    rate: int,
    duration: float,
    drain: float,
    log_offset: int,
) -> tuple[Phase, int]:
    loop = asyncio.get_running_loop()
    count = max(1, round(rate * duration))
    phase = Phase(rate, duration, server.variant.label, [Sent(0.0, 0.0, "not sent")] * count)
    url = server.url + WEBHOOK_PATH
    headers = {SECRET_HEADER: server.secret, "Content-Type": "application/json"}
    workers = descendants(server.process.pid)
    server_pids = [server.process.pid, *workers]
    handled_before = sum((await inbox_counts(server.engine, FINISHED)).values())
    server_before = cpu_times(server_pids)
    database = Backends(server.engine, server_pids)
    await database.start()
    opened_before = await sessions_opened(server.engine, server.database)
    bench_before = time.process_time()
    first_date = int(time.time())

    async def deliver(index: int, at: float, body: str) -> None:
        lag = loop.time() - at
        status: int | str
        try:
            async with session.post(url, data=body.encode("utf-8"), headers=headers) as answer:
                await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as error:
            status = type(error).__name__
        phase.sent[index] = Sent(lag, loop.time() - at, status)

    async def sample(stop: asyncio.Event) -> None:
        while not stop.is_set():
            phase.backlog_max = max(phase.backlog_max, await backlog(server.engine))
            await database.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)

    stop = asyncio.Event()
    sampler = asyncio.create_task(sample(stop))
    tasks: list[asyncio.Task[None]] = []
    start = loop.time() + 0.1
    for index in range(count):
        at = start + index / rate
        body = conversations.next(first_date + int(index / rate))
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(deliver(index, at, body)))
    await asyncio.gather(*tasks)
    last_send = start + (count - 1) / rate
    phase.window = max(loop.time(), last_send) - start
    # Then the inbox is worked off: how long after the last send it is empty.
    deadline = loop.time() + drain
    while True:
        if await backlog(server.engine) == 0:
            phase.drained_after = loop.time() - last_send
            break
        if loop.time() > deadline:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await sampler
    await database.sample()
    now_workers = descendants(server.process.pid)
    phase.server_cpu = cpu_used(server_before, cpu_times([server.process.pid, *now_workers]))
    phase.postgres_cpu = database.used
    phase.backends_seen = database.seen
    phase.bench_cpu = time.process_time() - bench_before
    phase.workers_changed = sorted(now_workers) != sorted(workers)
    phase.finished = await inbox_counts(server.engine)
    phase.handled = sum((await inbox_counts(server.engine, FINISHED)).values()) - handled_before
    # A backend reports its session to the statistics within a second of going idle.
    await asyncio.sleep(STATS_DELAY)
    phase.connections_opened = (
        await sessions_opened(server.engine, server.database) - opened_before
    )
    phase.server_errors, log_offset = error_lines(server.log, log_offset)
    return phase, log_offset


async def idle_cpu(server: Server, seconds: float) -> dict[str, float]:
    """CPU the server and its database connections use per second with nothing to do (the
    workers' inbox and outbox polls, the scheduler): part of every rate's figures, and all
    of them at low rates."""
    pids = [server.process.pid, *descendants(server.process.pid)]
    serving = await backends(server.engine, pids)
    before = cpu_times(pids), cpu_times(serving)
    await asyncio.sleep(seconds)
    after = cpu_times(pids), cpu_times(serving)
    return {
        "seconds": seconds,
        "server_cpu_per_s": cpu_used(before[0], after[0]) / seconds,
        "postgres_cpu_per_s": cpu_used(before[1], after[1]) / seconds,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rates = [int(r) for r in args.rates.split(",")]
    variants = [Variant.parse(spec) for spec in args.variant] or [
        Variant("default", pool_size=args.pool_size)
    ]
    result: dict[str, Any] = {
        "machine": machine(),
        "load_average": os.getloadavg(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "workers": args.workers,
        "variants": [{"label": v.label, "settings": v.describe()} for v in variants],
        "groups": args.groups,
        "people": args.people,
        "duration": args.duration,
        "keep_up": args.keep_up,
        "idle": {},
        "rates": [],
    }
    async with contextlib.AsyncExitStack() as stack:
        api = await stack.enter_async_context(FakeTelegramAPI())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="load-")))
        servers: list[tuple[Server, Conversations]] = []
        for variant in variants:
            # Each server gets the same updates in the same order.
            conversations = Conversations(args.groups, args.people, args.seed)
            for chat in conversations.chats:
                api.add_chat(chat, member_count=60)
            server = await stack.enter_async_context(
                serving(args.postgres, args.workers, api, folder, variant)
            )
            stack.push_async_callback(server.engine.dispose)
            servers.append((server, conversations))
        connector = aiohttp.TCPConnector(limit=CONNECTIONS)
        timeout = aiohttp.ClientTimeout(total=args.timeout)
        session = await stack.enter_async_context(
            aiohttp.ClientSession(connector=connector, timeout=timeout)
        )
        offsets = {id(server): 0 for server, _ in servers}
        for server, conversations in servers:
            result["idle"][server.variant.label] = await idle_cpu(server, args.idle)
            if args.warmup > 0:  # first requests: connections, first people and groups
                _, offsets[id(server)] = await run_rate(
                    server, session, conversations, min(rates), args.warmup, args.drain, 0
                )
        for index, rate in enumerate(rates):
            # Side by side: each rate runs on every server in turn, the order alternating
            # from one rate to the next so that neither always goes first on a shared machine.
            for server, conversations in servers if index % 2 == 0 else servers[::-1]:
                phase, offsets[id(server)] = await run_rate(
                    server,
                    session,
                    conversations,
                    rate,
                    args.duration,
                    args.drain,
                    offsets[id(server)],
                )
                summary = phase.summary(args.keep_up)
                result["rates"].append(summary)
                print(json.dumps(summary, default=str), flush=True)
        result["replies_sent"] = len([c for c in api.calls if c.method == "sendMessage"])
    result["load_average_at_end"] = os.getloadavg()
    result["highest_held"], result["highest_kept_up"] = {}, {}
    for variant in variants:
        rows = [r for r in result["rates"] if r["variant"] == variant.label]
        held = [r["rate"] for r in rows if is_held(r)]
        kept = [r["rate"] for r in rows if r["kept_up"]]
        result["highest_held"][variant.label] = max(held, default=None)
        result["highest_kept_up"][variant.label] = max(kept, default=None)
    return result


def is_held(row: dict[str, Any]) -> bool:
    """Acknowledged within target: p95 under 200 ms, no errors, at least 95% of the rate."""
    p95 = row["p95_ms"]
    return (
        p95 is not None
        and p95 < TARGET_P95_MS
        and row["errors"] == 0
        and row["achieved"] >= 0.95 * row["rate"]
    )


# -- the report -----------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def report(command: str, result: dict[str, Any], heading: str = SECTION) -> str:
    load = ", ".join(f"{x:.2f}" for x in result["load_average"])
    end = ", ".join(f"{x:.2f}" for x in result["load_average_at_end"])
    variants = result["variants"]
    several = len(variants) > 1
    servers = "; ".join(f"{v['label']}: {v['settings']}" for v in variants)
    lines = [
        heading,
        "",
        f"- Machine: {result['machine']}; load average {load} at the start, {end} at the end "
        "(the machine is shared; the benchmark itself keeps both cores busy at high rates)",
        f"- Date: {result['date']}",
        f"- Command: `{command}`",
        f"- Setup: `facilitator serve --workers {result['workers']}` (uvicorn, default INFO "
        f"logging to a file; {servers}) on PostgreSQL (a database of its own on the local "
        "server), Telegram webhook mode with its secret; its Bot API calls go to the fake Bot "
        "API (`tests/adapters/fakes/telegram_api.py`) inside the load generator's process. The "
        "generator, on the same machine, POSTs Telegram group messages over loopback through "
        f"at most {CONNECTIONS} connections (Telegram's default `max_connections`): "
        f"{result['groups']} groups, {result['people']} people; plain text, questions, "
        "replies that answer or thank, links. Open loop: each update has its scheduled send "
        "time and its latency runs from that time to the 200, so it includes queueing in the "
        f"generator and in the server. Each rate for {result['duration']:.0f} s, after a "
        "warm-up; then the inbox is given time to drain."
        + (
            " The servers run side by side, each on its own database, started together and "
            "given the same updates; each rate runs on one and then on the other, the order "
            "alternating from one rate to the next, while the other server idles."
            if several
            else ""
        ),
        "- Processing kept up: the inbox (stored updates not yet handled) was empty within "
        f"{result['keep_up']:.0f} s of the last send. CPU per 1,000 updates handled (stored "
        "and processed, whether or not the generator had waited for the answer): user + "
        "system time from /proc from the first send until the inbox was empty, for the server "
        "(the uvicorn parent and its workers), the PostgreSQL backends serving the server's "
        "connections (read every half second: a connection opened and closed in between is "
        "missed, so that column is a lower bound) and the generator. Database connections "
        "opened: the sessions PostgreSQL counted on the server's database "
        "(`pg_stat_database.sessions`) from the first send until the inbox was empty; "
        "SQLAlchemy opens one beyond the pool whenever the pool is short, and closes it when "
        "it is returned.",
        "",
        ("| server " if several else "")
        + "| target/s | achieved/s | p50 ms | p95 ms | p99 ms | errors | generator late, "
        "p99 ms | kept up (drained after) | most waiting | database connections opened "
        "| CPU s per 1,000: server | PostgreSQL | generator |",
        ("|---" if several else "") + "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:"
        "|---:|---:|---:|",
    ]
    order = {v["label"]: n for n, v in enumerate(variants)}
    for row in sorted(result["rates"], key=lambda r: (r["rate"], order[r["variant"]])):
        drained = row["drained_after_s"]
        kept = "yes" if row["kept_up"] else "no"
        after = "not within the drain time" if drained is None else f"{max(drained, 0):.1f} s"
        lines.append(
            (f"| {row['variant']} " if several else "")
            + f"| {row['rate']} | {row['achieved']:,.1f} | {_ms(row['p50_ms'])} "
            f"| {_ms(row['p95_ms'])} | {_ms(row['p99_ms'])} | {row['errors']} "
            f"| {_ms(row['late_sends_p99_ms'])} | {kept} ({after}) | {row['backlog_max']:,} "
            f"| {row['connections_opened']:,} "
            f"| {row['server_cpu_per_1000']:.2f} "
            f"| {row['postgres_cpu_per_1000']:.2f} | {row['bench_cpu_per_1000']:.2f} |"
        )
    lowest = min(r["rate"] for r in result["rates"])
    lines.append("")
    for variant in variants:
        label = variant["label"]
        idle = result["idle"][label]
        held, kept_up = result["highest_held"][label], result["highest_kept_up"][label]
        lines += [
            (f"{label}: " if several else "")
            + f"idle, over {idle['seconds']:.0f} s before the first rate, the server used "
            f"{idle['server_cpu_per_s']:.3f} CPU s per second and its database connections "
            f"{idle['postgres_cpu_per_s']:.3f} (polls of the inbox and the outbox, the "
            "scheduler); that is included in every row above: at the lowest rate it adds "
            f"{1000 * idle['server_cpu_per_s'] / lowest:.2f} server CPU s per 1,000 updates. "
            f"Highest rate held (p95 under {TARGET_P95_MS:.0f} ms, no errors, at least 95% of "
            f"the target achieved): {f'{held}/s' if held else 'none of those tried'}. Highest "
            "rate at which processing kept up: "
            f"{f'{kept_up}/s' if kept_up else 'none of those tried'}.",
            "",
        ]
    if several:
        first, second = variants[0]["label"], variants[1]["label"]
        lines += [f"Ratios, {second} to {first}, at each rate:", ""]
        for rate in sorted({r["rate"] for r in result["rates"]}):
            pair = {r["variant"]: r for r in result["rates"] if r["rate"] == rate}
            a, b = pair.get(first), pair.get(second)
            if a is None or b is None:
                continue
            parts = [f"achieved {b['achieved'] / a['achieved']:.2f}×" if a["achieved"] else ""]
            if a["p95_ms"] and b["p95_ms"]:
                parts.append(f"p95 {b['p95_ms'] / a['p95_ms']:.2f}×")
            if a["server_cpu_per_1000"]:
                cpu = b["server_cpu_per_1000"] / a["server_cpu_per_1000"]
                parts.append(f"server CPU per 1,000 {cpu:.2f}×")
            lines.append(f"- {rate}/s: " + ", ".join(p for p in parts if p))
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL")
    parser.add_argument("--rates", default="50,100,200,400", help="updates/s, comma-separated")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per rate")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds at the lowest rate")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU measured")
    parser.add_argument("--drain", type=float, default=120.0, help="seconds to wait for the inbox")
    parser.add_argument("--keep-up", type=float, default=5.0, help="drained within, seconds")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--pool-size",
        type=int,
        default=None,
        help="FACILITATOR_DATABASE_POOL_SIZE (default: derived from the workers)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL:KEY=VALUE,...",
        help="a server to run side by side with the others, its settings among http (auto, "
        "h11, httptools), loop (auto, asyncio, uvloop), pool and overflow: e.g. "
        "'h11+asyncio:http=h11,loop=asyncio'; repeat it, each rate then runs on each in turn",
    )
    parser.add_argument("--section", default=SECTION, help="heading of the section written")
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--write", type=Path, default=None, help="docs/benchmarks.md to update")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2, default=str))
    if args.write is not None:
        given = argv if argv is not None else sys.argv[1:]
        command = shlex.join(["python", "bench/load.py", *given])
        write_section(args.write, args.section, report(command, result, args.section))


if __name__ == "__main__":
    main()
