"""The durable inbox: store first, process after; nothing lost, nothing processed twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.console.adapter import ConsoleDecoder
from facilitator.bootstrap import build_app
from facilitator.domain.model import ParticipationKind, Platform
from tests.conftest import FrozenClock, Harness, RecordingMessenger, make_settings


def line(n: int, text: str, user: str = "carla", at: str = "2026-11-02T12:00:00+00:00") -> str:
    return json.dumps(
        {"kind": "text", "text": text, "id": f"d{n}", "user_id": user, "name": user, "at": at}
    )


async def test_a_redelivered_event_is_stored_once(harness: Harness) -> None:
    assert await harness.app.inbox.accept(Platform.CONSOLE, "d1", line(1, "/help"), "demo")
    assert not await harness.app.inbox.accept(Platform.CONSOLE, "d1", line(1, "/help"), "demo")
    assert await harness.app.inbox.process_pending() == 1
    assert len(harness.messenger.sent) == 1


async def test_events_stored_before_a_restart_are_processed_after_it(
    tmp_path: Path, clock: FrozenClock
) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'restart.db'}")
    first = build_app(settings, clock=clock)
    await first.storage.create_all()
    for n in range(3):
        await first.inbox.accept(Platform.CONSOLE, f"d{n}", line(n, f"message {n}"), "demo")
    await first.aclose()  # the process dies before processing anything

    second = build_app(settings, clock=clock)
    messenger = RecordingMessenger()
    second.attach(Platform.CONSOLE, messenger, ConsoleDecoder())
    try:
        assert await second.inbox.process_pending() == 3
        assert await second.inbox.process_pending() == 0
        async with second.uow_factory() as uow:
            community = await uow.communities.by_chat(Platform.CONSOLE, "demo")
            assert community is not None
            assert await uow.ledger.count(community.id, ParticipationKind.MESSAGE_POSTED) == 3
            assert (await uow.inbox.counts()) == {"done": 3}
    finally:
        await second.aclose()


async def test_an_undecodable_payload_is_rejected_and_later_events_still_run(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.app.inbox.accept(Platform.CONSOLE, "bad", '{"not": "an event"', "demo")
    await harness.app.inbox.accept(Platform.CONSOLE, "d2", line(2, "/help"), "demo")
    await harness.app.inbox.process_pending()
    assert harness.app.inbox.rejected == 1
    assert len(harness.messenger.sent) == 1
    assert any(r.getMessage() == "inbound payload rejected" for r in caplog.records)
    async with harness.app.uow_factory() as uow:
        assert await uow.inbox.counts() == {"done": 1, "rejected": 1}


async def test_a_failing_event_is_retried_later_not_lost(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    calls = {"n": 0}
    original = harness.app.core.handle

    async def flaky(event, uow):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return await original(event, uow)

    harness.app.core.handle = flaky  # type: ignore[method-assign]
    await harness.app.inbox.accept(Platform.CONSOLE, "d1", line(1, "/help"), "demo")
    await harness.app.inbox.process_pending()
    assert harness.messenger.sent == []
    async with harness.app.uow_factory() as uow:
        assert await uow.inbox.counts() == {"retry": 1}
    harness.clock.advance(seconds=5)
    await harness.app.inbox.process_pending()
    assert len(harness.messenger.sent) == 1
    async with harness.app.uow_factory() as uow:
        assert await uow.inbox.counts() == {"done": 1}


async def test_events_claimed_by_a_crashed_worker_are_reclaimed_after_the_lease(
    harness: Harness,
) -> None:
    await harness.app.inbox.accept(Platform.CONSOLE, "d1", line(1, "/help"), "demo")
    async with harness.app.uow_factory() as uow:
        claimed = await uow.inbox.claim(harness.clock.now(), 60, 10)
        await uow.commit()
    assert len(claimed) == 1  # this worker then dies without finishing
    assert await harness.app.inbox.process_pending() == 0
    harness.clock.advance(seconds=61)
    assert await harness.app.inbox.process_pending() == 1
    assert len(harness.messenger.sent) == 1


async def test_events_of_one_conversation_are_handled_in_arrival_order(harness: Harness) -> None:
    await harness.community()
    for n, text in enumerate(["/lang es", "/lang", "/lang pt", "/lang"]):
        await harness.app.inbox.accept(Platform.CONSOLE, f"d{n}", line(n, text), "demo")
    await harness.app.inbox.process_pending()
    assert harness.messenger.texts() == [
        "Listo: te hablaré en español.",
        "Te hablo en español. Cámbialo con /lang en, /lang es o /lang pt.",
        "Pronto: vou falar com você em português.",
        "Falo com você em português. Mude com /lang en, /lang es ou /lang pt.",
    ]


async def test_events_of_a_platform_this_process_does_not_run_are_left_for_one_that_does(
    harness: Harness,
) -> None:
    # `facilitator demo` (console only) on the database `serve` stores Telegram updates in.
    update = json.dumps({"update_id": 7, "message": {"message_id": 7, "text": "hola"}})
    await harness.app.inbox.accept(Platform.TELEGRAM, "7", update, "chat:-100")
    await harness.app.inbox.accept(Platform.CONSOLE, "d1", line(1, "/help"), "demo")
    assert await harness.app.inbox.process_pending() == 1
    assert harness.app.inbox.rejected == 0
    async with harness.app.uow_factory() as uow:
        assert await uow.inbox.counts() == {"done": 1, "pending": 1}
