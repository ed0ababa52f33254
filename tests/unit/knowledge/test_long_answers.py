"""Long items and Markdown tables, as chat can show them: a summary with "read more", the
whole text in a few messages or as a file, tables as one line per row."""

from __future__ import annotations

from facilitator.domain.model import Platform
from facilitator.features.knowledge.commands import MORE_ACTION
from facilitator.features.knowledge.domain import ItemType, KnowledgeItem
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.render import tables_as_lists
from tests.conftest import Harness

TABLE = """Members per country:

| Country | Members | Active |
|---------|--------:|:------:|
| Peru | 120 | 45 |
| Chile | 80 |  |

That is all."""


def test_a_markdown_table_becomes_one_line_per_row() -> None:
    assert tables_as_lists(TABLE) == (
        "Members per country:\n\n"
        "- **Country**: Peru · **Members**: 120 · **Active**: 45\n"
        "- **Country**: Chile · **Members**: 80\n\n"
        "That is all."
    )
    # A line with pipes that is not a table stays.
    assert tables_as_lists("a | b | c") == "a | b | c"


async def add(harness: Harness, key: str, title: str, body: str) -> int:
    community = await harness.community()
    async with harness.app.uow_factory() as uow:
        item = await uow.repo(KnowledgeRepository).upsert(
            KnowledgeItem(key=key, type=ItemType.FAQ, title=title, body=body, lang="en"),
            community.id,
            harness.clock.now(),
        )
        await uow.commit()
    assert item.id is not None
    return item.id


async def press(harness: Harness, user: str, value: str) -> None:
    harness.seq += 1
    payload = (
        f'{{"kind": "button", "action": "{MORE_ACTION}", "value": "{value}",'
        f' "id": "b:{harness.seq}", "user_id": "{user}", "locale": "en",'
        f' "at": "{harness.clock.now().isoformat()}"}}'
    )
    await harness.app.inbox.accept(Platform.CONSOLE, f"b:{harness.seq}", payload, "demo")
    await harness.app.inbox.process_pending()


async def test_a_long_answer_shows_its_start_and_reads_on_in_messages(harness: Harness) -> None:
    paragraphs = [f"Paragraph {n}: " + "field visits need a budget. " * 40 for n in range(8)]
    item_id = await add(harness, "long", "How do we budget field visits?", "\n\n".join(paragraphs))
    await add(harness, "table", "Which countries take part?", TABLE)
    [answer] = await harness.say("/faq how do we budget field visits")
    assert answer.startswith("How do we budget field visits?") and len(answer) < 1200
    labels = [b.label for row in harness.messenger.sent[-1][1].buttons for b in row]
    assert labels == ["👍", "👎", "Read more"]
    before = len(harness.messenger.sent)
    await press(harness, "carla", str(item_id))
    parts = [m.body.plain() for _, m in harness.messenger.sent[before:]]
    assert 2 <= len(parts) <= 4 and all(len(p) <= 3500 for p in parts)
    assert " ".join(parts).split() == " ".join(paragraphs).split()  # all of it, in order

    [table] = await harness.say("/faq which countries take part")
    assert "• Country: Peru · Members: 120 · Active: 45" in table and "|" not in table
    labels = [b.label for row in harness.messenger.sent[-1][1].buttons for b in row]
    assert "Read more" not in labels  # short enough to be shown whole


async def test_a_very_long_text_comes_as_a_file_and_forged_presses_do_nothing(
    harness: Harness,
) -> None:
    body = "\n".join(f"Line {n}: " + "lessons learned " * 10 for n in range(200))
    item_id = await add(harness, "huge", "The full handbook", body)
    before = len(harness.messenger.sent)
    await press(harness, "carla", str(item_id))
    [(_, message)] = harness.messenger.sent[before:]
    assert message.body.plain() == "The whole text of The full handbook is in the attached file."
    assert message.attachment is not None and message.attachment.filename == f"item-{item_id}.md"
    assert message.attachment.content.decode().startswith("# The full handbook\n\nLine 0:")
    for forged in ("abc", "999999", ""):
        before = len(harness.messenger.sent)
        await press(harness, "carla", forged)
        [reply] = [m.body.plain() for _, m in harness.messenger.sent[before:]]
        assert reply.startswith("That button no longer does anything.")
