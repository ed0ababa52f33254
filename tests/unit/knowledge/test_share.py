"""/share: the whole note is kept, a type can be given, and points wait for approval."""

from __future__ import annotations

from facilitator.domain.model import ParticipationKind, Platform, Role
from facilitator.features.knowledge.domain import ItemType
from facilitator.features.knowledge.ports import KnowledgeRepository
from tests.conftest import Harness
from tests.unit.knowledge.test_knowledge_commands import seeded


async def shared_item_id(reply: str) -> int:
    return int(reply.split("(#")[1].split(")")[0])


async def points(harness: Harness) -> tuple[int, int]:
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_key("demo")
        assert community is not None
        return (
            await uow.ledger.count(community.id, ParticipationKind.RESOURCE_SHARED),
            await uow.ledger.count(community.id, ParticipationKind.KNOWLEDGE_CONTRIBUTED),
        )


async def test_a_note_that_starts_with_a_type_word_keeps_it(harness: Harness) -> None:
    await seeded(harness)
    [reply] = await harness.say(
        "/share https://example.org/peru lesson learned in Peru #monitoring"
    )
    async with harness.app.uow_factory() as uow:
        item = await uow.repo(KnowledgeRepository).get(await shared_item_id(reply))
    assert item is not None
    assert item.title == "lesson learned in Peru" and item.theme == "monitoring"
    assert item.type is ItemType.LINK


async def test_a_type_can_be_given_and_a_wrong_one_is_explained(harness: Harness) -> None:
    await seeded(harness)
    [reply] = await harness.say("/share https://example.org/kit type:toolkit Indicator toolkit")
    async with harness.app.uow_factory() as uow:
        item = await uow.repo(KnowledgeRepository).get(await shared_item_id(reply))
    assert item is not None and item.type is ItemType.TOOLKIT and item.title == "Indicator toolkit"
    [refused] = await harness.say("/share https://example.org/kit type:poem Ode")
    assert '"poem"' in refused and "toolkit" in refused


async def test_points_come_with_approval_not_with_the_proposal(harness: Harness) -> None:
    await seeded(harness)
    [first] = await harness.say("/share https://example.org/a A guide", user="carla")
    [second] = await harness.say("/share https://example.org/b Spam", user="carla")
    assert await points(harness) == (0, 0)
    await harness.grant("bruno", Role.MODERATOR)
    await harness.say(f"/reject {await shared_item_id(second)}", user="bruno")
    assert await points(harness) == (0, 0)
    await harness.say(f"/approve {await shared_item_id(first)}", user="bruno")
    assert await points(harness) == (1, 1)


async def test_lesson_with_only_a_theme_or_a_type_lists_what_exists(harness: Harness) -> None:
    await seeded(harness)
    [listing] = await harness.say("/lesson #monitoring", locale="pt-BR")
    message = harness.messenger.sent[-1][1]
    assert listing.startswith("1 recurso no repositório")
    labels = [row[0].label for row in message.buttons]
    assert labels == ["Guia prático: como medir o engajamento"]
    [toolkits] = await harness.say("/lesson toolkit", user="zoe", locale="es")
    message = harness.messenger.sent[-1][1]
    labels = [row[0].label for row in message.buttons]
    assert "recursos" in toolkits and len(labels) == 5
    # Each toolkit once, in Spanish where it exists; the Portuguese-only one comes last.
    assert all(label.startswith("Guía práctica") for label in labels[:4])
    assert labels[4].startswith("Guia prático: como organizar uma feira")
    [nothing] = await harness.say("/lesson recording #webinars")
    assert nothing.startswith("The repository has nothing of that kind yet.")
    await harness.grant("bruno", Role.MODERATOR)
    [gaps] = await harness.say("/gaps", user="bruno")
    assert gaps == "No unanswered questions in the last 30 days."


async def test_hostile_notes_are_stored_as_typed_and_a_hostile_type_is_explained(
    harness: Harness,
) -> None:
    await seeded(harness)
    note = "$5 = **bold** <b>x</b> [go](javascript:alert(1)) =SUM(A1)"
    [reply] = await harness.say(f"/share https://example.org/h {note}")
    async with harness.app.uow_factory() as uow:
        item = await uow.repo(KnowledgeRepository).get(await shared_item_id(reply))
    assert item is not None and item.title == note and item.type is ItemType.LINK
    [refused] = await harness.say("/share https://example.org/h type:$=<b>x</b> hi")
    assert '"$=<b>x</b>"' in refused and "toolkit" in refused
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_key("demo")
        assert community is not None
        proposed = await uow.repo(KnowledgeRepository).in_scope(community.id)
    assert [i.title for i in proposed if i.url == "https://example.org/h"] == [note]


async def test_doc_add_keeps_a_title_that_starts_with_a_type_word(harness: Harness) -> None:
    await seeded(harness)
    await harness.grant("bruno", Role.MODERATOR)
    [added] = await harness.say(
        "/doc add https://example.org/peru lesson learned in Peru type:recording #monitoring",
        user="bruno",
    )
    item_id = int(added.split("#")[1].split(":")[0])
    async with harness.app.uow_factory() as uow:
        item = await uow.repo(KnowledgeRepository).get(item_id)
    assert item is not None and item.title == "lesson learned in Peru"
    assert item.type is ItemType.RECORDING and item.theme == "monitoring"


async def test_a_hundred_thousand_character_thank_you_in_the_group_is_ignored(
    harness: Harness,
) -> None:
    await seeded(harness)
    assert await harness.say("@facilitator_bot " + "gracias " * 12_500) == []
    await harness.grant("bruno", Role.MODERATOR)
    [gaps] = await harness.say("/gaps", user="bruno")
    assert gaps == "No unanswered questions in the last 30 days."


async def test_listings_page_with_more_buttons_and_new_lists_recent_additions(
    harness: Harness,
) -> None:
    await seeded(harness)
    [listing] = await harness.say("/lesson toolkit", user="zoe")
    rows = harness.messenger.sent[-1][1].buttons
    assert listing.startswith("5 items in the repository (1 to 5") and len(rows) == 5
    [faqs] = await harness.say("/new", user="zoe")
    rows = harness.messenger.sent[-1][1].buttons
    more = rows[-1][0]
    assert "items added in the last 30 days (1 to 8" in faqs
    assert more.label.endswith("more") and more.action == "kb_page"
    total = int(faqs.split(" items added")[0])
    seen = [row[0].value for row in rows[:-1]]
    # Page on to the end: every item once.
    while more is not None:
        harness.seq += 1
        payload = (
            f'{{"kind": "button", "action": "kb_page", "value": "{more.value}",'
            f' "id": "p:{harness.seq}", "user_id": "zoe", "locale": "en",'
            f' "at": "{harness.clock.now().isoformat()}"}}'
        )
        await harness.app.inbox.accept(Platform.CONSOLE, f"p:{harness.seq}", payload, "demo")
        await harness.app.inbox.process_pending()
        rows = harness.messenger.sent[-1][1].buttons
        more = rows[-1][0] if rows[-1][0].action == "kb_page" else None
        seen.extend(row[0].value for row in rows if row[0].action == "kb_show")
    assert len(seen) == len(set(seen)) == total
    # Forged pages are refused.
    for forged in ("n|99999|8", "l|poem||8", "x", "n|30|-1", "l|*||99999999"):
        harness.seq += 1
        payload = (
            f'{{"kind": "button", "action": "kb_page", "value": "{forged}",'
            f' "id": "p:{harness.seq}", "user_id": "zoe", "locale": "en",'
            f' "at": "{harness.clock.now().isoformat()}"}}'
        )
        await harness.app.inbox.accept(Platform.CONSOLE, f"p:{harness.seq}", payload, "demo")
        await harness.app.inbox.process_pending()
        assert harness.messenger.last().startswith("That button no longer does anything."), forged
    # Nothing added in the last day: an honest "nothing".
    harness.clock.advance(days=2)
    [none] = await harness.say("/new 1", user="zoe")
    assert none.startswith("The repository has nothing of that kind yet.")
