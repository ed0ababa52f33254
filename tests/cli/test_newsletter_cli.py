"""`facilitator newsletter` on the demo month (2026-11), as the command line produces it."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from facilitator.bootstrap import repositories
from facilitator.features.digest.demo import PRIVATE_QUESTION, WEBINAR_LINK
from facilitator.features.polls.domain import PollDraft
from facilitator.features.polls.ports import PollRepository
from facilitator.storage.database import Storage
from tests.cli.support import invoke_cli, run_cli

pytestmark = pytest.mark.xdist_group("newsletter_cli")

HOSTILE = '<script>alert(1)</script> $x$ =HYPERLINK("http://evil") **bold** [a](http://evil)'


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo month played by the real `seed-activity`, and one poll with a hostile
    question opened in it."""
    directory = tmp_path_factory.mktemp("newsletter")
    played = run_cli(
        directory,
        "seed-activity",
        database="demo.db",
        timeout=180,
        FACILITATOR_LOG_LEVEL="WARNING",
    )
    assert played.returncode == 0, played.stderr
    storage = Storage(f"sqlite+aiosqlite:///{directory / 'demo.db'}", repositories=repositories())

    async def hostile_poll() -> None:
        async with storage.uow_factory() as uow:
            demo = await uow.communities.by_key("demo")
            assert demo is not None
            await uow.repo(PollRepository).add(
                demo.id,
                PollDraft(HOSTILE, ("yes", "no")),
                None,
                None,
                datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
            )
            await uow.commit()
        await storage.dispose()

    asyncio.run(hostile_poll())
    return directory


def newsletter(directory: Path, *args: str) -> str:
    result = invoke_cli(
        directory,
        "newsletter",
        "--community",
        "demo",
        "--month",
        "2026-11",
        *args,
        database="demo.db",
        FACILITATOR_LOG_LEVEL="WARNING",
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def recount_new_items(directory: Path) -> int:
    """Published items of the demo community created in November (Santiago), one per
    translation group, counted straight from the table."""
    with sqlite3.connect(directory / "demo.db") as db:
        rows = db.execute(
            "SELECT i.key, i.translation_of FROM knowledge_items i "
            "JOIN communities c ON i.scope = CAST(c.id AS TEXT) "
            "WHERE c.key = 'demo' AND i.status = 'published' "
            "AND i.created_at >= '2026-11-01 03:00:00' AND i.created_at < '2026-12-01 03:00:00'"
        ).fetchall()
    return len({translation_of or key for key, translation_of in rows})


def named_answerers(directory: Path) -> dict[str, bool]:
    """Who answered the month's closed group questions, and whether they may be named
    (opted in and still tracked), from the raw rows."""
    with sqlite3.connect(directory / "demo.db") as db:
        rows = db.execute(
            "SELECT i.display_name, COALESCE(d.named, 0), p.opted_out_tracking "
            "FROM knowledge_gaps g JOIN identities i ON i.id = g.answer_identity "
            "JOIN persons p ON p.id = i.person_id "
            "LEFT JOIN digest_members d ON d.person_id = p.id AND d.community_id = g.community_id "
            "WHERE g.status = 'closed' AND g.is_direct = 0"
        ).fetchall()
    return {name: bool(named) and not opted_out for name, named, opted_out in rows}


@pytest.mark.usefixtures("restored_logging")
def test_the_markdown_newsletter_of_the_demo_month(demo_dir: Path) -> None:
    text = newsletter(demo_dir, "--format", "markdown")
    lines = text.splitlines()
    assert lines[0] == "# Knowledge Exchange Network (demo): boletín de noviembre 2026"
    for heading in (
        "## Novedades en el repositorio",
        "## Próximos webinars",
        "## Encuestas abiertas",
        "## Preguntas respondidas",
    ):
        assert heading in lines
    # Items link to their address; the shown ones and "y N más" add up to the month's items.
    assert "- [Estudio de caso 1](https://example.org/economia-circular-caso-1)" in text
    items = lines[lines.index("## Novedades en el repositorio") + 2 :]
    items = items[: items.index("")]
    shown = [line for line in items if not line.startswith("- y ")]
    [more] = [line for line in items if line.startswith("- y ")]
    assert len(shown) + int(more.split()[2]) == recount_new_items(demo_dir)
    # The webinar without its meeting link: the chat has it.
    assert "- Monitoreo & evaluación del aprendizaje entre pares: 2026-12-03 17:00" in text
    assert "El enlace para participar se comparte en el chat de" in text
    assert WEBINAR_LINK not in text and "meet.example.org" not in text
    # Only the group's questions; named only who agreed and still tracks their participation.
    assert PRIVATE_QUESTION not in text and "privado" not in text
    answerers = named_answerers(demo_dir)
    assert answerers == {"Ana Morales": True, "Carla Rojas": False}
    assert "«cómo medir el impacto de la cooperación sur-sur», respondida por Ana Morales:" in text
    assert "- «plantilla de informe de webinar»: [" in text
    assert "Carla" not in text and "Rojas" not in text
    # A question with markup is literal text: every character Markdown reads is escaped.
    assert (
        r'- \<script\>alert(1)\</script\> \$x\$ =HYPERLINK("http://evil") \*\*bold\*\* '
        r"\[a\](http://evil)"
    ) in lines
    assert "<script>" not in text


@pytest.mark.usefixtures("restored_logging")
def test_the_html_newsletter_escapes_and_links(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "news" / "2026-11.html"
    result = invoke_cli(
        demo_dir,
        "newsletter",
        "--community",
        "demo",
        "--month",
        "2026-11",
        "--format",
        "html",
        "--lang",
        "en",
        "--out",
        str(out),
        database="demo.db",
        FACILITATOR_LOG_LEVEL="WARNING",
    )
    assert result.exit_code == 0, result.output
    page = out.read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<h1>Knowledge Exchange Network (demo): newsletter for November 2026</h1>" in page
    for heading in ("New in the repository", "Upcoming webinars", "Open polls"):
        assert f"<h2>{heading}</h2>" in page
    assert "<h2>Questions answered</h2>" in page
    assert '<a href="https://example.org/economia-circular-caso-1">Estudio de caso 1</a>' in page
    assert "Monitoreo &amp; evaluación del aprendizaje entre pares: 2026-12-03 17:00" in page
    assert WEBINAR_LINK not in page and "meet.example.org" not in page
    assert PRIVATE_QUESTION not in page
    assert "answered by Ana Morales" in page and "Carla" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; $x$ =HYPERLINK(&quot;http://evil&quot;)" in page
    assert "<script>" not in page and 'href="http://evil"' not in page


@pytest.mark.usefixtures("restored_logging")
def test_a_bad_month_or_community_is_refused(demo_dir: Path) -> None:
    for month in ("2026-13", "November", "2026-1"):
        result = invoke_cli(
            demo_dir,
            "newsletter",
            "--community",
            "demo",
            "--month",
            month,
            database="demo.db",
        )
        assert result.exit_code == 2 and "not a month" in result.stderr
    unknown = invoke_cli(
        demo_dir, "newsletter", "--community", "nope", "--month", "2026-11", database="demo.db"
    )
    assert unknown.exit_code == 2 and "no community with key 'nope'" in unknown.stderr
