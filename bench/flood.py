"""Fairness under a flood and a flood wait: this tree against the release before it, side by side.

Both run as `facilitator serve` processes (SQLite, Telegram webhook with a secret), one after
the other on the same machine, with the same environment, the same interpreter and the same
updates; their Bot API calls go to the fake Bot API (`tests/adapters/fakes/telegram_api.py`)
run inside this process, which only counts sends over Telegram's flood limits (it answers none
of them 429: the bot's own flood limiter is what paces). The baseline is checked out from git
into a temporary worktree (removed at the end) and run from there.

1. Flood: one member sends 1,000 /help in one supergroup within about 7 s (webhook POSTs at
   most 40 at a time, Telegram's default `max_connections`, with real `date` timestamps).
   After the first 100 are acknowledged, six other people send /help: three in private chats,
   three in another group. Measured: seconds from each one's POST to the bot's sendMessage to
   its chat, the replies the flooding member got in the first 120 s, the inbox rows done
   after 120 s, and /readyz after 60 s.
2. Long flood wait: the fake answers every sendMessage to one group 429 with retry_after
   123456; a member there sends /help; then a /help in a private chat and one in another
   group. Measured: seconds until those two are answered, and /readyz.
3. Short flood wait: the same with retry_after 8.

    python bench/flood.py --no-write --flood 200 --cap 30       # a quick look
    python bench/flood.py --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: `python bench/flood.py`
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.benchmarks_doc import machine, write_section  # noqa: E402
from bench.load import free_port  # noqa: E402
from tests.adapters.fakes.telegram_api import (  # noqa: E402
    DEFAULT_TOKEN,
    FakeTelegramAPI,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)

SECTION = "## Fairness under a flood and a flood wait"
BASELINE = "ca5d33d"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET = "flood-bench-webhook-secret"
CONNECTIONS = 40  # Telegram's default max_connections for a webhook
FLOODED = supergroup_chat(-1009100001, "Flooded group")
QUIET = supergroup_chat(-1009100002, "Quiet group")
FLOODER = user(9001, "Flo")
IN_PRIVATE = [user(9101 + n, f"Private {n}") for n in range(3)]
IN_QUIET = [user(9201 + n, f"Quiet {n}") for n in range(3)]
ELSEWHERE = user(9301, "Elsewhere")


# -- the two trees ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    """A checkout of the bot: `facilitator serve` runs from it, with its own prompts and data."""

    label: str
    path: Path


@contextlib.contextmanager
def baseline_tree(commit: str) -> Any:
    """A detached worktree of `commit` from this repository, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="facilitator-baseline-"))
    folder.rmdir()
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), commit],
        check=True,
        capture_output=True,
    )
    try:
        yield Tree(f"baseline ({commit})", folder)
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)],
            check=False,
            capture_output=True,
        )


# -- the server process -------------------------------------------------------------------------


@dataclass
class Server:
    process: asyncio.subprocess.Process
    url: str
    database: Path
    log: Path


def environment(tree: Tree, api: FakeTelegramAPI, database: Path, port: int) -> dict[str, str]:
    """The same for both trees but for where the code, prompts and data come from."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FACILITATOR_", "TELEGRAM_", "SLACK_", "PYTHON"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        FACILITATOR_TELEGRAM_API_BASE_URL=api.base_url,
        FACILITATOR_TELEGRAM_PUBLISH_COMMANDS_ON_START="false",
        FACILITATOR_SEMANTIC="off",
        FACILITATOR_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        FACILITATOR_HTTP_PORT=str(port),
        FACILITATOR_PROMPTS_DIR=str(tree.path / "prompts"),
        FACILITATOR_DATA_DIR=str(tree.path / "data"),
        PYTHONPATH=str(tree.path),
        PYTHONUNBUFFERED="1",
    )
    return env


@contextlib.asynccontextmanager
async def serving(tree: Tree, api: FakeTelegramAPI, folder: Path) -> AsyncIterator[Server]:
    """`python -m facilitator.cli serve` from `tree`; stopped (SIGTERM, then kill) after."""
    port, database, log = free_port(), folder / "bot.db", folder / "serve.log"
    env = environment(tree, api, database, port)
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "facilitator.cli", "serve"),
            cwd=tree.path,
            env=env,
            stdout=out,
            stderr=out,
        )
    server = Server(process, f"http://127.0.0.1:{port}", database, log)
    try:
        await wait_ready(server)
        yield server
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(20):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def wait_ready(server: Server) -> None:
    async with aiohttp.ClientSession() as session, asyncio.timeout(120):
        while True:
            if server.process.returncode is not None:
                tail = server.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"serve exited with {server.process.returncode}:\n{tail}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{server.url}/readyz") as answer:
                    if answer.status == 200:
                        return
            await asyncio.sleep(0.2)


def code_of(tree: Tree) -> str:
    """Where the serving interpreter imports `facilitator` from (checks PYTHONPATH won)."""
    found = subprocess.run(
        [sys.executable, "-c", "import facilitator; print(facilitator.__file__)"],
        cwd=tree.path,
        env={**os.environ, "PYTHONPATH": str(tree.path)},
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()


# -- updates and what came of them ---------------------------------------------------------------


class Updates:
    """Numbered /help updates, dated when they are made (the budget counts by that date)."""

    def __init__(self) -> None:
        self.next_id = 1

    def help(self, sender: dict[str, Any], chat: dict[str, Any]) -> str:
        update_id, self.next_id = self.next_id, self.next_id + 1
        update = text_update(
            "/help",
            from_user=sender,
            chat=chat,
            message_id=update_id,
            update_id=update_id,
            date=int(time.time()),
        )
        return json.dumps(update)


async def post(session: aiohttp.ClientSession, url: str, body: str) -> int:
    headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET}
    async with session.post(url + WEBHOOK_PATH, data=body, headers=headers) as answer:
        await answer.read()
        return answer.status


async def readyz(url: str) -> tuple[str, str]:
    """(status, body) of /readyz, or what kept it from answering within 10 s."""
    try:
        async with (
            aiohttp.ClientSession() as session,
            asyncio.timeout(10),
            session.get(url + "/readyz") as answer,
        ):
            return str(answer.status), (await answer.text()).strip()
    except TimeoutError:
        return "no answer in 10 s", ""
    except aiohttp.ClientError as error:
        return f"error: {type(error).__name__}", ""


def sends_to(api: FakeTelegramAPI, chat_id: int, *, ok: bool = True) -> list[float]:
    """When the fake received each sendMessage to `chat_id` (answered 200, if `ok`)."""
    return [
        c.at
        for c in api.calls_to("sendMessage")
        if c.params.get("chat_id") == chat_id and (c.ok or not ok)
    ]


def inbox_counts(database: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
        try:
            rows = connection.execute("select status, count(*) from inbox group by status")
            return {str(status): int(n) for status, n in rows}
        except sqlite3.OperationalError:
            return {}


async def until(condition: Callable[[], bool], deadline: float) -> None:
    """Poll `condition` (what the fake received) every 50 ms until it holds or `deadline`."""
    while not condition() and time.monotonic() < deadline:  # noqa: ASYNC110 - polls the fake
        await asyncio.sleep(0.05)


def waited(asked: float, answers: list[float], cap: float) -> float | None:
    """Seconds from `asked` to the first answer after it, None if none within `cap`."""
    first = min((at for at in answers if at >= asked), default=None)
    if first is None or first - asked > cap:
        return None
    return first - asked


# -- the scenarios -------------------------------------------------------------------------------


@dataclass
class Result:
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


async def flood(tree: Tree, size: int, seconds: float, cap: float, ready_at: float) -> Result:
    result = Result()
    async with FakeTelegramAPI() as api:
        api.enforce_limits(30, 1, 20, answer_429=False)
        with tempfile.TemporaryDirectory() as tmp:
            async with serving(tree, api, Path(tmp)) as server:
                updates = Updates()
                acknowledged = 0
                statuses: dict[int, int] = {}
                hundred = asyncio.Event()
                connector = aiohttp.TCPConnector(limit=CONNECTIONS)
                async with aiohttp.ClientSession(
                    connector=connector, timeout=aiohttp.ClientTimeout(total=None)
                ) as session:
                    started = time.monotonic()

                    async def one(n: int) -> None:
                        nonlocal acknowledged
                        await asyncio.sleep(
                            max(0.0, started + n * seconds / size - time.monotonic())
                        )
                        status = await post(session, server.url, updates.help(FLOODER, FLOODED))
                        statuses[status] = statuses.get(status, 0) + 1
                        acknowledged += 1
                        if acknowledged >= min(100, size):
                            hundred.set()

                    flooding = asyncio.gather(*(one(n) for n in range(size)))
                    await hundred.wait()
                    # The six write while the flood is arriving, each on a connection of its own.
                    askers = [(p, private_chat(p)) for p in IN_PRIVATE] + [
                        (p, QUIET) for p in IN_QUIET
                    ]
                    asked: list[tuple[dict[str, Any], dict[str, Any], float]] = []

                    async def ask(person: dict[str, Any], chat: dict[str, Any]) -> None:
                        body = updates.help(person, chat)
                        asked.append((person, chat, time.monotonic()))
                        async with aiohttp.ClientSession() as own:
                            status = await post(own, server.url, body)
                        statuses[status] = statuses.get(status, 0) + 1

                    await asyncio.gather(*(ask(p, c) for p, c in askers))
                    await flooding
                    flood_seconds = time.monotonic() - started

                    def six_answered() -> bool:
                        return all(answer_of(api, asked, n) for n in range(len(asked)))

                    await until(six_answered, started + ready_at)
                    await asyncio.sleep(max(0.0, started + ready_at - time.monotonic()))
                    ready = await readyz(server.url)
                    last_asked = max(at for _, _, at in asked)
                    await until(six_answered, max(started + cap, last_asked + cap))
                    await asyncio.sleep(max(0.0, started + cap - time.monotonic()))
                    counts = inbox_counts(server.database)
                    flood_replies = sum(
                        1 for at in sends_to(api, FLOODED["id"]) if at <= started + cap
                    )
                    await until(six_answered, last_asked + cap)

            for n in sorted(range(len(asked)), key=lambda n: asked[n][0]["id"]):
                person, chat, at = asked[n]
                where = "private chat" if chat["type"] == "private" else "other group"
                seconds_ = waited(at, answer_of(api, asked, n), cap)
                result.metrics[f"{person['first_name']} ({where}): seconds to answer"] = seconds_
            result.metrics[f"replies to the flooding member in the first {cap:.0f} s"] = (
                flood_replies
            )
            result.metrics[f"inbox rows done after {cap:.0f} s (of {size + 6:,})"] = counts.get(
                "done", 0
            )
            result.metrics[f"/readyz after {ready_at:.0f} s"] = ready
            result.notes.update(
                flood_seconds=round(flood_seconds, 2),
                post_statuses=statuses,
                inbox=counts,
                over_limits=len(api.violations),
                sends=len(api.calls_to("sendMessage")),
            )
    return result


def answer_of(
    api: FakeTelegramAPI, asked: list[tuple[dict[str, Any], dict[str, Any], float]], n: int
) -> list[float]:
    """When the n-th asker was answered. A reply in a group quotes nothing, so there the k-th
    reply after the first of them asked is the answer to the k-th to ask."""
    person, chat, at = asked[n]
    if chat["type"] == "private":
        return sends_to(api, person["id"])
    same = sorted(a for _, c, a in asked if c["id"] == chat["id"])
    replies = sorted(t for t in sends_to(api, chat["id"]) if t >= same[0])
    rank = same.index(at)
    return replies[rank : rank + 1]


async def flood_wait(tree: Tree, retry_after: int, cap: float) -> Result:
    result = Result()
    held, other = FLOODED, QUIET
    async with FakeTelegramAPI() as api:
        api.enforce_limits(30, 1, 20, answer_429=False)
        # A long wait: every send to the held group refused; a short one: the first only.
        times = None if retry_after >= cap else 1
        api.fail_next("sendMessage", 429, retry_after=retry_after, times=times, chat_id=held["id"])
        with tempfile.TemporaryDirectory() as tmp:
            async with serving(tree, api, Path(tmp)) as server:
                updates = Updates()
                async with aiohttp.ClientSession() as session:
                    first = time.monotonic()
                    await post(session, server.url, updates.help(FLOODER, held))
                    await until(
                        lambda: bool(sends_to(api, held["id"], ok=False)), time.monotonic() + 30
                    )
                    refused = bool(sends_to(api, held["id"], ok=False))
                    # The member in the held group asks again; then the two elsewhere.
                    await post(session, server.url, updates.help(FLOODER, held))
                    person = IN_PRIVATE[0]
                    asked = time.monotonic()
                    await asyncio.gather(
                        post(session, server.url, updates.help(person, private_chat(person))),
                        post(session, server.url, updates.help(ELSEWHERE, other)),
                    )

                    def both() -> bool:
                        return bool(sends_to(api, person["id"])) and bool(
                            sends_to(api, other["id"])
                        )

                    await until(both, asked + cap)
                    ready = await readyz(server.url)
                    if retry_after < cap:  # time for a retry after the wait, if any comes
                        await until(
                            lambda: bool(sends_to(api, held["id"])), first + retry_after + 5
                        )
            private = waited(asked, sends_to(api, person["id"]), cap)
            group = waited(asked, sends_to(api, other["id"]), cap)
            result.metrics["private chat: seconds to answer"] = private
            result.metrics["other group: seconds to answer"] = group
            calls = sends_to(api, held["id"], ok=False)
            wait_over = min(calls, default=first) + retry_after
            result.metrics["sendMessage calls to the held group before its wait was over"] = sum(
                1 for at in calls if at < wait_over
            )
            result.metrics["replies delivered to the held group (of 2)"] = len(
                sends_to(api, held["id"])
            )
            result.metrics["/readyz once both are answered (or at the cap)"] = ready
            result.notes.update(
                refused_429=refused,
                calls_to_held=len(sends_to(api, held["id"], ok=False)),
                over_limits=len(api.violations),
            )
    return result


# -- the report ----------------------------------------------------------------------------------


def seconds_text(value: float | None, cap: float) -> str:
    return f"> {cap:.0f} s, not answered" if value is None else f"{value:.2f} s"


def cell(value: Any, cap: float) -> str:
    if isinstance(value, tuple):
        status, body = value
        return f"{status} `{body}`" if body else status
    if value is None or isinstance(value, float):
        return seconds_text(value, cap)
    return f"{value:,}"


def ratio(metric: str, base: Any, ours: Any, cap: float) -> str:
    if isinstance(base, tuple) or isinstance(ours, tuple):
        return ""
    if "seconds" in metric:
        if ours is None:
            return "—"
        if base is None:
            return f"> {cap / max(ours, 0.01):,.0f}×"
        return f"{base / max(ours, 0.01):,.1f}×"
    if not ours:
        return "—"
    return f"{base / ours:,.2f}"


def table(base: Result, ours: Result, cap: float, label: str) -> list[str]:
    lines = [
        f"| metric | {label} | ours | ratio (baseline/ours) |",
        "|---|---|---|---:|",
    ]
    for metric, value in ours.metrics.items():
        other = base.metrics.get(metric)
        lines.append(
            f"| {metric} | {cell(other, cap)} | {cell(value, cap)} "
            f"| {ratio(metric, other, value, cap)} |"
        )
    return lines


def report(command: str, args: argparse.Namespace, results: dict[str, dict[str, Result]]) -> str:
    base, ours = f"baseline ({args.baseline})", "ours"
    label = base
    flooded, long_wait, short_wait = (results[k] for k in ("flood", "long", "short"))
    return "\n".join(
        [
            SECTION,
            "",
            f"- Machine: {machine()}",
            f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- Command: `{command}`",
            f"- Setup: the release before the per-member command budget, the fair inbox claims, "
            f"the per-conversation reply lanes and the per-chat flood waits (baseline, commit "
            f"`{args.baseline}`, checked out in a temporary git worktree) against this tree "
            "(ours), each as its own `python -m facilitator.cli serve` process (the same "
            "interpreter and environment: SQLite, the Telegram webhook with a secret, default "
            "settings, so a budget of 10 commands a minute for ours), one after the other, a "
            "fresh database for each scenario. The fake Bot API "
            "(`tests/adapters/fakes/telegram_api.py`) runs in the benchmark process and only "
            "counts sends over Telegram's flood limits (30 a second, 1 a second per chat, 20 a "
            "minute per group) without refusing them: the bots' own flood limiter paces. "
            "Updates are POSTed to the webhook over loopback with real `date` timestamps.",
            "",
            f"### 1. One member floods a group: {args.flood:,} /help in about "
            f"{args.flood_seconds:.0f} s",
            "",
            f"At most {CONNECTIONS} webhook POSTs at a time (Telegram's default "
            "`max_connections`). Once the flood's first 100 are acknowledged, six other people "
            "send /help, each on a connection of its own: three in private chats, three in "
            "another group. Seconds run from each one's POST to the fake receiving the bot's "
            "sendMessage to that chat (a reply in a group quotes nothing: the k-th reply there "
            f"counts as the answer to the k-th of the three to ask), capped "
            f"at {args.cap:.0f} s; the flood's replies and the done inbox rows are counted "
            f"{args.cap:.0f} s after the flood's first POST, /readyz asked after "
            f"{args.ready_at:.0f} s.",
            "",
            *table(flooded[base], flooded[ours], args.cap, label),
            "",
            f"Flood POSTed in {flooded[base].notes['flood_seconds']:.1f} s (baseline) and "
            f"{flooded[ours].notes['flood_seconds']:.1f} s (ours); webhook answers "
            f"{flooded[base].notes['post_statuses']} and {flooded[ours].notes['post_statuses']}; "
            f"inbox rows by status after {args.cap:.0f} s {flooded[base].notes['inbox']} and "
            f"{flooded[ours].notes['inbox']}; sends over a Telegram limit counted by the fake: "
            f"{flooded[base].notes['over_limits']} and {flooded[ours].notes['over_limits']}.",
            "",
            "### 2. A long flood wait in one group (429, retry_after 123456)",
            "",
            "Every sendMessage to one group is answered 429 with retry_after 123456. A member "
            "there sends /help; once the bot's send was refused, the same member sends /help "
            "again, then a /help in a private chat and one in another group are POSTed "
            "together; seconds from those two POSTs to their replies "
            f"(cap {args.wait_cap:.0f} s), /readyz once both are answered (or at the cap).",
            "",
            *table(long_wait[base], long_wait[ours], args.wait_cap, label),
            "",
            "### 3. A short flood wait in one group (429, retry_after 8)",
            "",
            "The same with retry_after 8, the fake refusing only the first send to the held "
            "group (it does not enforce the wait itself); the held group's replies are counted "
            "up to 13 s after its first /help.",
            "",
            *table(short_wait[base], short_wait[ours], args.wait_cap, label),
            "",
        ]
    )


async def run(args: argparse.Namespace) -> dict[str, dict[str, Result]]:
    results: dict[str, dict[str, Result]] = {"flood": {}, "long": {}, "short": {}}
    with baseline_tree(args.baseline) as baseline:
        trees = [baseline, Tree("ours", ROOT)]
        for tree in trees:
            print(f"{tree.label}: facilitator from {code_of(tree)}", file=sys.stderr)
        for tree in trees:
            outcome = await flood(tree, args.flood, args.flood_seconds, args.cap, args.ready_at)
            results["flood"][tree.label] = outcome
            print(f"{tree.label} flood: {outcome}", file=sys.stderr)
        for key, retry_after in (("long", 123456), ("short", 8)):
            for tree in trees:
                outcome = await flood_wait(tree, retry_after, args.wait_cap)
                results[key][tree.label] = outcome
                print(f"{tree.label} retry_after {retry_after}: {outcome}", file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", default=BASELINE, help="git commit to compare against")
    parser.add_argument("--flood", type=int, default=1000, help="/help updates in the flood")
    parser.add_argument("--flood-seconds", type=float, default=7.0)
    parser.add_argument("--cap", type=float, default=120.0, help="seconds, scenario 1")
    parser.add_argument("--ready-at", type=float, default=60.0, help="seconds, scenario 1")
    parser.add_argument("--wait-cap", type=float, default=60.0, help="seconds, scenarios 2-3")
    parser.add_argument("--write", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true")
    given = argv if argv is not None else sys.argv[1:]
    args = parser.parse_args(given)
    results = asyncio.run(run(args))
    command = "python bench/flood.py" + (" " + " ".join(given) if given else "")
    text = report(command, args, results)
    print(text)
    if not args.no_write:
        write_section(args.write, SECTION, text)


if __name__ == "__main__":
    main()
