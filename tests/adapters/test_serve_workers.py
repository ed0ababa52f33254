"""`facilitator serve --workers 2` on PostgreSQL: workers slow to start are waited for, and the
migrations run once, before them."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.adapters.fakes.slack_api import DEFAULT_TOKEN, FakeSlackAPI
from tests.adapters.slack_support import SIGNING_SECRET
from tests.adapters.test_metrics_workers import fresh_connection
from tests.adapters.test_slack_serve import free_port, wait_healthy
from tests.conftest import POSTGRES_URL, fresh_postgres_schema

# Longer than uvicorn's default health-check timeout (5 s), well within ours (30 s).
SLOW_START_SECONDS = 8

# Run by every Python process started with this folder on its path: worker processes
# (multiprocessing's spawn passes --multiprocessing-fork) pause before they import anything,
# as a worker does on a machine too busy to give it the CPU.
SLOW_WORKERS = f"""
import sys
import time

if "--multiprocessing-fork" in sys.argv:
    time.sleep({SLOW_START_SECONDS})
"""


async def test_workers_slower_to_start_than_uvicorns_default_check_are_not_killed(
    fake_slack: FakeSlackAPI, tmp_path: Path
) -> None:
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text(SLOW_WORKERS, encoding="utf-8")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    async with fresh_postgres_schema() as schema:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("FACILITATOR_", "SLACK_", "TELEGRAM_", "PROMETHEUS_"))
        }
        env.update(
            PYTHONPATH=os.pathsep.join([str(slow), *filter(None, [env.get("PYTHONPATH")])]),
            SLACK_BOT_TOKEN=DEFAULT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            FACILITATOR_SLACK_API_BASE_URL=fake_slack.base_url,
            FACILITATOR_DATABASE_URL=POSTGRES_URL,
            FACILITATOR_DATABASE_SCHEMA=schema,
            FACILITATOR_HTTP_PORT=str(port),
        )
        with log_path.open("wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "facilitator.cli", "serve", "--workers", "2"),
                cwd=tmp_path,
                env=env,
                stdout=log_file,
                stderr=log_file,
            )
            try:
                await wait_healthy(base, process)
                ready = [(await fresh_connection("GET", f"{base}/readyz")).status_code]
                ready.append((await fresh_connection("GET", f"{base}/readyz")).status_code)
            finally:
                if process.returncode is None:
                    process.terminate()
                    async with asyncio.timeout(30):
                        await process.wait()
    logs = log_path.read_text("utf-8", errors="replace")

    assert ready == [200, 200], logs
    assert logs.count("uvicorn.error: Started server process") == 2, logs
    assert "died" not in logs and "failed to start" not in logs, logs
    # Alembic ran in `serve` itself, not again in each worker.
    assert logs.count("alembic.runtime.migration: Context impl") == 1, logs
