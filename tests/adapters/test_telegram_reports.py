"""Reports on Telegram, over real HTTP to the fake Bot API: a member replies /report to a
message in the group; the moderator hears of it privately with a link to the message and the
reason (as literal text), the reporter is thanked privately, and neither the group nor the
message's author hears anything."""

from __future__ import annotations

from typing import Any

import pytest_asyncio

from tests.adapters.fakes.telegram_api import (
    chat_member_dict,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import BOT_ID, BOT_USERNAME, TelegramHarness, member_update

GROUP = supergroup_chat(-1001700, "Knowledge Exchange")
ADA = user(111, "Ada", language_code="en")  # adds the bot: a moderator from then on
BEA = user(222, "Bea", language_code="en")  # reports
CARL = user(333, "Carl", language_code="en")  # wrote the reported message
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)


@pytest_asyncio.fixture
async def tg(tg: TelegramHarness) -> TelegramHarness:
    tg.api.add_chat(GROUP)
    tg.api.set_chat_member(GROUP["id"], chat_member_dict(ADA, "creator"))
    await tg.poll(
        member_update(
            "my_chat_member", GROUP, ADA, chat_member_dict(ME, "left"), chat_member_dict(ME)
        )
    )
    return tg


def _message(who: dict[str, Any], text: str, message_id: int) -> dict[str, Any]:
    return text_update(text, from_user=who, chat=GROUP, message_id=message_id)


def _reply(who: dict[str, Any], text: str, message_id: int, to: dict[str, Any]) -> dict[str, Any]:
    update = _message(who, text, message_id)
    replied = dict(to["message"])
    replied.pop("reply_to_message", None)
    update["message"]["reply_to_message"] = replied
    return update


async def test_a_reported_message_reaches_the_moderator_privately_with_its_link(
    tg: TelegramHarness,
) -> None:
    await tg.poll(text_update("/start", from_user=BEA, chat=private_chat(BEA)))
    await tg.poll(text_update("/start", from_user=ADA, chat=private_chat(ADA)))
    before_group = len(tg.sent_texts(GROUP["id"]))
    offensive = _message(CARL, "Buy cheap <b>followers</b> now!", 20)
    await tg.poll(offensive)
    await tg.poll(_reply(BEA, "/report spam <i>&amp;</i> @here", 21, offensive))
    await tg.app.dispatcher.dispatch_due()

    assert any(t.startswith("Thank you for telling us.") for t in tg.sent_texts(BEA["id"]))
    [notice] = [t for t in tg.sent_texts(ADA["id"]) if "A message was reported" in t]
    assert "By Carl: “Buy cheap <b>followers</b> now!”" in notice
    assert "Reason: spam <i>&amp;</i> @here" in notice
    assert "Bea" not in notice
    html = str(
        next(
            c.params["text"]
            for c in tg.api.calls_to("sendMessage")
            if "A message was reported" in str(c.params["text"])
        )
    )
    assert "https://t.me/c/1700/20" in html
    assert "&lt;i&gt;&amp;amp;&lt;/i&gt;" in html  # the reason is text, never markup
    assert tg.sent_texts(CARL["id"]) == []
    assert len(tg.sent_texts(GROUP["id"])) == before_group
