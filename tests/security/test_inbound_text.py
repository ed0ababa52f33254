"""Text from any platform reaches the core without control characters: PostgreSQL cannot
store NUL, and a terminal obeys escape sequences. Line breaks and tabs stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from facilitator.domain.events import ButtonPressed, CommandInvoked, MessageReceived, Origin
from facilitator.domain.model import Platform, PlatformUser
from facilitator.features.knowledge.loading import ingest_directory
from facilitator.features.knowledge.ports import KnowledgeRepository
from tests.conftest import Harness

CONTROL = "a\x00b\x07c\x1b[2Jd\x08e\x7ff\x9bg"


def _origin(name: str = "Ana", title: str | None = "Group") -> Origin:
    return Origin(
        platform=Platform.TELEGRAM,
        event_id="e1",
        chat_id="-1001",
        user=PlatformUser(Platform.TELEGRAM, "1", name),
        occurred_at=datetime(2026, 11, 2, tzinfo=UTC),
        chat_title=title,
    )


def test_events_keep_text_and_names_without_control_characters() -> None:
    origin = _origin(name=f"Ana{CONTROL}", title=f"Group{CONTROL}")

    assert origin.user.display_name == "Anaabc[2Jdefg"
    assert MessageReceived(origin, CONTROL).text == "abc[2Jdefg"
    assert CommandInvoked(origin, "faq", f"x{CONTROL}").args == "xabc[2Jdefg"
    assert ButtonPressed(origin, "kb_show", f"1{CONTROL}").value == "1abc[2Jdefg"
    assert origin.chat_title == "Groupabc[2Jdefg"


def test_lone_surrogates_are_dropped_and_whole_characters_stay() -> None:
    text = json.loads('"half \\ud83d, other half \\ude00, whole \\ud83d\\ude00"')

    assert MessageReceived(_origin(), text).text == "half , other half , whole \U0001f600"


def test_line_breaks_and_tabs_stay_and_a_carriage_return_becomes_a_line_break() -> None:
    assert (
        MessageReceived(_origin(), "one\r\ntwo\rthree\tfour\n").text == "one\ntwo\nthree\tfour\n"
    )


async def test_a_question_holding_nul_is_answered_and_stored(any_harness: Harness) -> None:
    await any_harness.community()

    [reply] = await any_harness.say("where is the\x00 guide?")

    assert reply.startswith("I don't know that one yet")
    async with any_harness.app.uow_factory() as uow:
        assert await uow.inbox.counts() == {"done": 1}


async def test_knowledge_files_holding_control_characters_are_stored_without_them(
    any_harness: Harness, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "guide.md").write_text(
        "---\nid: guide\ntitle: The\x00 guide\x1b[2J\nlang: en\n---\nRead\x00 it\x07 first.\n",
        encoding="utf-8",
    )
    (folder / "faq.yaml").write_text(
        '- id: visa\n  question: "Visa\\0 rules?"\n  answer: "Ask\\x1b the office."\n  lang: en\n',
        encoding="utf-8",
    )
    (folder / "notes.txt").write_text("Notes\x00\nLine\x00 two\n", encoding="utf-8")

    report = await ingest_directory(any_harness.app.uow_factory, folder, None, any_harness.clock)

    assert (report.written, report.errors) == (3, [])
    async with any_harness.app.uow_factory() as uow:
        items = {item.key: item for item in await uow.repo(KnowledgeRepository).in_scope(None)}
    assert (items["guide"].title, items["guide"].body) == ("The guide[2J", "Read it first.")
    assert (items["visa"].title, items["visa"].body) == ("Visa rules?", "Ask the office.")
    assert items["file:notes.txt"].body == "Line two"
