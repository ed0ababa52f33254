"""One SQLite file used at once by everything a small installation runs on it: `serve` taking
webhook updates (its inbox worker and outbox dispatcher too), a member chatting in
`facilitator demo`, and an operator's commands (`admin grant`, `kb ingest`, `seed-activity`,
`db backup`). Nobody sees "database is locked" (not a member, not the operator, not the logs)
and every event is recorded.

tests/storage/test_sqlite_concurrency.py checks the mechanism (WAL, the busy timeout,
transactions that take the write lock up front) with engines in one process; this test checks
what people see when real processes share the file."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from facilitator.bootstrap import repositories
from facilitator.domain.model import Platform
from facilitator.domain.outbox import OutboxEntry
from facilitator.markup import Destination, OutboundMessage, RichText
from facilitator.storage import migrate
from facilitator.storage.database import Storage
from tests.adapters.fakes.telegram_api import FakeTelegramAPI
from tests.adapters.telegram_support import free_port, process_env, query, wait_until
from tests.conftest import REPO_ROOT
from tests.fake_credentials import secrets_in
from tests.faults.support import (
    Deliveries,
    bot_env,
    deliver_steadily,
    group_messages,
    ledger_event_id,
    running,
    start_bot,
    webhook_session,
    with_commands,
)

# Real processes, timed: one worker runs them one after another.
pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("faults")]

UPDATES = 1_000
COMMAND_EVERY = 50  # these get a reply
RATE = 150  # updates a second, while the operator's commands run
OUTBOX = 300  # messages queued before the start, sent while everything else goes on
LOCKED = "locked"  # sqlite3.OperationalError: database is locked / database table is locked
# A member's session in the terminal; each line is stored, then the whole inbox processed.
DEMO_SCRIPT = "\n".join(
    ["/help", "/faq visa", "/whoami", *["/lesson onboarding", "/me"] * 15, "/as bruno", "/help"]
)


def updates_and_commands() -> tuple[list[dict[str, Any]], dict[int, int]]:
    updates = group_messages(UPDATES, first_update_id=1, groups=8)
    return updates, with_commands(updates, COMMAND_EVERY, asker_base=8_500_000)


async def queue_outbox(url: str) -> None:
    await migrate.upgrade_async(url)
    storage = Storage(url, repositories=repositories())
    now = datetime.now(UTC)
    try:
        async with storage.uow_factory() as uow:
            for n in range(OUTBOX):
                chat = str(9_500_000 + n % 60)
                await uow.outbox.add(
                    OutboxEntry(
                        dedup_key=f"shared:{n}",
                        kind="shared",
                        destination=Destination(Platform.TELEGRAM, chat, is_direct=True),
                        message=OutboundMessage(RichText.of(f"Queued message {n}")),
                        due_at=now,
                    ),
                    now,
                )
            await uow.commit()
    finally:
        await storage.dispose()


async def run_cli(
    name: str, arguments: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None
) -> tuple[str, int, str]:
    """A `facilitator` command as an operator types it; returns (name, exit code, output)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "facilitator.cli", *arguments,
        env=env, cwd=cwd,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate(stdin.encode() if stdin is not None else None)
    assert process.returncode is not None
    return name, process.returncode, output.decode("utf-8", errors="replace")


async def test_processes_sharing_one_sqlite_file_never_show_database_is_locked(
    fake_telegram: FakeTelegramAPI, tmp_path: Path
) -> None:
    database = tmp_path / "shared.db"
    url = f"sqlite+aiosqlite:///{database}"
    await queue_outbox(url)
    updates, commands = updates_and_commands()
    messages = [u for u in updates if u["update_id"] not in commands]
    deliveries = Deliveries()
    port = free_port()
    serve_env = bot_env(fake_telegram, url, None, port)
    # The operator's shell: the same database, no platform credentials.
    operator = {
        k: v
        for k, v in process_env(fake_telegram, database, 0).items()
        if not k.startswith(("TELEGRAM_", "SLACK_"))
    }
    operator["PYTHONPATH"] = str(REPO_ROOT)
    fast = ["--telegram-rate", "1000", "--telegram-chat-rate", "1000"]
    async with (
        httpx.AsyncClient(timeout=30) as client,
        webhook_session(16) as telegram,
        running([]) as bots,
    ):
        bot = await start_bot(["serve"], serve_env, tmp_path / "serve.log", port, fast)
        bots.append(bot)
        await bot.wait_ready(client)
        sending = asyncio.create_task(
            # Six operator processes start at once beside the bot on two cores: a connection
            # Telegram holds open may be dropped meanwhile, and Telegram then posts the
            # update again; what must never happen is an error answer or a lost update.
            deliver_steadily(telegram, bot.webhook, updates, deliveries, RATE, redeliver_dropped=5)
        )
        knowledge = REPO_ROOT / "data" / "knowledge" / "en"
        ran = await asyncio.gather(
            run_cli("demo", ["demo"], operator, tmp_path, DEMO_SCRIPT + "\n"),
            run_cli("seed-activity", ["seed-activity"], operator, tmp_path),
            run_cli("kb ingest", ["kb", "ingest", str(knowledge)], operator, tmp_path),
            run_cli("grant", ["admin", "grant", "telegram:4242", "moderator"], operator, tmp_path),
            run_cli("backup", ["db", "backup", str(tmp_path / "copy.db")], operator, tmp_path),
            run_cli("admin list", ["admin", "list"], operator, tmp_path),
        )
        await sending

        def done() -> bool:
            waiting = query(
                database, "select count(*) from inbox where status in ('pending', 'processing',"
                " 'retry') union all select count(*) from outbox where platform = 'telegram'"
                " and status in ('pending', 'claimed', 'sending')"
            )  # fmt: skip
            return waiting == [(0,), (0,)]

        unfinished = None
        try:
            await wait_until(done, 60, "the inbox and the outbox to be done")
        except AssertionError as error:  # reported after what the logs say
            unfinished = str(error)
        await bot.stop()
        serve_log = bot.log_text()

    outputs = {name: output for name, _, output in ran}
    demo_log = (tmp_path / "var" / "facilitator.log").read_text("utf-8", errors="replace")
    inbox = query(database, "select delivery_id, platform, status, error from inbox")
    outbox = query(database, "select status, last_error from outbox where platform = 'telegram'")
    ledger = query(
        database, "select source_event_id from ledger where kind = 'message_posted'"
        " and source_event_id like 'chat:%'"
    )  # fmt: skip
    sent = Counter(str(c.params["text"]) for c in fake_telegram.calls_to("sendMessage") if c.ok)
    replies = Counter(int(c.params["chat_id"]) for c in fake_telegram.calls_to("sendMessage"))

    # Nobody saw the lock: not the operator, not the member in the terminal, not the logs.
    for name, output in outputs.items():
        assert LOCKED not in output.lower(), (name, output[-3000:])
    for name, text in (("serve", serve_log), ("demo log", demo_log)):
        assert LOCKED not in text.lower(), (name, text[-3000:])
    assert not [row for row in inbox if row[3] and LOCKED in row[3].lower()]
    assert not [row for row in outbox if row[1] and LOCKED in row[1].lower()]
    assert not secrets_in(serve_log + "".join(outputs.values()))
    assert unfinished is None, unfinished
    # Every command did its work.
    assert {name: code for name, code, _ in ran} == dict.fromkeys(outputs, 0), outputs
    assert "telegram:4242 is moderator in every community" in outputs["grant"]
    assert "steps of the demo month played" in outputs["seed-activity"]
    assert "written" in outputs["kb ingest"] and "backup written" in outputs["backup"]
    demo = outputs["demo"]
    assert "bot (to the group)> What you can do here (your role: member)" in demo, demo
    assert (
        "bot (to the group)> You are guest, with the member role in Knowledge Exchange Network"
        " (demo)." in demo
    )
    assert "bot (to the group)> O que você pode fazer aqui (seu papel: moderação)" in demo  # Bruno
    # No update was answered with an error, every one was acknowledged (a few after a
    # dropped connection, as Telegram redelivers them), and every one was recorded once.
    assert not deliveries.refused()
    missing = {u["update_id"] for u in updates} - deliveries.acknowledged
    # What Telegram saw for the first few that never got a 200 (a status, or a client error).
    assert not missing, {i: deliveries.statuses.get(i) for i in sorted(missing)[:5]}
    telegram_rows = [row for row in inbox if row[1] == "telegram"]
    assert sorted(int(row[0]) for row in telegram_rows) == sorted(deliveries.acknowledged)
    assert {row[2] for row in inbox} == {"done"}, Counter(row[2] for row in inbox)
    assert sorted(e for (e,) in ledger) == sorted(ledger_event_id(u) for u in messages)
    assert all(replies[chat] == 1 for chat in commands.values())
    # The queued messages went out once each.
    assert {status for status, _ in outbox} == {"sent"}
    assert all(sent[f"Queued message {n}"] == 1 for n in range(OUTBOX))
