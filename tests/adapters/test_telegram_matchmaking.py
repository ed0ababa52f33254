"""One whole matchmaking round over the fake Bot API: two groups of one installation, a
member of each. Ana asked the bot privately; Pia, in the other group, knows the theme and
shares with the network. The round proposes them to each other with buttons, neither message
naming the other; both press Accept; the introductions name each other with a mention; a
week later both are asked whether they met, and what Ana writes next is proposed to her
group's repository, as literal text."""

from __future__ import annotations

from typing import Any

import pytest_asyncio

from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.matchmaking.feature import ROUND_JOB
from tests.adapters.fakes.telegram_api import (
    callback_query_update,
    chat_member_dict,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import BOT_ID, BOT_USERNAME, TelegramHarness, member_update

ANDES = supergroup_chat(-1001801, "Andes <water> & co")
PAMPA = supergroup_chat(-1001802, "Pampa climate")
ANA = user(511, "Ana", language_code="es")  # in Andes, has a question
PIA = user(522, "Pia", language_code="en")  # in Pampa, knows water
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)
QUESTION = "¿Cómo financia una cooperativa de agua <i>rural</i> sus tuberías de $5 & =SUM?"


@pytest_asyncio.fixture
async def tg(tg: TelegramHarness) -> TelegramHarness:
    for chat, creator in ((ANDES, ANA), (PAMPA, PIA)):
        tg.api.add_chat(chat)
        tg.api.set_chat_member(chat["id"], chat_member_dict(creator, "creator"))
        await tg.poll(
            member_update(
                "my_chat_member", chat, creator, chat_member_dict(ME, "left"), chat_member_dict(ME)
            )
        )
    return tg


def _say(who: dict[str, Any], chat: dict[str, Any], text: str) -> dict[str, Any]:
    return text_update(text, from_user=who, chat=chat)


async def _round(tg: TelegramHarness) -> None:
    [job] = [j for j in tg.app.jobs if j.job_id == ROUND_JOB]
    await job.run(tg.clock.now())
    await tg.app.dispatcher.dispatch_due()


def _last_with_buttons(tg: TelegramHarness, who: dict[str, Any]) -> dict[str, Any]:
    return [m for m in tg.api.sent_messages(who["id"]) if m.get("reply_markup")][-1]


async def _press(
    tg: TelegramHarness, who: dict[str, Any], message: dict[str, Any], n: int
) -> None:
    button = message["reply_markup"]["inline_keyboard"][0][n]
    await tg.poll(callback_query_update(button["callback_data"], message=message, from_user=who))
    await tg.app.dispatcher.dispatch_due()


async def test_one_whole_round_between_two_groups(tg: TelegramHarness) -> None:
    await tg.poll(
        _say(ANA, ANDES, "hola"),
        _say(PIA, PAMPA, '/intro "Banco Pampa" Argentina "agua, water utilities"'),
        _say(PIA, PAMPA, "/experts share on"),
        text_update("/start", from_user=ANA, chat=private_chat(ANA)),
        text_update("/start", from_user=PIA, chat=private_chat(PIA)),
    )
    await tg.poll(
        text_update(QUESTION, from_user=ANA, chat=private_chat(ANA)),
        text_update("/match sí", from_user=ANA, chat=private_chat(ANA)),
        text_update("/match on", from_user=PIA, chat=private_chat(PIA)),
    )
    before = {who["id"]: len(tg.sent_texts(who["id"])) for who in (ANA, PIA)}
    in_groups = [len(tg.sent_texts(g["id"])) for g in (ANDES, PAMPA)]

    await _round(tg)

    to_ana = _last_with_buttons(tg, ANA)
    to_pia = _last_with_buttons(tg, PIA)
    assert to_ana["text"].startswith("El encuentro de este mes\nUn miembro de Pampa climate")
    assert QUESTION in to_ana["text"] and "Pia" not in to_ana["text"]
    assert to_pia["text"].startswith("This month's match\nSomeone in Andes <water> & co has")
    for word in ("Ana", "cooperativa", "tuberías", "511"):
        assert word not in to_pia["text"]
    assert [b["text"] for b in to_pia["reply_markup"]["inline_keyboard"][0]] == [
        "Yes, introduce us",
        "Not this month",
    ]

    await _press(tg, PIA, to_pia, 0)
    # Accepted on one side only: nothing about Ana has reached Pia, nor about Pia reached Ana.
    assert not any("Ana" in t for t in tg.sent_texts(PIA["id"])[before[PIA["id"]] :])
    assert not any("Pia" in t for t in tg.sent_texts(ANA["id"])[before[ANA["id"]] :])
    await _press(tg, ANA, to_ana, 0)

    [intro_ana] = [t for t in tg.sent_texts(ANA["id"]) if t.startswith("Tu presentación")]
    [intro_pia] = [t for t in tg.sent_texts(PIA["id"]) if t.startswith("Your introduction")]
    assert "Pia, de Pampa climate" in intro_ana and intro_ana.endswith("Escríbele:\nPia")
    assert f"Their question: “{QUESTION}”" in intro_pia and intro_pia.endswith("\nAna")
    html = [
        str(c.params["text"])
        for c in tg.api.calls_to("sendMessage")
        if str(c.params["chat_id"]) == str(PIA["id"])
        and "Your introduction" in str(c.params["text"])
    ]
    assert 'href="tg://user?id=511"' in html[0]
    # The question is text, never markup.
    assert "agua &lt;i&gt;rural&lt;/i&gt; sus tuberías de $5 &amp; =SUM?" in html[0]
    assert "Andes &lt;water&gt; &amp; co" in html[0]

    tg.clock.advance(days=7, minutes=5)
    await _round(tg)

    check = _last_with_buttons(tg, ANA)
    assert check["text"] == "Hace una semana te presenté a Pia (Pampa climate). ¿Se reunieron?"
    assert _last_with_buttons(tg, PIA)["text"].startswith("A week ago you were introduced to Ana")
    await _press(tg, ANA, check, 0)
    assert tg.sent_texts(ANA["id"])[-1].startswith("¡Excelente! ¿Qué aprendiste?")

    learnt = "Una tarifa <b>social</b> de $5 y =SUM(bonos) & un bono verde."
    await tg.poll(text_update(learnt, from_user=ANA, chat=private_chat(ANA)))

    thanks = tg.sent_texts(ANA["id"])[-1]
    assert thanks.startswith("¡Gracias! Lo que aprendiste quedó propuesto a Andes <water> & co")
    async with tg.app.uow_factory() as uow:
        [draft] = await uow.repo(KnowledgeRepository).unannounced()
    assert (draft.title, draft.body) == (QUESTION, learnt)
    assert f"#{draft.id}" in thanks
    # Nothing of it was ever said in either group.
    assert [len(tg.sent_texts(g["id"])) for g in (ANDES, PAMPA)] == in_groups
