"""The README's order: `facilitator demo`, then `seed-activity`, then `report` for 2026-W47.

The demo stores its members "today", after the month `seed-activity` then plays: the
report's figures must still be those recounted from the stored rows, and no share over 100%.
Run in this process through typer's runner (the real processes are tests/cli/test_report_cli).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from facilitator import cli
from facilitator.features.participation import report_cli
from facilitator.storage.engine import create_engine
from tests.conftest import REPO_ROOT, sqlite_with_tables
from tests.unit.figures_recount import read_stored, recount, share

# The CSV's figures that are not counts of the recount's (the shares are checked apart).
SHARES = {
    "active_share": ("active_members", "known_members"),
    "voters_share": ("poll_voters", "known_members"),
    "lookups_closed_share": ("lookups_closed", "unanswered_lookups"),
}


@pytest.fixture
def readme_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, str]:
    url = sqlite_with_tables(tmp_path / "demo.db")
    for module in (cli, report_cli):
        # The tables are there already; the test's log scan keeps the root logger.
        monkeypatch.setattr(module, "configure_logging", lambda *_, **__: None)
    monkeypatch.setattr(cli, "_upgrade", lambda *_, **__: None)
    monkeypatch.setattr(report_cli, "upgrade", lambda *_: None)
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "FACILITATOR_DATABASE_URL": url,
        "FACILITATOR_DATA_DIR": str(REPO_ROOT / "data"),
        "FACILITATOR_PROMPTS_DIR": str(REPO_ROOT / "prompts"),
        "FACILITATOR_SEMANTIC": "off",
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    demo = runner.invoke(cli.app, ["demo"], input="")
    assert demo.exit_code == 0, demo.output
    played = runner.invoke(cli.app, ["seed-activity"])
    assert played.exit_code == 0, played.output
    assert "steps of the demo month played" in played.output
    return runner, url


def test_the_readme_order_reports_figures_equal_to_their_recount(
    readme_order: tuple[CliRunner, str],
) -> None:
    runner, url = readme_order
    week = ["--week", "2026-W47"]
    result = runner.invoke(cli.app, ["report", "--community", "demo", *week, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = {
        row["key"]: row
        for row in csv.DictReader(io.StringIO(result.stdout))
        if row["section"] == "figure"
    }

    async def stored_rows() -> tuple[object, int, str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                from sqlalchemy import text

                found = (
                    await conn.execute(
                        text("SELECT id, timezone FROM communities WHERE key = 'demo'")
                    )
                ).one()
            return await read_stored(engine), int(found[0]), str(found[1])
        finally:
            await engine.dispose()

    stored, community, timezone = asyncio.run(stored_rows())
    now = recount(stored, community, timezone, 2026, 47)  # type: ignore[arg-type]
    before = recount(stored, community, timezone, 2026, 46)  # type: ignore[arg-type]
    assert now["active_members"] > 0 and now["known_members"] > 0
    for key, row in rows.items():
        if key in SHARES:
            part, whole = SHARES[key]
            for column, counted in (("value", now), ("previous", before)):
                expected = share(counted[part], counted[whole])
                assert row[column] == ("" if expected is None else _number(expected)), key
                assert expected is None or expected <= 1, key
            continue
        if key == "polls":
            continue
        for column, counted in (("value", now), ("previous", before)):
            want = counted[key]
            assert row[column] == ("" if want is None else _number(want)), (key, column)

    text_report = runner.invoke(
        cli.app, ["report", "--community", "demo", *week, "--lang", "en"]
    ).stdout
    network = runner.invoke(cli.app, ["report", "--network", *week, "--lang", "en"]).stdout
    assert f"Active members: {now['active_members']} of {now['known_members']} (" in text_report
    assert f"{now['active_members']} active of {now['known_members']} (" in network
    network_csv = runner.invoke(cli.app, ["report", "--network", *week, "--format", "csv"])
    demo_rows = {
        row["key"]: row["value"]
        for row in csv.DictReader(io.StringIO(network_csv.stdout))
        if row["community"] == "demo"
    }
    assert demo_rows == {key: row["value"] for key, row in rows.items()}
    for page in (text_report, network):
        percents = [int(p) for p in re.findall(r"(\d+)\s?%", page)]
        assert percents and max(percents) <= 100, page


def _number(value: float) -> str:
    """As the CSV writes a number."""
    if isinstance(value, float) and value != int(value):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(int(value))
