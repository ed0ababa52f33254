"""/mydata and /forgetme reach the raw updates Telegram sent: polled from the fake Bot API,
handled by the real core, the export read from the document the fake received."""

from __future__ import annotations

import json
from typing import Any

import pytest_asyncio
from sqlalchemy import select

from adapters.telegram.envelope import envelope
from facilitator.storage.models import InboxRow
from tests.adapters.fakes.telegram_api import (
    callback_query_update,
    chat_member_dict,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import BOT_ID, BOT_USERNAME, TelegramHarness, member_update

GROUP = supergroup_chat(-1001600, "Study circle")
ADA = user(111, "Ada", username="ada_lovelace", language_code="en")
BEA = user(222, "Bea", username="bea_b", language_code="en")
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)


@pytest_asyncio.fixture
async def tg(tg: TelegramHarness) -> TelegramHarness:
    tg.api.add_chat(GROUP)
    added = member_update(
        "my_chat_member", GROUP, BEA, chat_member_dict(ME, "left"), chat_member_dict(ME)
    )
    await tg.poll(added)
    return tg


async def stored(tg: TelegramHarness) -> dict[str, tuple[str | None, str | None]]:
    """(sender, payload) of every stored update, by update id."""
    async with tg.app.uow_factory() as uow:
        found = await uow.session.execute(  # type: ignore[attr-defined]
            select(InboxRow.delivery_id, InboxRow.sender, InboxRow.payload)
        )
        return {delivery_id: (sender, payload) for delivery_id, sender, payload in found}


def exported(tg: TelegramHarness) -> dict[str, Any]:
    [document] = [c for c in tg.api.calls_to("sendDocument") if c.ok]
    assert str(document.params["chat_id"]) == str(ADA["id"])
    return dict(json.loads(document.files["document"]))


async def test_mydata_and_forgetme_reach_the_raw_updates_a_member_sent(
    tg: TelegramHarness,
) -> None:
    [ada_said] = await tg.poll(text_update("I live at 12 Elm St", from_user=ADA, chat=GROUP))
    [bea_said] = await tg.poll(text_update("Bea's own words", from_user=BEA, chat=GROUP))

    await tg.poll(text_update("/mydata", from_user=ADA, chat=private_chat(ADA)))

    received = exported(tg)["received_payloads"]
    texts = [r["payload"]["message"]["text"] for r in received]
    assert texts[:2] == ["I live at 12 Elm St", "/mydata"]
    assert {r["payload"]["message"]["from"]["username"] for r in received} == {"ada_lovelace"}
    assert "Bea's own words" not in json.dumps(received)

    await tg.poll(text_update("/forgetme", from_user=ADA, chat=private_chat(ADA)))
    confirm = tg.api.sent_messages(ADA["id"])[-1]
    [[button]] = confirm["reply_markup"]["inline_keyboard"]
    await tg.poll(callback_query_update(button["callback_data"], message=confirm, from_user=ADA))

    rows = await stored(tg)
    ada_rows = [payload for sender, payload in rows.values() if sender == "111"]
    assert ada_rows == []  # cleared, and no longer naming her
    assert rows[str(ada_said)] == (None, None)
    assert "Bea's own words" in (rows[str(bea_said)][1] or "")
    assert sum(1 for _, payload in rows.values() if payload is None) == 4  # and the press

    # Telegram delivering her message again (as the webhook receives it) is still recognised.
    again = json.dumps(text_update("I live at 12 Elm St", from_user=ADA, chat=GROUP))
    again = again.replace("{", f'{{"update_id": {ada_said}, ', 1)
    assert not await tg.adapter.store(again, envelope(json.loads(again), again))
    assert await stored(tg) == rows
