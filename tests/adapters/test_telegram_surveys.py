"""A survey on Telegram, over real HTTP to the fake Bot API: a moderator writes it and sends
it; two members get it privately, answer with inline buttons and a private message; the
moderator receives the results as a CSV document whose rows are those answers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest_asyncio

from tests.adapters.fakes.telegram_api import (
    callback_query_update,
    chat_member_dict,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import BOT_ID, BOT_USERNAME, TelegramHarness, member_update

GROUP = supergroup_chat(-1001800, "Water Circle")
ADA = user(111, "Ada", language_code="en")  # adds the bot: a moderator from then on
BEA = user(222, "Bea", language_code="en")
CARL = user(333, "Carl", language_code="es")
DAN = user(444, "Dan", language_code="en")  # a member who does not answer
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)

SURVEY = (
    "/survey new Autumn check-in\n"
    "scale: How useful were the sessions?\n"
    "choice: Which day suits you? | Monday | Wednesday | Friday\n"
    "text: What should we change?"
)


@pytest_asyncio.fixture
async def tg(tg: TelegramHarness) -> TelegramHarness:
    tg.api.add_chat(GROUP)
    tg.api.set_chat_member(GROUP["id"], chat_member_dict(ADA, "creator"))
    await tg.poll(
        member_update(
            "my_chat_member", GROUP, ADA, chat_member_dict(ME, "left"), chat_member_dict(ME)
        )
    )
    for number, member in enumerate((ADA, BEA, CARL, DAN), 10):
        await tg.poll(text_update("hello", from_user=member, chat=GROUP, message_id=number))
        await tg.poll(text_update("/start", from_user=member, chat=private_chat(member)))
    return tg


def last_with_buttons(tg: TelegramHarness, member: dict[str, Any]) -> dict[str, Any]:
    return [m for m in tg.api.sent_messages(member["id"]) if m.get("reply_markup")][-1]


async def press(tg: TelegramHarness, member: dict[str, Any], label: str) -> None:
    """Press the button labelled `label` on the last message with buttons sent to `member`."""
    message = last_with_buttons(tg, member)
    [data] = [
        button["callback_data"]
        for row in message["reply_markup"]["inline_keyboard"]
        for button in row
        if button["text"] == label
    ]
    await tg.poll(callback_query_update(data, message=message, from_user=member))
    await tg.app.dispatcher.dispatch_due()


async def answer(
    tg: TelegramHarness, member: dict[str, Any], scale: str, day: str, said: str
) -> list[str]:
    """Answer the three questions; what the bot said to the free-text message."""
    await press(tg, member, "Answer" if member is not CARL else "Responder")
    await press(tg, member, scale)
    await press(tg, member, day)
    before = len(tg.sent_texts(member["id"]))
    await tg.poll(text_update(said, from_user=member, chat=private_chat(member)))
    await tg.app.dispatcher.dispatch_due()
    return tg.sent_texts(member["id"])[before:]


async def test_a_survey_is_answered_with_buttons_and_a_message_and_its_csv_reaches_ada(
    tg: TelegramHarness,
) -> None:
    await tg.poll(text_update(SURVEY, from_user=ADA, chat=private_chat(ADA)))
    assert tg.sent_texts(ADA["id"])[-1].startswith("Survey #1 “Autumn check-in” is ready")
    before_group = len(tg.sent_texts(GROUP["id"]))
    await tg.poll(text_update("/survey send 1", from_user=ADA, chat=private_chat(ADA)))
    await tg.app.dispatcher.dispatch_due()
    invite = last_with_buttons(tg, BEA)
    assert "Autumn check-in: a survey from Water Circle, 3 questions." in invite["text"]
    # Carl reads it in Spanish; nothing is said in the group.
    assert (
        "un cuestionario de Water Circle, con 3 preguntas" in last_with_buttons(tg, CARL)["text"]
    )
    assert len(tg.sent_texts(GROUP["id"])) == before_group

    # The free text is the answer, and nothing else (not a question looked up).
    said = await answer(tg, BEA, "4", "Wednesday", "More <b>evening</b> sessions & $5 fees")
    assert said == ["Thank you! Your answers to “Autumn check-in” are in."]
    said = await answer(tg, CARL, "2", "Friday", "=1+1 charlas más cortas")
    assert said == ["¡Gracias! Recibimos tus respuestas a «Autumn check-in»."]

    await tg.poll(text_update("/survey results 1 csv", from_user=ADA, chat=private_chat(ADA)))
    [document] = [c for c in tg.api.calls_to("sendDocument") if c.ok]
    assert str(document.params["chat_id"]) == str(ADA["id"])
    rows = list(csv.reader(io.StringIO(document.files["document"].decode("utf-8"))))
    assert rows[0] == [
        "person",
        "answered at",
        "How useful were the sessions?",
        "Which day suits you?",
        "What should we change?",
    ]
    by_person = {row[0]: row[2:] for row in rows[1:]}
    assert by_person == {
        "Bea": ["4", "Wednesday", "More <b>evening</b> sessions & $5 fees"],
        "Carl": ["2", "Friday", "'=1+1 charlas más cortas"],  # neutralised for spreadsheets
    }
    # Dan did not answer: no row of his.
    assert len(rows) == 3


async def test_a_forged_press_and_a_member_without_rights_are_refused(
    tg: TelegramHarness,
) -> None:
    await tg.poll(text_update(SURVEY, from_user=BEA, chat=private_chat(BEA)))
    assert tg.sent_texts(BEA["id"])[-1].startswith("Sorry, /survey new is for the moderator")
    await tg.poll(text_update(SURVEY, from_user=ADA, chat=private_chat(ADA)))
    await tg.poll(text_update("/survey send 1", from_user=ADA, chat=private_chat(ADA)))
    await tg.app.dispatcher.dispatch_due()
    await press(tg, BEA, "Answer")
    message = last_with_buttons(tg, BEA)
    data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    forged = data.rsplit(":", 1)[0] + ":9"  # a scale answer of 9
    await tg.poll(callback_query_update(forged, message=message, from_user=BEA))
    assert (
        tg.sent_texts(BEA["id"])[-1]
        == "That button no longer does anything. Send the command again."
    )
    await tg.poll(text_update("/survey results 1", from_user=BEA, chat=private_chat(BEA)))
    assert tg.sent_texts(BEA["id"])[-1].startswith("Sorry, /survey results is for the moderator")


async def test_results_asked_in_the_group_come_privately_with_markup_as_literal_text(
    tg: TelegramHarness,
) -> None:
    await tg.poll(text_update(SURVEY, from_user=ADA, chat=private_chat(ADA)))
    await tg.poll(text_update("/survey send 1", from_user=ADA, chat=private_chat(ADA)))
    await tg.app.dispatcher.dispatch_due()
    await answer(tg, BEA, "5", "Monday", "<b>loud</b> & $HOME *x* @here")
    # Asked in the group, the results go to Ada's private chat; the group hears only that.
    before_group = len(tg.sent_texts(GROUP["id"]))
    await tg.poll(text_update("/survey results 1", from_user=ADA, chat=GROUP, message_id=50))
    await tg.app.dispatcher.dispatch_due()
    assert tg.sent_texts(GROUP["id"])[before_group:] == ["I have sent it to you privately."]
    shown = tg.sent_texts(ADA["id"])[-1]
    assert "1 response." in shown and "“<b>loud</b> & $HOME *x* @here”" in shown
    assert "Monday: 1 (100%)" in shown and "Average: 5 of 5" in shown
    [html] = [
        str(c.params["text"])
        for c in tg.api.calls_to("sendMessage")
        if "loud" in str(c.params["text"])
    ]
    assert "&lt;b&gt;loud&lt;/b&gt; &amp; $HOME *x* @here" in html
