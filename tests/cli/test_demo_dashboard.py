"""`facilitator demo` serves the coordinators' dashboard on 127.0.0.1 while it runs, and
prints the demo coordinator's sign-in link: a newcomer sees it with no setting at all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import REPO_ROOT


def test_the_demo_prints_a_link_that_signs_the_coordinator_in(tmp_path: Path) -> None:
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "SLACK_", "FACILITATOR_"))
        },
        "FACILITATOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "FACILITATOR_DATA_DIR": str(REPO_ROOT / "data"),
        "FACILITATOR_PROMPTS_DIR": str(REPO_ROOT / "prompts"),
        "FACILITATOR_SEMANTIC": "off",
    }
    with subprocess.Popen(
        [sys.executable, "-m", "facilitator.cli", "demo"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    ) as demo:
        try:
            assert demo.stdout is not None and demo.stdin is not None
            line = demo.stdout.readline()
            found = re.search(r"(http://127\.0\.0\.1:\d+)/dashboard/signin\?t=([\w-]+)", line)
            assert found, line
            base, token = found.groups()
            assert "signs in as ana" in line
            with httpx.Client(base_url=base, follow_redirects=True) as browser:
                assert browser.get(f"/dashboard/signin?t={token}").status_code == 200
                signed = browser.post("/dashboard/signin", data={"t": token})
                assert signed.status_code == 200, signed.text  # followed to the overview
                assert "Knowledge Exchange Network (demo): " in signed.text  # the overview
                assert browser.post("/dashboard/signin", data={"t": token}).status_code == 403
            demo.stdin.write("/quit\n")
            demo.stdin.flush()
            assert demo.wait(timeout=60) == 0
        finally:
            if demo.poll() is None:
                demo.kill()
                demo.wait()
