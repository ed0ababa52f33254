"""`facilitator serve --workers 2` on PostgreSQL: workers slow to start are waited for, and the
migrations run once, before them."""

from __future__ import annotations

import os
from pathlib import Path

from tests.adapters.fakes.slack_api import FakeSlackAPI
from tests.adapters.test_metrics_workers import fresh_connection, serve_workers

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
    log_path = tmp_path / "serve.log"
    pythonpath = os.pathsep.join([str(slow), *filter(None, [os.environ.get("PYTHONPATH")])])
    # At DEBUG, Alembic's steps are logged: where the migrations ran shows.
    async with serve_workers(
        fake_slack, tmp_path, log_path, PYTHONPATH=pythonpath, FACILITATOR_LOG_LEVEL="DEBUG"
    ) as base:
        ready = [(await fresh_connection("GET", f"{base}/readyz")).status_code]
        ready.append((await fresh_connection("GET", f"{base}/readyz")).status_code)
    logs = log_path.read_text("utf-8", errors="replace")

    assert ready == [200, 200], logs
    assert logs.count("uvicorn.error: Started server process") == 2, logs
    assert "died" not in logs and "failed to start" not in logs, logs
    # Alembic ran in `serve` itself, not again in each worker.
    assert logs.count("alembic.runtime.migration: Context impl") == 1, logs
    # Each worker sized its pool for the two processes sharing the database.
    assert (
        logs.count("database pool: 12 connections kept, up to 8 more at a peak (2 processes)") == 2
    )
