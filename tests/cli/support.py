"""Runs `facilitator` as a real process, the way a person at a shell runs it, or in this
process through typer's runner where a test runs many commands."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

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


def invoke_cli(directory: Path, *args: str, database: str = "cli.db", **env: str) -> Result:
    """The command line in this process (typer's runner), as `run_cli` runs it in another:
    the same environment, without a new interpreter's start-up each time."""
    from facilitator.cli import app

    environment = {
        "FACILITATOR_DATABASE_URL": f"sqlite+aiosqlite:///{directory / database}",
        "FACILITATOR_DATA_DIR": str(REPO_ROOT / "data"),
        "FACILITATOR_PROMPTS_DIR": str(REPO_ROOT / "prompts"),
        "FACILITATOR_SEMANTIC": "off",
        **env,
    }
    return CliRunner().invoke(app, list(args), env=environment)


@pytest.fixture
def restored_logging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The commands set up logging for a process of their own; the test's handlers and levels
    come back after each (and no stray .env is read: the directory is the test's own)."""
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    alembic = logging.getLogger("alembic")
    alembic_level = alembic.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    alembic.setLevel(alembic_level)
