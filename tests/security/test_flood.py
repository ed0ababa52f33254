"""A member over their command budget: one notice a minute in their language, nothing run,
nothing lost; the others, and moderators, are answered as before. The inbox claims fairly:
a flood in one conversation never keeps another's events out of a claim."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio

from facilitator.domain.model import Platform, Role
from tests.conftest import FrozenClock, Harness, harness_on, sqlite_with_tables

BUDGET = 3


@pytest_asyncio.fixture
async def limited(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Harness]:
    url = sqlite_with_tables(tmp_path / "flood.db")
    async with harness_on(url, clock, member_budget_per_minute=BUDGET) as harness:
        yield harness


async def test_past_the_budget_commands_are_done_unanswered_with_one_notice(
    limited: Harness,
) -> None:
    harness = limited
    answers = [await harness.say("/help", user="flo") for _ in range(BUDGET + 5)]
    meanwhile = await harness.say("/help", user="bruno")

    assert all(any("What you can do here" in a for a in said) for said in answers[:BUDGET])
    assert answers[BUDGET] == [
        "You are sending commands faster than I can answer everyone: at most 3 a minute. "
        "I will skip yours for the rest of this minute; try again after that."
    ]
    assert all(said == [] for said in answers[BUDGET + 1 :])
    assert any("What you can do here" in a for a in meanwhile)  # another member: as before
    async with harness.app.uow_factory() as uow:
        assert await uow.inbox.counts() == {"done": BUDGET + 6}  # nothing lost

    harness.clock.advance(seconds=61)
    assert any("What you can do here" in a for a in await harness.say("/help", user="flo"))


async def test_the_notice_is_in_the_members_language_and_buttons_count_too(
    limited: Harness,
) -> None:
    harness = limited
    for _ in range(BUDGET):
        await harness.say("/lang", user="ana", locale="es")
    [notice] = await harness.say("/lang", user="ana", locale="es")
    assert notice.startswith("Estás enviando comandos más rápido")
    pressed = json.dumps(
        {
            "kind": "button",
            "action": "lang",
            "value": "pt",
            "id": "b:1",
            "user_id": "ana",
            "name": "Ana",
            "locale": "es",
            "at": harness.clock.now().isoformat(),
        }
    )
    await harness.app.inbox.accept(Platform.CONSOLE, "b:1", pressed, "demo")
    before = len(harness.messenger.sent)
    await harness.app.inbox.process_pending()
    assert harness.messenger.sent[before:] == []  # refused, and already told
    async with harness.app.uow_factory() as uow:
        member = await uow.members.identity(Platform.CONSOLE, "ana")
        assert member is not None and member.language in (None, "es")


async def test_moderators_are_not_limited(limited: Harness) -> None:
    harness = limited
    await harness.grant("mia", Role.MODERATOR)
    answers = [await harness.say("/help", user="mia") for _ in range(BUDGET + 3)]
    assert all(any("What you can do here" in a for a in said) for said in answers)


async def test_a_claim_takes_every_conversation_in_turn(any_harness: Harness) -> None:
    inbox, clock = any_harness.app.inbox, any_harness.clock
    flood = [(f"f{n}", json.dumps({"n": n}), "flooded") for n in range(50)]
    await inbox.accept_many(Platform.CONSOLE, flood)
    await inbox.accept_many(Platform.CONSOLE, [("q1", "{}", "quiet"), ("q2", "{}", "quiet")])
    await inbox.accept_many(Platform.CONSOLE, [("p1", "{}", "private")])

    async with any_harness.app.uow_factory() as uow:
        claimed = await uow.inbox.claim(clock.now(), 60.0, 6)
        await uow.commit()
    taken = [(r.ordering_key, r.delivery_id) for r in claimed]
    expected = [("flooded", f"f{n}") for n in range(3)]
    expected += [("quiet", "q1"), ("quiet", "q2"), ("private", "p1")]
    assert sorted(taken) == sorted(expected)
    # Within a conversation, oldest first; a later claim goes on where this one stopped.
    async with any_harness.app.uow_factory() as uow:
        later = await uow.inbox.claim(clock.now() + timedelta(seconds=1), 60.0, 3)
        await uow.commit()
    assert [r.delivery_id for r in later] == ["f3", "f4", "f5"]
