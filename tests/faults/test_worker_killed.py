"""A `serve` process killed with SIGKILL in the middle of a burst of 6,000 webhook updates, then
started again while Telegram delivers again whatever was not acknowledged: every update is
stored and processed once, and the participation ledger holds each message once.

The bot runs on a schema of its own in the shared test database. Replies are sent after the
transaction that produced them commits (docs/architecture.md, "How an event flows"), so a
reply is never repeated but may be lost to a kill between that commit and the send: replies to
commands processed before the kill are checked to arrive at most once, those processed after
it exactly once."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.fakes.telegram_api import FakeTelegramAPI
from tests.adapters.telegram_support import free_port, wait_until
from tests.conftest import POSTGRES_URL
from tests.faults.support import (
    Deliveries,
    Reader,
    bot_env,
    deliver,
    group_messages,
    ledger_event_id,
    running,
    start_bot,
    webhook_session,
    with_commands,
)

# Real processes, timed: one worker runs them one after another.
pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("faults")]

UPDATES = 6_000
COMMAND_EVERY = 100  # one update in a hundred is a command that gets a reply
KILL_AFTER = 2_400  # updates acknowledged before the kill
log = logging.getLogger(__name__)


def burst() -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The updates, and for each command update the private chat its reply goes to."""
    updates = group_messages(UPDATES, first_update_id=1)
    return updates, with_commands(updates, COMMAND_EVERY, asker_base=8_000_000)


async def test_worker_killed_mid_burst_records_every_update_exactly_once(
    fake_telegram: FakeTelegramAPI, postgres_schema: str, tmp_path: Path
) -> None:
    updates, commands = burst()
    messages = [u for u in updates if u["update_id"] not in commands]
    deliveries = Deliveries()
    port = free_port()
    env = bot_env(fake_telegram, POSTGRES_URL, postgres_schema, port)
    reader = Reader(POSTGRES_URL, postgres_schema)
    # The process to be killed leases the rows it claims for two seconds instead of a minute
    # (tests/faults/entry.py), so that the next one takes them over soon.
    overrides = ["--inbox-lease", "2"]
    async with (
        httpx.AsyncClient(timeout=30) as client,
        webhook_session() as telegram,
        running([]) as bots,
    ):
        first = await start_bot(["serve"], env, tmp_path / "first.log", port, overrides)
        bots.append(first)
        await first.wait_ready(client)
        sending = asyncio.create_task(deliver(telegram, first.webhook, updates, deliveries))
        await wait_until(
            lambda: len(deliveries.acknowledged) >= KILL_AFTER, 120, "the first updates"
        )
        await first.kill()
        killed_at = datetime.now(UTC)
        left = await reader.inbox_statuses()
        # Telegram goes on trying while the bot is down, and hears nothing back.
        second = await start_bot(["serve"], env, tmp_path / "second.log", port)
        bots.append(second)
        await second.wait_ready(client)
        await sending
        # Telegram delivers again whatever was not acknowledged, until it is.
        for _ in range(3):
            missing = [u for u in updates if u["update_id"] not in deliveries.acknowledged]
            if not missing:
                break
            await deliver(telegram, second.webhook, missing, deliveries)
        await reader.wait_for_inbox(UPDATES, 180)
        processed = dict(
            await reader.rows("select cast(delivery_id as bigint), processed_at from inbox")
        )
        after_kill = {u for u in commands if processed[u] > killed_at}

        def replies() -> Counter[int]:
            """Every reply Telegram received, answered or not (a kill may cut the answer)."""
            return Counter(int(c.params["chat_id"]) for c in fake_telegram.calls_to("sendMessage"))

        # Replies follow the commit: wait for those of the commands handled after the kill.
        await wait_until(
            lambda: all(replies()[commands[u]] >= 1 for u in after_kill), 60, "the replies"
        )
        await second.stop()

    inbox = await reader.rows("select cast(delivery_id as bigint), status from inbox")
    ledger = await reader.rows("select source_event_id, kind from ledger")
    await reader.dispose()
    unfinished = sum(n for status, n in left.items() if status != "done")
    log.info(
        "killed after %d acknowledged updates, %d stored and unfinished; %d redelivered",
        KILL_AFTER, unfinished, sum(1 for s in deliveries.statuses.values() if len(s) > 1),
    )  # fmt: skip
    # The kill interrupted work: stored updates were left for the next process to finish.
    assert unfinished > 0, left
    # Nothing but the kill went wrong: every answer the bot gave was a 200.
    assert not deliveries.refused()
    everything = sorted(u["update_id"] for u in updates)
    assert sorted(deliveries.acknowledged) == everything
    assert sorted(update_id for update_id, _ in inbox) == everything
    assert {status for _, status in inbox} == {"done"}
    assert sorted(event for event, kind in ledger if kind == "message_posted") == sorted(
        ledger_event_id(u) for u in messages
    )
    assert {kind for _, kind in ledger} == {"message_posted"}
    # Each command answered once, unless its reply was lost to the kill; none twice.
    answered = replies()
    assert set(answered) <= set(commands.values())
    assert all(answered[commands[u]] == 1 for u in after_kill)
    assert all(answered[chat] <= 1 for chat in commands.values())
    assert len(after_kill) > 0
