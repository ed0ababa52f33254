"""Knowledge lookups and contributions in the chat, through the real core and storage."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from facilitator.domain.events import CommandInvoked, MessageReceived, Origin, ReplyTarget
from facilitator.domain.model import ParticipationKind, Platform, PlatformUser, Role
from facilitator.features.knowledge.domain import ItemType, KnowledgeItem
from facilitator.features.knowledge.loading import ingest_directory
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.service import KnowledgeBase
from tests.conftest import REPO_ROOT, Harness


async def seeded(harness: Harness) -> None:
    await harness.community(language="es")
    report = await ingest_directory(
        harness.app.uow_factory, REPO_ROOT / "data" / "knowledge", "demo", harness.clock
    )
    assert report.errors == [] and report.written > 90


async def test_spanish_question_without_accents_gets_the_spanish_answer(harness: Harness) -> None:
    await seeded(harness)
    [reply] = await harness.say("/faq que es una comunidad de practica")
    assert reply.startswith("¿Qué es una comunidad de práctica?")


async def test_portuguese_question_is_answered_in_portuguese(harness: Harness) -> None:
    await seeded(harness)
    [reply] = await harness.say("/faq como medir o engajamento da comunidade", locale="pt-BR")
    assert reply.startswith("Como medimos o engajamento?")
    assert "Fonte: Como medimos o engajamento?" in reply


async def test_english_question_with_a_typo_still_finds_its_answer(harness: Harness) -> None:
    await seeded(harness)
    [reply] = await harness.say("/faq what does a facilitatr do")
    assert reply.startswith("What does the facilitator do?")


async def test_nonsense_is_not_answered_and_is_recorded_as_a_gap(harness: Harness) -> None:
    await seeded(harness)
    [reply] = await harness.say("/faq qwerty zxcvb blorp fnord")
    assert reply.startswith("I don't know that one yet.")
    await harness.grant("bruno", Role.MODERATOR)
    [gaps] = await harness.say("/gaps", user="bruno")
    assert "qwerty zxcvb blorp fnord (1×)" in gaps


async def test_similar_unanswered_questions_are_grouped_in_gaps(harness: Harness) -> None:
    await seeded(harness)
    for text in [
        "how do I claim travel expenses xyzzy",
        "claim travel expenses xyzzy how",
        "travel expenses xyzzy claim?",
        "zorblax quantum fridge",
    ]:
        await harness.say(f"/faq {text}")
    await harness.grant("bruno", Role.MODERATOR)
    [gaps] = await harness.say("/gaps 7", user="bruno")
    lines = gaps.splitlines()
    assert lines[0] == "Unanswered questions, last 7 days (4 questions):"
    assert lines[1].endswith("(3×)") and "travel expenses xyzzy" in lines[1]
    assert lines[2] == "• 4: zorblax quantum fridge (1×)"


async def test_a_middling_match_offers_choices_as_buttons(harness: Harness) -> None:
    await seeded(harness)
    base = harness.app.services.feature(KnowledgeBase)
    assert isinstance(base, KnowledgeBase)
    # Every match counts as middling here, whatever the lookup's calibration.
    base.config = dataclasses.replace(base.config, answer_threshold=1.01)
    [reply] = await harness.say("/faq webinra tips")
    message = harness.messenger.sent[-1][1]
    assert reply == "I am not sure I understood. Did you mean one of these?"
    assert message.buttons and all(b.action == "kb_show" for row in message.buttons for b in row)
    chosen = message.buttons[0][0]
    [shown] = await harness.dispatch(
        __import__("facilitator.domain.events", fromlist=["ButtonPressed"]).ButtonPressed(
            console_origin("carla", "b1"), chosen.action, chosen.value
        )
    )
    assert shown.startswith(chosen.label.rstrip("…"))


def console_origin(user: str, event: str) -> Origin:
    return Origin(
        platform=Platform.CONSOLE,
        event_id=event,
        chat_id="demo",
        user=PlatformUser(Platform.CONSOLE, user, "", "en"),
        occurred_at=datetime(2026, 11, 2, 12, tzinfo=UTC),
    )


async def test_share_waits_for_approval_and_credits_the_member(harness: Harness) -> None:
    await seeded(harness)
    [shared] = await harness.say(
        "/share https://example.org/gestion-del-conocimiento Guía de gestión del conocimiento"
    )
    item_id = int(shared.split("(#")[1].split(")")[0])
    [before] = await harness.say("/lesson guia gestion del conocimiento link")
    assert "example.org/gestion-del-conocimiento" not in before
    [refused] = await harness.say(f"/approve {item_id}")
    assert refused.startswith("Sorry, /approve is for the moderator role or above,")
    await harness.grant("bruno", Role.MODERATOR)
    [listing] = await harness.say("/approve", user="bruno")
    assert f"#{item_id} Guía de gestión del conocimiento" in listing
    [approved] = await harness.say(f"/approve {item_id}", user="bruno")
    assert approved == f"Approved and published: #{item_id} Guía de gestión del conocimiento"
    [found] = await harness.say("/lesson guia de gestion del conocimiento link")
    assert found.startswith("Guía de gestión del conocimiento")
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_key("demo")
        assert community is not None
        shared_count = await uow.ledger.count(community.id, ParticipationKind.RESOURCE_SHARED)
        contributed = await uow.ledger.count(community.id, ParticipationKind.KNOWLEDGE_CONTRIBUTED)
    assert (shared_count, contributed) == (1, 1)


async def test_faq_add_edit_remove_are_visible_to_the_next_lookup(harness: Harness) -> None:
    await seeded(harness)
    await harness.grant("bruno", Role.MODERATOR)
    [added] = await harness.say(
        '/faq add "How do I book the meeting room in Panama?" "Write to the hub desk." '
        '#facilitation "reserve a room in Panama"',
        user="bruno",
    )
    item_id = int(added.split("#")[1].split(":")[0])
    [hit] = await harness.say("/faq reserve a room in panama")
    assert hit.startswith("How do I book the meeting room in Panama?")
    await harness.say(f"/faq edit {item_id} answer Use the booking form.", user="bruno")
    [edited] = await harness.say("/faq book meeting room panama")
    assert "Use the booking form." in edited
    [removed] = await harness.say(f"/faq remove {item_id}", user="bruno")
    assert removed.startswith(f"Removed #{item_id}")
    [gone] = await harness.say("/faq book meeting room panama")
    assert "Use the booking form." not in gone


async def test_an_edit_in_one_process_is_seen_by_another_without_restart(
    harness: Harness,
) -> None:
    await seeded(harness)
    other = KnowledgeBase()  # a second worker's in-memory index
    async with harness.app.uow_factory() as uow:
        await other.sync(uow)
    before = other.lookup(None, "galapagos turtle census protocol")
    assert before.best is None or "Galápagos" not in before.best.title
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_key("demo")
        assert community is not None
        await uow.repo(KnowledgeRepository).upsert(
            KnowledgeItem(
                key="t-1",
                type=ItemType.FAQ,
                title="What is the Galápagos turtle census protocol?",
                body="Count at dawn.",
                lang="en",
            ),
            community.id,
            harness.clock.now(),
        )
        await uow.commit()
    async with harness.app.uow_factory() as uow:
        await other.sync(uow)
    after = other.lookup(community.id, "galapagos turtle census protocol")
    assert after.best is not None and after.best.title.startswith("What is the Galápagos")


async def test_a_moderator_cannot_touch_another_communitys_items(harness: Harness) -> None:
    await seeded(harness)
    async with harness.app.uow_factory() as uow:
        demo = await uow.communities.by_key("demo")
        assert demo is not None
        foreign = await uow.repo(KnowledgeRepository).upsert(
            KnowledgeItem(key="x", type=ItemType.FAQ, title="Secret of B?", body="b", lang="en"),
            None if False else await _other_community(uow, harness),
            harness.clock.now(),
        )
        await uow.commit()
    await harness.grant("bruno", Role.MODERATOR)
    for command in [
        f"/faq remove {foreign.id}",
        f"/approve {foreign.id}",
        f"/reject {foreign.id}",
    ]:
        [reply] = await harness.say(command, user="bruno")
        assert reply == f"There is no item #{foreign.id} in this community's repository."
    [lookup] = await harness.say("/faq secret of b")
    assert "Secret of B?" not in lookup


async def _other_community(uow, harness: Harness) -> int:  # type: ignore[no-untyped-def]
    other = await uow.communities.add(
        key="b",
        platform=Platform.TELEGRAM,
        chat_id="-5",
        title="B",
        timezone="UTC",
        language="en",
        now=harness.clock.now(),
    )
    return int(other.id)


async def test_a_plain_question_addressed_to_the_bot_is_answered(harness: Harness) -> None:
    await seeded(harness)
    origin = Origin(
        platform=Platform.TELEGRAM,
        event_id="m1",
        chat_id="-77",
        user=PlatformUser(Platform.TELEGRAM, "5", "Lu", "en"),
        occurred_at=datetime(2026, 11, 2, 12, tzinfo=UTC),
    )
    not_addressed = await harness.dispatch(
        MessageReceived(origin, "what is a community of practice?")
    )
    assert not_addressed == []
    replied = await harness.dispatch(
        MessageReceived(
            Origin(**{**origin.__dict__, "event_id": "m2"}),
            "what does the facilitator do?",
            reply_to=ReplyTarget("9", "bot", is_bot=True),
        )
    )
    # This Telegram group is not the demo community, so only the shared library would answer.
    assert replied == [
        "I don't know that one yet. I have noted the question so moderators can "
        "add an answer; you can also ask the group."
    ]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/faq", "Something is missing: question."),
        ("/faq    ", "Something is missing: question."),
        ("/share not-a-url hello", '"not-a-url" is not a web address.'),
        ("/share ftp://example.org/x", '"ftp://example.org/x" is not a web address.'),
        ("/lesson #webinars", "1 item in the repository:"),
    ],
)
async def test_bad_input_gets_a_clear_reply(harness: Harness, command: str, expected: str) -> None:
    await seeded(harness)
    [reply] = await harness.say(command)
    assert reply.startswith(expected) or expected in reply


async def test_a_ten_thousand_character_query_is_refused_with_the_limit(harness: Harness) -> None:
    await seeded(harness)
    [reply] = await harness.say("/faq " + "comunidad " * 1000)
    assert reply.startswith("That message is too long for a command: at most 4,000 characters.")


async def test_a_ten_thousand_character_plain_question_is_bounded_not_refused(
    harness: Harness,
) -> None:
    await seeded(harness)
    replies = await harness.say("what is a community of practice " * 320)
    assert len(replies) == 1


async def test_commands_used_directly_are_not_lost_in_dms(harness: Harness) -> None:
    await seeded(harness)
    origin = Origin(
        platform=Platform.CONSOLE,
        event_id="dm1",
        chat_id="dm-carla",
        user=PlatformUser(Platform.CONSOLE, "carla", "", "es"),
        occurred_at=datetime(2026, 11, 2, 12, tzinfo=UTC),
        is_direct=True,
    )
    await harness.say("hola", user="carla")  # carla is seen in the demo group first
    [reply] = await harness.dispatch(
        CommandInvoked(origin, "faq", "que es una comunidad de practica")
    )
    assert reply.startswith("¿Qué es una comunidad de práctica?")
