"""PostgreSQL stopped and started while the bot takes a steady stream of webhook updates: what
it cannot store it refuses (so Telegram delivers it again), it recovers by itself, and nothing
it acknowledged is lost or recorded twice.

The database is a cluster of this test's own (tests/faults/private_postgres.py): stopping the
shared server would break the tests running beside it."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import pytest

from tests.adapters.fakes.telegram_api import FakeTelegramAPI
from tests.adapters.telegram_support import free_port, wait_until
from tests.faults.private_postgres import PrivateCluster
from tests.faults.support import (
    Deliveries,
    Reader,
    bot_env,
    deliver,
    deliver_steadily,
    group_messages,
    ledger_event_id,
    running,
    start_bot,
    webhook_session,
)

# Real processes, timed: one worker runs them one after another.
pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("faults")]

RATE = 40  # updates a second, steadily
UPDATES = 480  # twelve seconds of them
STOP_AFTER = 80  # updates sent before the database stops
DOWN_SECONDS = 3.0
LATER = 60  # updates sent once it is all over
log = logging.getLogger(__name__)


async def test_postgres_stopped_and_started_under_load_loses_no_acknowledged_update(
    fake_telegram: FakeTelegramAPI, private_postgres: PrivateCluster, tmp_path: Path
) -> None:
    cluster = private_postgres
    updates = group_messages(UPDATES, first_update_id=1)
    later = group_messages(LATER, first_update_id=UPDATES + 1)
    deliveries = Deliveries()
    port = free_port()
    env = bot_env(fake_telegram, cluster.url, None, port)
    reader = Reader(cluster.url, None)
    async with (
        httpx.AsyncClient(timeout=30) as client,
        webhook_session() as telegram,
        running([]) as bots,
    ):
        # Rows being processed when the database went away are claimed again after their
        # lease: a second here (tests/faults/entry.py) instead of a minute.
        bot = await start_bot(["serve"], env, tmp_path / "serve.log", port, ["--inbox-lease", "1"])
        bots.append(bot)
        await bot.wait_ready(client)

        async def ready_says(status: int) -> bool:
            try:
                return (await client.get(bot.url("/readyz"))).status_code == status
            except httpx.TransportError:
                return False

        sending = asyncio.create_task(
            deliver_steadily(telegram, bot.webhook, updates, deliveries, RATE)
        )
        await wait_until(lambda: len(deliveries.statuses) >= STOP_AFTER, 30, "the first updates")
        await cluster.stop("fast")
        await wait_until(lambda: ready_says(503), 10, "/readyz to say 503")
        await asyncio.sleep(DOWN_SECONDS)
        await cluster.start()
        started = time.monotonic()
        # Nobody touches the bot: it has to find the database again on its own.
        await wait_until(lambda: ready_says(200), 30, "/readyz to say 200 again")
        recovered = time.monotonic() - started
        await sending
        refused = deliveries.refused()

        # Telegram delivers again whatever was not acknowledged.
        missing = [u for u in updates if u["update_id"] not in deliveries.acknowledged]
        await deliver(telegram, bot.webhook, missing, deliveries)
        # And the stream goes on: new updates are taken and processed as before.
        await deliver(telegram, bot.webhook, later, deliveries)
        await reader.wait_for_inbox(UPDATES + LATER, 120)

    inbox = await reader.rows("select delivery_id, status from inbox")
    ledger = await reader.rows("select source_event_id from ledger where kind = 'message_posted'")
    await reader.dispose()
    log.info(
        "refused while the database was down: %d updates; ready %.1fs after it started",
        len(refused), recovered,
    )  # fmt: skip
    # The outage was felt, and felt as errors, never as an acknowledgement.
    assert refused, "no update arrived while the database was down"
    assert all(500 <= s < 600 for outcomes in refused.values() for s in outcomes)
    everything = [*updates, *later]
    assert deliveries.acknowledged == {u["update_id"] for u in everything}
    assert sorted(int(d) for d, _ in inbox) == [u["update_id"] for u in everything]
    assert {s for _, s in inbox} == {"done"}
    assert sorted(e for (e,) in ledger) == sorted(ledger_event_id(u) for u in everything)
