"""`facilitator report` and `facilitator seed-activity`: the month is played by the real
process once per worker; each test then runs `report` through the same command line in
this process (typer's runner), without a new interpreter's start-up each time."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from facilitator.bootstrap import repositories
from facilitator.storage.database import Storage
from tests.cli.support import invoke_cli, run_cli

# One worker builds the played month once for all of them (a module fixture per worker
# otherwise).
pytestmark = pytest.mark.xdist_group("report_cli")


def run(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        directory, *args, database="demo.db", timeout=180, FACILITATOR_LOG_LEVEL="WARNING"
    )


@pytest.fixture
def report(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch, restored_logging: None
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`facilitator report ARGS` on the played month, in this process, from its folder."""
    monkeypatch.chdir(demo_dir)

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        result = invoke_cli(
            demo_dir, "report", *args, database="demo.db", FACILITATOR_LOG_LEVEL="WARNING"
        )
        return subprocess.CompletedProcess(
            ["report", *args], result.exit_code, result.stdout, result.stderr
        )

    return invoke


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the demo month played through the real CLI."""
    directory = tmp_path_factory.mktemp("report")
    assert run(directory, "db", "upgrade").returncode == 0
    # Tables added since the last migration (the release adds their migration).
    storage = Storage(f"sqlite+aiosqlite:///{directory / 'demo.db'}", repositories=repositories())

    async def create() -> None:
        await storage.create_all()
        await storage.dispose()

    asyncio.run(create())
    played = run(directory, "seed-activity")
    assert played.returncode == 0, played.stderr
    assert "steps of the demo month played" in played.stdout
    again = run(directory, "seed-activity")
    assert "already has activity" in again.stdout
    return directory


def test_report_prints_the_weeks_summary_in_spanish(
    report: Callable[..., subprocess.CompletedProcess[str]], demo_dir: Path
) -> None:
    result = report("--community", "demo", "--week", "2026-W47", "--lang", "es")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Resumen semanal: Knowledge Exchange Network (demo)")
    assert "• Miembros activos: 11 de 13 (85\u00a0%) (+1 respecto de la semana pasada)" in lines


def test_report_writes_the_csv_and_the_png(
    report: Callable[..., subprocess.CompletedProcess[str]], demo_dir: Path
) -> None:
    result = report("--community", "demo", "--week", "2026-W47", "--format", "csv")
    rows = {row["key"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
    assert rows["questions_asked"]["value"] == "6" and rows["questions_unanswered"]["value"] == "1"
    png = report("--community", "demo", "--week", "2026-W47", "--format", "png")
    assert png.returncode == 0, png.stderr
    assert png.stdout.strip() == "saved to var/reports/demo-2026-W47.png"
    assert (demo_dir / "var/reports/demo-2026-W47.png").read_bytes()[:4] == b"\x89PNG"


def test_report_as_markdown_html_and_the_network_summary(
    report: Callable[..., subprocess.CompletedProcess[str]], demo_dir: Path
) -> None:
    markdown = report("--community", "demo", "--week", "2026-W47", "--format", "markdown")
    # The community's language unless --lang says otherwise.
    assert markdown.stdout.startswith("**Resumen semanal: Knowledge Exchange Network (demo)**")
    page = demo_dir / "w47.html"
    html = report(
        "--community",
        "demo",
        "--week",
        "2026-W47",
        "--format",
        "html",
        "--lang",
        "pt",
        "--out",
        str(page),
    )
    assert html.returncode == 0, html.stderr
    assert "data:image/png;base64," in page.read_text("utf-8")
    assert "Resumo semanal" in page.read_text("utf-8")
    network = report("--week", "2026-W47", "--network")
    assert network.stdout.startswith("Network summary, week 2026-W47")


def test_report_explains_bad_input(
    report: Callable[..., subprocess.CompletedProcess[str]], demo_dir: Path
) -> None:
    unknown = report("--community", "nowhere")
    assert unknown.returncode == 2 and "no community with key 'nowhere'" in unknown.stderr
    bad_week = report("--community", "demo", "--week", "2026-W60")
    assert bad_week.returncode == 2 and "2026 has no week 60" in bad_week.stderr
