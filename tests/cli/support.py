"""Runs `facilitator` as a real process, the way a person at a shell runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.fake_credentials import secrets_in


def run_cli(
    directory: Path,
    *args: str,
    database: str = "cli.db",
    stdin: str | None = None,
    timeout: float = 120,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """`python -m facilitator.cli ARGS` in `directory`, on the SQLite file `database` there,
    with the repository's prompts and data; `env` adds or overrides variables. Platform
    credentials of the calling shell are left out, so that only those a test gives are seen."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_"))},
        "FACILITATOR_DATABASE_URL": f"sqlite+aiosqlite:///{directory / database}",
        "FACILITATOR_DATA_DIR": str(REPO_ROOT / "data"),
        "FACILITATOR_PROMPTS_DIR": str(REPO_ROOT / "prompts"),
        # Lookups by words: a demo process would otherwise embed the seed repository while a
        # test talks to it (tests/unit/knowledge/test_semantic.py covers the backends).
        "FACILITATOR_SEMANTIC": "off",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-m", "facilitator.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=directory,
        env=environment,
        timeout=timeout,
        check=False,
    )
    # Nothing a process prints may carry a credential it was given.
    assert not secrets_in(result.stdout + result.stderr)
    return result
