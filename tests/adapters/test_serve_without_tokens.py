"""`facilitator serve` without platform tokens: health, readiness and metrics answer, and the
log says which adapters are off and why."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import httpx
import pytest

from facilitator.bootstrap import repositories
from facilitator.runtime import create_asgi_app
from facilitator.storage import migrate
from facilitator.storage.database import Storage
from tests.adapters.test_slack_serve import free_port, wait_healthy
from tests.conftest import REPO_ROOT, make_settings


async def test_serve_without_tokens_answers_health_readiness_and_metrics(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bare.db'}"
    await migrate.upgrade_async(url)
    storage = Storage(url, repositories=repositories())
    await storage.create_all()  # tables added since the last migration
    await storage.dispose()
    settings = make_settings(
        url, telegram_bot_token=None, slack_bot_token=None, auto_migrate=False
    )
    with caplog.at_level(logging.INFO, logger="facilitator.bootstrap"):
        asgi = create_asgi_app(settings)
    off = [r.getMessage() for r in caplog.records if r.name == "facilitator.bootstrap"]
    assert off == [
        "telegram: off (TELEGRAM_BOT_TOKEN not set)",
        "slack: off (SLACK_BOT_TOKEN not set)",
        "dashboard: off (FACILITATOR_DASHBOARD_SECRET not set)",
    ]
    transport = httpx.ASGITransport(app=asgi)
    async with (
        asgi.router.lifespan_context(asgi),
        httpx.AsyncClient(transport=transport, base_url="http://bot") as http,
    ):
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        metrics = await http.get("/metrics")
        webhook = await http.post("/telegram/webhook", content=b"{}")
    assert health.status_code == 200 and health.text == "ok"
    assert ready.status_code == 200, ready.text
    assert ready.json()["database"] is True and ready.json()["adapters"] == {}
    assert metrics.status_code == 200 and "facilitator_" in metrics.text
    assert webhook.status_code == 404  # no adapter, no route


async def test_facilitator_serve_starts_without_tokens_and_says_which_adapters_are_off(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FACILITATOR_", "SLACK_", "TELEGRAM_", "PROMETHEUS_"))
    }
    env.update(
        FACILITATOR_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        FACILITATOR_PROMPTS_DIR=str(REPO_ROOT / "prompts"),
        FACILITATOR_DATA_DIR=str(REPO_ROOT / "data"),
        FACILITATOR_SEMANTIC="off",
        FACILITATOR_HTTP_PORT=str(port),
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "facilitator.cli", "serve"),
            cwd=tmp_path,
            env=env,
            stdout=log_file,
            stderr=log_file,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_healthy(base, process)
            async with httpx.AsyncClient() as client:
                ready = await client.get(f"{base}/readyz")
        finally:
            if process.returncode is None:
                process.terminate()
                async with asyncio.timeout(30):
                    await process.wait()
    logs = log_path.read_text("utf-8", errors="replace")
    assert ready.status_code == 200, logs
    assert "No platform is configured" in logs
    assert "telegram: off (TELEGRAM_BOT_TOKEN not set)" in logs
    assert "slack: off (SLACK_BOT_TOKEN not set)" in logs
    assert "alembic" not in logs  # the migrations ran, quietly
