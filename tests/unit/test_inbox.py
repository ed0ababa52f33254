"""The durable inbox: store first, process after; nothing lost, nothing processed twice."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import event

from adapters.console.adapter import ConsoleDecoder
from facilitator.domain.errors import StorageUnavailable
from facilitator.domain.model import ParticipationKind, Platform
from tests.conftest import (
    FrozenClock,
    Harness,
    RecordingMessenger,
    build_test_app,
    make_settings,
)
from tests.log_scan import LogScan


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
    first = build_test_app(settings, clock=clock)
    await first.storage.create_all()
    for n in range(3):
        await first.inbox.accept(Platform.CONSOLE, f"d{n}", line(n, f"message {n}"), "demo")
    await first.aclose()  # the process dies before processing anything

    second = build_test_app(settings, clock=clock)
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


@pytest.mark.expected_errors
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


async def test_an_event_the_database_failed_is_retried_and_logged_in_one_line(
    harness: Harness, log_scan: LogScan
) -> None:
    original = harness.app.core.handle
    down = {"now": True}

    async def handle(event, uow):  # type: ignore[no-untyped-def]
        if down["now"]:
            raise StorageUnavailable("ConnectionResetError")
        return await original(event, uow)

    harness.app.core.handle = handle  # type: ignore[method-assign]
    await harness.app.inbox.accept(Platform.CONSOLE, "d1", line(1, "/help"), "demo")
    await harness.app.inbox.process_pending()
    async with harness.app.uow_factory() as uow:
        assert await uow.inbox.counts() == {"retry": 1}
    down["now"] = False
    harness.clock.advance(seconds=5)
    await harness.app.inbox.process_pending()

    assert len(harness.messenger.sent) == 1
    [line_] = [
        s for s in log_scan.seen if s.logger == "facilitator.inbox" and s.level >= logging.INFO
    ]
    assert line_.level == logging.WARNING
    assert "ConnectionResetError" in line_.text and "Traceback" not in line_.text


@pytest.mark.expected_errors
async def test_a_conversation_that_fails_does_not_cut_short_the_others(
    harness: Harness, log_scan: LogScan
) -> None:
    """Two conversations handled concurrently; sending the first one's reply fails while the
    second is half-way. The second still finishes, stored and answered; the failure is one
    logged line of the first conversation's reply lane, and nothing else stops."""
    other_started, failed = asyncio.Event(), asyncio.Event()
    handle, send = harness.app.core.handle, harness.messenger.send

    async def handling(event, uow):  # type: ignore[no-untyped-def]
        if event.origin.user.user_id == "bruno":  # the conversation stored as "first"
            await other_started.wait()
        else:
            other_started.set()
            await failed.wait()
        return await handle(event, uow)

    async def sending(destination, message):  # type: ignore[no-untyped-def]
        if not failed.is_set():
            failed.set()
            raise RuntimeError("a messenger fault")
        return await send(destination, message)

    harness.app.core.handle = handling  # type: ignore[method-assign]
    harness.messenger.send = sending  # type: ignore[method-assign]
    await harness.app.inbox.accept(Platform.CONSOLE, "b1", line(1, "/help", user="bruno"), "first")
    await harness.app.inbox.accept(Platform.CONSOLE, "d2", line(2, "/help"), "second")

    assert await harness.app.inbox.process_pending() == 2

    assert len(harness.messenger.sent) == 1
    async with harness.app.uow_factory() as uow:
        assert await uow.inbox.counts() == {"done": 2}
    failures = [s for s in log_scan.seen if s.logger == "facilitator.delivery.replies"]
    assert len(failures) == 1 and "a messenger fault" in failures[0].text


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


async def test_events_arriving_together_share_one_commit_each_answered_alone(
    any_harness: Harness,
) -> None:
    """Webhook requests under load: what arrives together is stored in one transaction (a
    group commit), and each caller learns whether its own delivery was new."""
    inbox = any_harness.app.inbox
    commits = 0

    def count(_connection: object) -> None:
        nonlocal commits
        commits += 1

    engine = any_harness.app.storage.engine.sync_engine
    event.listen(engine, "commit", count)
    try:
        answers = await asyncio.gather(
            *(
                inbox.accept(Platform.CONSOLE, f"d{n}", line(n, f"hi {n}"), "demo")
                for n in range(40)
            ),
            inbox.accept(Platform.CONSOLE, "d3", line(3, "hi 3"), "demo"),  # a retry, in flight
        )
    finally:
        event.remove(engine, "commit", count)
    assert answers == [True] * 40 + [False]
    assert commits == 1
    assert await inbox.process_pending() == 40
    async with any_harness.app.uow_factory() as uow:
        assert await uow.inbox.counts() == {"done": 40}


async def test_a_delivery_the_database_refuses_fails_only_its_own_caller(
    any_harness: Harness,
) -> None:
    """A lone surrogate cannot be encoded for the database: that caller gets the error (its
    webhook answers 503, the platform retries), and those stored with it are not held up."""
    inbox = any_harness.app.inbox
    bad = line(9, "broken \ud800 text")
    answers = await asyncio.gather(
        *(inbox.accept(Platform.CONSOLE, f"d{n}", line(n, f"hi {n}"), "demo") for n in range(5)),
        inbox.accept(Platform.CONSOLE, "d9", bad.replace("\\ud800", "\ud800"), "demo"),
        return_exceptions=True,
    )
    assert answers[:5] == [True] * 5
    assert isinstance(answers[5], Exception)
    assert await inbox.process_pending() == 5


async def test_a_caller_that_stops_waiting_does_not_stop_the_others(any_harness: Harness) -> None:
    inbox = any_harness.app.inbox
    first = asyncio.create_task(inbox.accept(Platform.CONSOLE, "d1", line(1, "one"), "demo"))
    gone = asyncio.create_task(inbox.accept(Platform.CONSOLE, "d2", line(2, "two"), "demo"))
    await asyncio.sleep(0)  # both waiting for the writer
    gone.cancel()
    assert await first
    with pytest.raises(asyncio.CancelledError):
        await gone
    # The dropped request's row may be stored all the same: a retry then finds it.
    assert await inbox.process_pending() in (1, 2)
