"""Network `/experts` over the fake Bot API: two groups, a member of one finding an expert of
the other who shared their profile, with that group's title escaped in the HTML."""

from __future__ import annotations

from typing import Any

import pytest_asyncio

from tests.adapters.fakes.telegram_api import chat_member_dict, supergroup_chat, text_update, user
from tests.adapters.telegram_support import (
    BOT_ID,
    BOT_USERNAME,
    TelegramHarness,
    member_update,
)

ANDES = supergroup_chat(-1001601, "Andes water")
PAMPA = supergroup_chat(-1001602, "Pampa <climate> & co")
ANA = user(411, "Ana", language_code="es")  # in Andes
PIA = user(422, "Pia", language_code="en")  # in Pampa, shares her profile
PEDRO = user(433, "Pedro", language_code="pt-BR")  # in Pampa, does not
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)


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


async def test_a_member_of_one_group_finds_a_sharing_expert_of_the_other(
    tg: TelegramHarness,
) -> None:
    await tg.poll(
        _say(PIA, PAMPA, '/intro "Banco Pampa" Argentina "water, rivers"'),
        _say(PEDRO, PAMPA, '/intro "Fondo Sur" Argentina "water"'),
        _say(PIA, PAMPA, "/experts share on"),
        _say(PEDRO, PAMPA, "/experts share não"),
        _say(ANA, ANDES, "hola"),
    )
    before = len(tg.api.calls_to("sendMessage"))

    await tg.poll(_say(ANA, ANDES, "/experts water"))

    [reply] = [c for c in tg.api.calls_to("sendMessage")[before:] if c.ok]
    text = str(reply.result["text"])
    assert "Quién sabe de water en otras comunidades de la red" in text
    assert "Pia, Pampa <climate> & co: water, rivers" in text
    assert "Pedro" not in text and "Banco Pampa" not in text
    assert "Pampa &lt;climate&gt; &amp; co" in reply.params["text"]
