"""The digest on Telegram, over real HTTP to the fake Bot API: chosen in the group, sent
privately only to members who started the bot, with item links as links and every title as
literal text."""

from __future__ import annotations

import pytest_asyncio

from facilitator.domain.model import Platform
from facilitator.features.digest.service import JOB_ID
from facilitator.features.knowledge.domain import ItemType, KnowledgeItem
from facilitator.features.knowledge.ports import KnowledgeRepository
from tests.adapters.fakes.telegram_api import (
    chat_member_dict,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import BOT_ID, BOT_USERNAME, TelegramHarness, member_update

GROUP = supergroup_chat(-1001800, "Knowledge Exchange")
ADA = user(111, "Ada", language_code="en")  # adds the bot
BEA = user(222, "Bea", language_code="es")  # started the bot privately
CARL = user(333, "Carl", language_code="en")  # never wrote to the bot privately
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)
TITLE = "<b>Guía</b> & $5 =SUM(1)"


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


async def run_digests(tg: TelegramHarness) -> int:
    [job] = [j for j in tg.app.jobs if j.job_id == JOB_ID]
    queued = int(await job.run(tg.clock.now()) or 0)
    await tg.app.dispatcher.dispatch_due()
    return queued


async def test_the_digest_goes_privately_to_who_started_the_bot_with_links_as_links(
    tg: TelegramHarness,
) -> None:
    await tg.poll(text_update("/start", from_user=BEA, chat=private_chat(BEA)))
    await tg.poll(text_update("/digest semanal", from_user=BEA, chat=GROUP, message_id=10))
    await tg.poll(text_update("/digest weekly", from_user=CARL, chat=GROUP, message_id=11))
    # Telegram has no message only one member sees: the answer is a reply in the group.
    [chosen] = [t for t in tg.sent_texts(GROUP["id"]) if t.startswith("Listo")]
    assert "cada semana" in chosen
    group_before = len(tg.sent_texts(GROUP["id"]))
    tg.clock.advance(hours=1)
    async with tg.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, str(GROUP["id"]))
        assert community is not None
        await uow.repo(KnowledgeRepository).upsert(
            KnowledgeItem(
                key="guide",
                type=ItemType.TOOLKIT,
                title=TITLE,
                body="Text.",
                lang="es",
                url="https://example.org/guia?a=1&b=2",
            ),
            community.id,
            tg.clock.now(),
        )
        await uow.commit()
    tg.clock.advance(days=7)
    assert await run_digests(tg) == 1  # Carl cannot be written to privately: not queued
    [digest] = [t for t in tg.sent_texts(BEA["id"]) if t.startswith("Tu resumen semanal")]
    assert "Novedades en el repositorio" in digest and TITLE in digest
    [html] = [
        str(c.params["text"])
        for c in tg.api.calls_to("sendMessage")
        if str(c.params["text"]).startswith("<b>Tu resumen semanal")
    ]
    assert (
        '<a href="https://example.org/guia?a=1&amp;b=2">'
        "&lt;b&gt;Guía&lt;/b&gt; &amp; $5 =SUM(1)</a>" in html
    )
    assert tg.sent_texts(CARL["id"]) == []
    assert len(tg.sent_texts(GROUP["id"])) == group_before  # nothing in the group
    assert await run_digests(tg) == 0  # sent once
