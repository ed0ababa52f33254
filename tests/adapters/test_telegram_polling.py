"""Long polling through the fake's getUpdates: store first, confirm after, one poll at a time."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram.error import InvalidToken

from adapters.telegram.envelope import ALLOWED_UPDATES, Envelope
from adapters.telegram.polling import Poller
from facilitator.inbox import LEASE_SECONDS, Inbox
from facilitator.storage.models import InboxRow
from tests.adapters.fakes.telegram_api import (
    DEFAULT_TOKEN,
    FakeTelegramAPI,
    callback_query_update,
    chat_member_dict,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import (
    TelegramHarness,
    member_update,
    reaction_update,
    telegram_harness,
    wait_until,
)
from tests.conftest import FrozenClock

ADA = user(111, "Ada")
GROUP = supergroup_chat()


async def test_the_offset_moves_only_after_the_whole_batch_is_stored(tg: TelegramHarness) -> None:
    ids = tg.api.queue_updates(
        [text_update(f"message {n}", from_user=ADA, chat=GROUP) for n in range(3)]
    )
    stored: list[str] = []

    async def flaky_store(batch: Sequence[tuple[str, Envelope]]) -> int:
        if not stored.count("failed"):
            stored.append("failed")
            raise ConnectionError("database unavailable")
        stored.extend(envelope.delivery_id for _, envelope in batch)
        return await tg.adapter.store_batch(batch)

    async def nothing(envelopes: object) -> None:
        return None

    poller = Poller(tg.adapter.bot, tg.adapter.poller._request, flaky_store, nothing, timeout=0)
    with pytest.raises(ConnectionError):
        await poller.poll_once()
    assert poller.offset is None  # nothing confirmed: Telegram serves the batch again
    await poller.poll_once()
    await poller.poll_once()

    assert stored == ["failed", *map(str, ids)]
    assert tg.api.offsets_requested == [None, None, ids[-1] + 1]
    assert tg.api.pending_updates == []
    assert await tg.inbox_statuses() == {"done": 3}  # each stored once, handled as polled


async def test_each_raw_update_is_stored_as_received_with_its_chat_as_ordering_key(
    tg: TelegramHarness,
) -> None:
    update = text_update("olá <b>", from_user=ADA, chat=GROUP, message_id=5, date=9)
    [update_id] = tg.api.queue_updates([update])

    await tg.adapter.poller.poll_once()

    async with tg.app.uow_factory() as uow:
        [row] = await uow.session.execute(  # type: ignore[attr-defined]
            select(InboxRow.delivery_id, InboxRow.ordering_key, InboxRow.payload)
        )
    assert row.delivery_id == str(update_id)
    assert row.ordering_key == str(GROUP["id"])
    assert json.loads(row.payload) == {"update_id": update_id, **update}


async def test_polling_asks_for_member_and_reaction_updates(tg: TelegramHarness) -> None:
    join = member_update(
        "chat_member", GROUP, ADA, chat_member_dict(ADA, "left"), chat_member_dict(ADA)
    )
    react = reaction_update(GROUP, ADA, 1, [], ["👍"])
    tg.api.queue_updates([join, react, {"inline_query": {"id": "1", "from": ADA, "query": ""}}])

    assert await tg.adapter.poller.poll_once() == 2

    params = tg.api.calls_to("getUpdates")[0].params
    assert params["allowed_updates"] == list(ALLOWED_UPDATES)
    assert [u.get("inline_query") is not None for u in tg.api.filtered_updates] == [True]


async def test_button_presses_are_answered_once_stored(tg: TelegramHarness) -> None:
    shown = {"message_id": 3, "date": 1, "chat": private_chat(ADA), "from": ADA, "text": "?"}
    [update_id] = tg.api.queue_updates(
        [callback_query_update("x|1", message=shown, query_id="q1")]
    )
    seen_at_answer: list[dict[str, int]] = []
    acknowledge = tg.adapter.acknowledge

    async def spy(envelopes: list[Envelope]) -> None:
        seen_at_answer.append(await tg.inbox_statuses())
        await acknowledge(envelopes)

    tg.adapter.poller._acknowledge = spy
    await tg.adapter.poller.poll_once()

    assert seen_at_answer == [{"done": 1}]  # stored (and handled) before it is answered
    [answer] = tg.api.calls_to("answerCallbackQuery")
    assert answer.params == {"callback_query_id": "q1"} and answer.ok
    assert update_id


async def test_a_long_poll_returns_as_soon_as_an_update_arrives_and_never_overlaps(
    fake_telegram: FakeTelegramAPI, tmp_path: Path, clock: FrozenClock
) -> None:
    async with telegram_harness(fake_telegram, tmp_path, clock, telegram_poll_timeout=10) as tg:
        run = asyncio.create_task(tg.adapter.receive())
        try:
            await tg.api.wait_for_calls("getUpdates")
            tg.api.queue_updates([text_update("/help", from_user=ADA, chat=private_chat(ADA))])
            await wait_until(lambda: tg.adapter.poller.stored == 1, 5, "the update stored")
            await tg.api.wait_for_calls("getUpdates", 2)  # the next poll confirms it
            assert tg.adapter.ready()
        finally:
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run

    statuses = [c.status for c in tg.api.calls_to("getUpdates") if c.status is not None]
    assert 409 not in statuses  # a second poll would have ended the first with 409
    assert tg.api.calls_to("getUpdates")[0].params["timeout"] == 10


async def test_a_retry_after_on_get_updates_is_waited_as_asked_and_polling_goes_on(
    tg: TelegramHarness,
) -> None:
    tg.api.fail_next("getUpdates", 429, retry_after=7)
    tg.api.queue_updates([text_update("hello", from_user=ADA, chat=GROUP)])

    run = asyncio.create_task(tg.adapter.poller.run())  # the wait happens in virtual time
    try:
        await wait_until(lambda: tg.adapter.poller.stored >= 1, 5, "the update stored")
    finally:
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    assert [c.status for c in tg.api.calls_to("getUpdates")][:2] == [429, 200]
    assert tg.time.slept == 7
    assert tg.adapter.poller.healthy


@pytest.mark.expected_errors
async def test_a_refused_token_stops_polling(tg: TelegramHarness) -> None:
    tg.api.fail_next("getUpdates", 401, "Unauthorized")

    with pytest.raises(InvalidToken):
        await tg.adapter.poller.run()

    assert [c.status for c in tg.api.calls_to("getUpdates")] == [401]
    assert not tg.adapter.poller.healthy
    assert tg.time.slept == 0


async def test_the_token_never_reaches_the_logs_even_at_debug(
    fake_telegram: FakeTelegramAPI,
    tmp_path: Path,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with telegram_harness(fake_telegram, tmp_path, clock) as tg:
        await tg.poll(text_update("/help", from_user=ADA, chat=private_chat(ADA)))
        await tg.adapter.publish_commands()

    assert len(tg.api.calls_to("sendMessage")) == 1
    assert DEFAULT_TOKEN not in caplog.text
    assert DEFAULT_TOKEN.split(":")[1] not in caplog.text


async def test_a_polled_update_holding_a_lone_surrogate_is_stored_and_handled(
    tg: TelegramHarness,
) -> None:
    """Half of a surrogate pair (`\\ud83d` alone, as JSON escapes it) cannot be stored as a
    character: the update is kept escaped, and decoding drops it."""
    update = text_update("olá? \ud83d", from_user=ADA, chat=GROUP, message_id=5, date=9)

    await tg.poll(update)

    assert await tg.inbox_statuses() == {"done": 1}
    assert tg.adapter.poller.offset is not None


async def test_a_polled_batch_is_handled_as_stored_and_taken_up_later_if_that_fails(
    tg: TelegramHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Polled rows are stored already leased to the poller's process and handled at once,
    with no claim. If handling fails, Telegram has still been told the batch arrived (it is
    stored), and the rows wait, leased, until the worker takes them up at the lease's end."""
    ids = tg.api.queue_updates(
        [text_update(f"message {n}", from_user=ADA, chat=GROUP) for n in range(3)]
    )
    handle = Inbox._handle
    failing = True

    async def fails_once(inbox: Inbox, batch: Sequence[object]) -> None:
        if failing:
            raise ConnectionError("database went away")
        await handle(inbox, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(Inbox, "_handle", fails_once)
    assert await tg.adapter.poller.poll_once() == 3
    assert tg.adapter.poller.offset == ids[-1] + 1
    assert await tg.inbox_statuses() == {"processing": 3}
    assert "stored batch not handled" in caplog.text

    failing = False
    assert await tg.app.inbox.process_pending() == 0  # still leased to the poller
    tg.clock.advance(seconds=LEASE_SECONDS + 1)
    assert await tg.app.inbox.process_pending() == 3
    assert await tg.inbox_statuses() == {"done": 3}
