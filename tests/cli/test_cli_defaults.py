"""The offline commands pick the community when there is one, name them when there are
several, and print what was asked without Alembic's steps before it."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from facilitator.bootstrap import repositories
from facilitator.cli import app as cli_app
from facilitator.domain.model import Platform
from facilitator.seeding import seed_demo_community
from facilitator.storage.database import Storage
from tests.conftest import REPO_ROOT, FrozenClock, build_test_app, make_settings

# The commands set up logging for a process of their own: the test's comes back after each.
pytestmark = pytest.mark.usefixtures("restored_logging")


def facilitator(url: str, *args: str, **env: str) -> Result:
    environment = {
        "FACILITATOR_DATABASE_URL": url,
        "FACILITATOR_DATA_DIR": str(REPO_ROOT / "data"),
        "FACILITATOR_PROMPTS_DIR": str(REPO_ROOT / "prompts"),
        "FACILITATOR_SEMANTIC": "off",
        "FACILITATOR_LOG_LEVEL": "INFO",
        **env,
    }
    return CliRunner().invoke(cli_app, list(args), env=environment)


async def prepare(url: str, *, another: bool) -> None:
    """The demo community and its repository; `another` adds a second community."""
    storage = Storage(url, repositories=repositories())
    await storage.create_all()  # tables added since the last migration
    await storage.dispose()
    application = build_test_app(make_settings(url), clock=FrozenClock())
    try:
        assert await seed_demo_community(
            application.uow_factory, REPO_ROOT / "data", application.clock
        )
        if another:
            async with application.uow_factory() as uow:
                await uow.communities.add(
                    key="quagga",
                    platform=Platform.TELEGRAM,
                    chat_id="-100123",
                    title="Quagga network",
                    timezone="America/Lima",
                    language="es",
                    now=application.clock.now(),
                )
                await uow.commit()
    finally:
        await application.aclose()


def database(tmp_path: Path, *, another: bool = False) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    upgraded = facilitator(url, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    asyncio.run(prepare(url, another=another))
    return url


QUERY = "how often are webinars and how do I join"


def test_kb_search_without_community_searches_the_only_one(tmp_path: Path) -> None:
    url = database(tmp_path)
    chosen = facilitator(url, "kb", "search", QUERY, "--community", "demo")
    default = facilitator(url, "kb", "search", QUERY)
    assert default.exit_code == 0, default.output
    assert default.stdout == chosen.stdout
    assert "no match" not in default.stdout
    assert "webinar" in default.stdout.lower()


def test_kb_search_with_several_communities_names_them_and_asks_for_one(
    tmp_path: Path,
) -> None:
    url = database(tmp_path, another=True)
    result = facilitator(url, "kb", "search", QUERY)
    assert result.exit_code == 2
    assert "2 communities: demo, quagga; say which with --community KEY" in result.stderr
    assert facilitator(url, "kb", "search", QUERY, "--community", "quagga").exit_code == 0


def test_an_offline_command_prints_no_alembic_steps_unless_verbose(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    # A fresh database: every migration runs, which Alembic tells at INFO.
    quiet = facilitator(url, "kb", "search", QUERY)
    assert quiet.exit_code == 0, quiet.output
    assert "alembic" not in quiet.output and "Running upgrade" not in quiet.output
    assert quiet.stdout == "no match\n"
    other = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    shown = facilitator(other, "--verbose", "kb", "search", QUERY)
    assert shown.exit_code == 0, shown.output
    assert "alembic.runtime.migration: Running upgrade" in shown.stderr


def test_report_without_community_is_the_only_communitys_summary(tmp_path: Path) -> None:
    url = database(tmp_path)
    args = ("report", "--week", "2026-W47")
    default = facilitator(url, *args)
    assert default.exit_code == 0, default.output
    assert default.stdout == facilitator(url, *args, "--community", "demo").stdout
    # In the community's language, Spanish.
    assert default.stdout.startswith("Resumen semanal: Knowledge Exchange Network (demo)")
    network = facilitator(url, *args, "--network")
    assert network.stdout.startswith("Network summary, week 2026-W47")


def test_report_with_several_communities_is_the_network_summary_naming_them(
    tmp_path: Path,
) -> None:
    url = database(tmp_path, another=True)
    text = facilitator(url, "report", "--week", "2026-W47")
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith("Network summary, week 2026-W47")
    assert "network summary of 2 communities (demo, quagga); for one of them: --community KEY" in (
        text.stderr
    )

    table = facilitator(url, "report", "--week", "2026-W47", "--format", "csv")
    assert table.exit_code == 0, table.output
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert {row["community"] for row in rows} == {"*", "demo", "quagga"}
    known = {(row["community"], row["key"]): row["value"] for row in rows}
    assert int(known[("*", "known_members")]) == int(known[("demo", "known_members")]) + int(
        known[("quagga", "known_members")]
    )
    assert ("*", "active_in_several") in known

    png = facilitator(url, "report", "--week", "2026-W47", "--format", "png")
    assert png.exit_code == 0, png.output
    assert png.stdout.strip() == "saved to var/reports/network-2026-W47.png"
    assert (tmp_path / "var/reports/network-2026-W47.png").read_bytes()[:4] == b"\x89PNG"

    page = tmp_path / "network.html"
    html = facilitator(
        url, "report", "--week", "2026-W47", "--format", "html", "--lang", "es", "--out", str(page)
    )
    assert html.exit_code == 0, html.output
    written = page.read_text("utf-8")
    assert "Resumen de la red: semana 2026-W47" in written
    assert "data:image/png;base64," in written and "Quagga network" in written
