"""Announcements on Telegram, over real HTTP to the fake Bot API: a moderator schedules one
with an English and a Spanish version; when the job finds it due it is posted once in the
group, English (the group's language) first, and pinned; the two members who opted in get
a private copy in their own language, and a member who did not gets nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import pytest_asyncio

from facilitator.domain.outbox import OutboxStatus
from facilitator.features.announcements.service import JOB
from tests.adapters.fakes.telegram_api import (
    chat_member_dict,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import BOT_ID, BOT_USERNAME, TelegramHarness, member_update

GROUP = supergroup_chat(-1001800, "Water and sanitation CoP")
ADA = user(111, "Ada", language_code="en")  # adds the bot: a moderator from then on
BEA = user(222, "Bea", language_code="en")  # opts in, reads English
CARL = user(333, "Carl", language_code="es")  # opts in, reads Spanish
DORA = user(444, "Dora", language_code="en")  # writes to the bot privately, does not opt in
ERIN = user(555, "Erin", language_code="en")  # opts in, never writes to the bot privately
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


def _in_group(who: dict[str, Any], text: str) -> dict[str, Any]:
    return text_update(text, from_user=who, chat=GROUP)


async def _run_job(tg: TelegramHarness) -> int:
    [job] = [j for j in tg.app.jobs if j.job_id == JOB]
    return int(await job.run(tg.clock.now()) or 0)


async def test_a_scheduled_announcement_is_posted_once_pinned_with_copies_in_each_language(
    tg: TelegramHarness,
) -> None:
    for member in (BEA, CARL, DORA):
        await tg.poll(text_update("/start", from_user=member, chat=private_chat(member)))
    await tg.poll(_in_group(BEA, "/announce subscribe"), _in_group(CARL, "/announce subscribe"))
    await tg.poll(_in_group(DORA, "Hello everyone"))
    await tg.poll(_in_group(ERIN, "/announce subscribe"))
    await tg.app.dispatcher.dispatch_due()
    assert any(t.startswith("On Telegram I can write to you only once") for t in tg.sent_texts())
    await tg.poll(
        _in_group(
            ADA,
            "/announce at tomorrow 09:00 pin Meeting on <b>Friday</b>, bring $5 =SUM(A1)\n"
            "es: Reunión el <i>viernes</i>",
        )
    )
    await tg.app.dispatcher.dispatch_due()
    group_before = len(tg.sent_texts(GROUP["id"]))
    assert tg.api.pinned.get(GROUP["id"]) is None
    assert any("is scheduled for" in t for t in tg.sent_texts())

    assert await _run_job(tg) == 0  # not due yet
    tg.clock.advance(days=1)
    assert await _run_job(tg) == 1
    assert await _run_job(tg) == 0
    await tg.app.dispatcher.dispatch_due()
    await tg.app.dispatcher.dispatch_due()

    posts = [t for t in tg.sent_texts(GROUP["id"])[group_before:] if "Announcement" in t]
    assert posts == [
        "📣 Announcement · Water and sanitation CoP\nEnglish\n"
        "Meeting on <b>Friday</b>, bring $5 =SUM(A1)\nEspañol\nReunión el <i>viernes</i>"
    ]
    [post_call] = [
        c
        for c in tg.api.calls_to("sendMessage")
        if c.ok and str(c.params["chat_id"]) == str(GROUP["id"]) and "📣" in str(c.params["text"])
    ]
    html = str(post_call.params["text"])
    assert "Meeting on &lt;b&gt;Friday&lt;/b&gt;, bring $5 =SUM(A1)" in html
    assert tg.api.pinned[GROUP["id"]] == [post_call.result["message_id"]]

    assert [t for t in tg.sent_texts(BEA["id"]) if "📣" in t] == [
        "📣 Announcement from Water and sanitation CoP\n"
        "Meeting on <b>Friday</b>, bring $5 =SUM(A1)"
    ]
    assert [t for t in tg.sent_texts(CARL["id"]) if "📣" in t] == [
        "📣 Anuncio de Water and sanitation CoP\nReunión el <i>viernes</i>"
    ]
    assert [t for t in tg.sent_texts(DORA["id"]) if "📣" in t] == []
    assert tg.sent_texts(ERIN["id"]) == []  # unreachable privately: no copy, no mention
    assert not any("Erin" in t for t in tg.sent_texts(GROUP["id"])[group_before:])
    # Nobody was mentioned in the group in place of a private copy.
    later = tg.sent_texts(GROUP["id"])[group_before:]
    assert len(later) == 1


async def test_a_member_without_the_role_is_refused_and_nothing_is_posted(
    tg: TelegramHarness,
) -> None:
    await tg.poll(text_update("/start", from_user=CARL, chat=private_chat(CARL)))
    await tg.poll(_in_group(CARL, "/announce Todos a la sala 2"))
    await tg.app.dispatcher.dispatch_due()
    refusals = [t for t in tg.sent_texts() if "/announce" in t]
    assert refusals and refusals[0].startswith("Lo siento, /announce requiere")
    tg.clock.advance(days=1)
    assert await _run_job(tg) == 0
    assert not any("📣" in t for t in tg.sent_texts(GROUP["id"]))
    assert tg.api.calls_to("pinChatMessage") == []


async def test_a_refused_pin_leaves_one_ordinary_post(
    tg: TelegramHarness, caplog: pytest.LogCaptureFixture
) -> None:
    tg.api.fail_next(
        "pinChatMessage", 400, "Bad Request: not enough rights to manage pinned messages"
    )
    await tg.poll(_in_group(ADA, "/announce pin Read the rules before posting"))
    with caplog.at_level(logging.WARNING):
        await tg.app.dispatcher.dispatch_due()
    posts = [t for t in tg.sent_texts(GROUP["id"]) if "📣" in t]
    assert posts == ["📣 Announcement · Water and sanitation CoP\nRead the rules before posting"]
    [refused] = tg.api.calls_to("pinChatMessage")
    assert not refused.ok and GROUP["id"] not in tg.api.pinned
    assert any(r.getMessage() == "telegram message not pinned" for r in caplog.records)
    async with tg.app.uow_factory() as uow:
        [row] = [
            r
            for r in await uow.outbox.listing(None, list(OutboxStatus), 50)
            if "post" in r.dedup_key
        ]
    assert row.status is OutboxStatus.SENT
