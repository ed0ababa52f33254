"""Browser tests: Debian's chromium driven by its chromedriver through Selenium, against a
real `facilitator serve` on 127.0.0.1. Nothing downloads a browser or a driver: without the
packages the tests skip, and under FACILITATOR_REQUIRE_BROWSER=1 (set by .ci/run) that skip
is a failure."""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SECRET = "browser-test-dashboard-secret"


def browser_available() -> bool:
    return bool(shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER))


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the worker's browser tests (each starts from no cookies)."""
    if not browser_available():
        reason = (
            f"{CHROMIUM} and {CHROMEDRIVER} are not installed (Debian: chromium chromium-driver)"
        )
        if os.environ.get("FACILITATOR_REQUIRE_BROWSER") == "1":
            pytest.fail(f"FACILITATOR_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    # Never Selenium Manager: the driver and the browser are given by path.
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium: Any, served: Served) -> Any:
    """The worker's Chromium as a new visitor: no cookie of the dashboard, a desktop width."""
    chromium.get(f"{served.base}/dashboard/signin")  # where its cookie is seen
    chromium.delete_all_cookies()
    chromium.set_window_size(1200, 900)
    return chromium


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    """`facilitator serve` on a demo database with the seeded month."""

    base: str
    env: dict[str, str]
    cwd: Path

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """`python -m facilitator.cli ARGS` on the served database."""
        return subprocess.run(
            [sys.executable, "-m", "facilitator.cli", *args],
            cwd=self.cwd,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def cli(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def link(self, who: str = "console:ana", community: str = "demo") -> str:
        return self.cli("dashboard", "link", "--community", community, "--as", who).strip()

    def cli_fails(self, *args: str) -> bool:
        return self.run(*args).returncode != 0

    def chat(self, who: str, line: str) -> str:
        """One line typed by `who` in the demo chat (`facilitator demo --as WHO`), on the
        served database: what the bot answered."""
        done = self.run("demo", "--as", who, stdin=f"{line}\n")
        assert done.returncode == 0, done.stderr
        return done.stdout

    def report(self, week: str) -> dict[str, str]:
        """`facilitator report --format csv` for the week: figure -> value."""
        text = self.cli("report", "--community", "demo", "--week", week, "--format", "csv")
        rows = csv.DictReader(io.StringIO(text))
        return {row["key"]: row["value"] for row in rows if row["section"] == "figure"}


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not browser_available() and os.environ.get("FACILITATOR_REQUIRE_BROWSER") != "1":
        pytest.skip("no browser")
    folder = tmp_path_factory.mktemp("dashboard")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FACILITATOR_", "SLACK_", "TELEGRAM_", "PROMETHEUS_"))
    }
    env.update(
        FACILITATOR_DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'dashboard.db'}",
        FACILITATOR_PROMPTS_DIR=str(REPO_ROOT / "prompts"),
        FACILITATOR_DATA_DIR=str(REPO_ROOT / "data"),
        FACILITATOR_SEMANTIC="off",
        FACILITATOR_HTTP_PORT=str(port),
        FACILITATOR_DASHBOARD_SECRET=SECRET,
        FACILITATOR_PUBLIC_URL=f"http://127.0.0.1:{port}",
        FACILITATOR_LOG_LEVEL="INFO",
    )
    site = Served(f"http://127.0.0.1:{port}", env, folder)
    site.cli("seed-activity")
    log_path = folder / "serve.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "facilitator.cli", "serve"],
            cwd=folder,
            env=env,
            stdout=log_file,
            stderr=log_file,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log_path.read_text("utf-8", "replace")
                try:
                    if httpx.get(f"{site.base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
            yield site
        finally:
            process.terminate()
            process.wait(timeout=30)
    logs = log_path.read_text("utf-8", "replace")
    assert "signin?t=" not in logs  # the links' tokens are never logged


def add_community(served: Served, key: str, title: str, coordinator: str) -> None:
    """A second community in the served database, with its own coordinator (a console
    member): what the bot would register on meeting another chat."""
    import asyncio
    from datetime import UTC, datetime

    from facilitator.bootstrap import build_app
    from facilitator.domain.model import Platform, PlatformUser, Role
    from tests.conftest import make_settings

    async def add() -> None:
        application = build_app(make_settings(served.env["FACILITATOR_DATABASE_URL"]))
        now = datetime.now(UTC)
        try:
            async with application.uow_factory() as uow:
                community = await uow.communities.add(
                    key=key,
                    platform=Platform.CONSOLE,
                    chat_id=key,
                    title=title,
                    timezone="America/Lima",
                    language="en",
                    now=now,
                )
                member = await uow.members.ensure(
                    PlatformUser(Platform.CONSOLE, coordinator, coordinator.title(), "en"), now
                )
                await uow.members.join(member.person_id, community.id, now)
                await uow.members.set_role(member.person_id, community.id, Role.COORDINATOR, now)
                await uow.commit()
        finally:
            await application.aclose()

    asyncio.run(add())
