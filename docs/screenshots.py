"""Screenshots of the coordinators' dashboard, for docs/screenshots/: the demo's seeded month,
served by the real `facilitator serve` and shown in Debian's headless Chromium.

    .venv/bin/python docs/screenshots.py            # writes docs/screenshots/*.png

Needs `apt-get install chromium chromium-driver` (nothing is downloaded). Everything else
happens in a temporary folder: a fresh SQLite database, `facilitator seed-activity`, one
question nobody could answer, the coordinator (an admin here, to show the network page)
signed in with `facilitator dashboard link`.
"""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PAGES = ("", "members", "knowledge", "events", "network")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITATOR_")}
        env.update(
            FACILITATOR_DATABASE_URL=f"sqlite+aiosqlite:///{folder}/demo.db",
            FACILITATOR_DATA_DIR=str(ROOT / "data"),
            FACILITATOR_PROMPTS_DIR=str(ROOT / "prompts"),
            FACILITATOR_SEMANTIC="off",
            FACILITATOR_HTTP_PORT=str(port),
            FACILITATOR_DASHBOARD_SECRET=secrets.token_urlsafe(32),
            FACILITATOR_PUBLIC_URL=base,
            FACILITATOR_ADMINS="console:ana",
            FACILITATOR_LOG_LEVEL="WARNING",
        )

        def cli(*args: str, stdin: str | None = None) -> str:
            done = subprocess.run(  # noqa: S603 - our own command line, our own arguments
                [sys.executable, "-m", "facilitator.cli", *args],
                cwd=folder,
                env=env,
                input=stdin,
                capture_output=True,
                text=True,
                check=True,
            )
            return done.stdout

        cli("seed-activity")
        cli("demo", "--as", "bea", stdin="/faq how do we budget a knowledge fair?\n")
        server = subprocess.Popen(
            [sys.executable, "-m", "facilitator.cli", "serve"], cwd=folder, env=env
        )
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            link = cli("dashboard", "link", "--community", "demo", "--as", "console:ana")
            shoot(link.strip(), base)
        finally:
            server.terminate()
            server.wait(timeout=30)


def shoot(link: str, base: str) -> None:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--lang=en",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_window_size(1200, 900)
        driver.get(link)
        driver.find_element(By.ID, "confirm").click()
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "trend"))
        OUT.mkdir(parents=True, exist_ok=True)
        for page in PAGES:
            driver.get(f"{base}/dashboard/{page}")
            save(driver, OUT / f"{page or 'overview'}.png")
        driver.set_window_size(390, 844)
        driver.get(f"{base}/dashboard/")
        save(driver, OUT / "overview-phone.png")
    finally:
        driver.quit()
    print(f"screenshots written to {OUT}")


def save(driver: webdriver.Chrome, path: Path) -> None:
    """The whole page, not only what the window shows."""
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


if __name__ == "__main__":
    main()
