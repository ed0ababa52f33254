"""/share replying to a document on Telegram, over real HTTP to the fake Bot API: the poster's
reply proposes the PDF's text (fetched with getFile and the file download), another member's
reply is refused without the file being fetched, and a moderator approves the proposal."""

from __future__ import annotations

from typing import Any

import pytest_asyncio

from facilitator.domain.model import Platform
from facilitator.features.knowledge.domain import ItemStatus, ItemType
from facilitator.features.knowledge.ports import KnowledgeRepository
from tests.adapters.fakes.telegram_api import (
    chat_member_dict,
    document_update,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import (
    BOT_ID,
    BOT_USERNAME,
    TelegramHarness,
    member_update,
)
from tests.unit.knowledge.test_ingest import minimal_pdf

GROUP = supergroup_chat(-1001700, "Field Practice")
ADA = user(111, "Ada", language_code="en")  # adds the bot: a moderator from then on
BEA = user(222, "Bea", language_code="en")  # posts the guide
CARL = user(333, "Carl", language_code="pt-br")  # tries to propose Bea's file
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)
GUIDE_TEXT = "Budget a fixed daily allowance per person for field visits"


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


def _reply(who: dict[str, Any], text: str, message_id: int, to: dict[str, Any]) -> dict[str, Any]:
    update = text_update(text, from_user=who, chat=GROUP, message_id=message_id)
    replied = dict(to["message"])
    replied.pop("reply_to_message", None)
    update["message"]["reply_to_message"] = replied
    return update


async def test_the_poster_proposes_a_pdf_and_another_member_is_refused(
    tg: TelegramHarness,
) -> None:
    guide = tg.api.add_file("field-visits.pdf", minimal_pdf(GUIDE_TEXT), "application/pdf")
    posted = document_update(guide, from_user=BEA, chat=GROUP, message_id=20, caption="Our guide")
    await tg.poll(posted)

    await tg.poll(_reply(CARL, "/share #budgets taken", 21, posted))
    refused = tg.sent_texts(GROUP["id"])[-1]
    assert refused == (
        "Só quem publicou esse arquivo, ou alguém da moderação, pode propô-lo para o repositório."
    )
    assert tg.api.calls_to("getFile") == []

    await tg.poll(_reply(BEA, "/share #budgets Field visit guide", 22, posted))
    [get_file] = tg.api.calls_to("getFile")
    assert get_file.params["file_id"] == guide.file_id
    proposed = tg.sent_texts(GROUP["id"])[-1]
    assert proposed.startswith("Thank you! The text of field-visits.pdf (")
    assert "Only the text is kept in the repository, not the file itself." in proposed
    item_id = int(proposed.split(" as #")[1].split(".")[0])

    async with tg.app.uow_factory() as uow:
        item = await uow.repo(KnowledgeRepository).get(item_id)
    assert item is not None
    assert (item.status, item.type, item.title) == (
        ItemStatus.PROPOSED,
        ItemType.DOCUMENT,
        "Field visit guide",
    )
    assert item.body == GUIDE_TEXT and item.source == "field-visits.pdf"
    assert item.theme == "budgets"
    assert item.source_link == "https://t.me/c/1700/20"

    await tg.poll(text_update(f"/approve {item_id}", from_user=ADA, chat=GROUP, message_id=23))
    assert tg.sent_texts(GROUP["id"])[-1].startswith(f"Approved and published: #{item_id}")


async def test_share_replying_to_a_message_without_a_document_says_so(
    tg: TelegramHarness,
) -> None:
    said = text_update("Here is what we learned", from_user=BEA, chat=GROUP, message_id=30)
    await tg.poll(said)
    await tg.poll(_reply(BEA, "/share", 31, said))
    assert tg.sent_texts(GROUP["id"])[-1].startswith("That message has no document.")


async def test_an_unsupported_file_is_refused_before_it_is_fetched(tg: TelegramHarness) -> None:
    photo = tg.api.add_file("slides.pptx", b"not read", "application/vnd.ms-powerpoint")
    posted = document_update(photo, from_user=BEA, chat=GROUP, message_id=40)
    await tg.poll(posted)
    await tg.poll(_reply(BEA, "/share", 41, posted))
    assert tg.sent_texts(GROUP["id"])[-1].startswith("I can only read PDF and DOCX files.")
    assert tg.api.calls_to("getFile") == []
    async with tg.app.uow_factory() as uow:
        found = await uow.communities.by_chat(Platform.TELEGRAM, str(GROUP["id"]))
        assert found is not None
        assert await uow.repo(KnowledgeRepository).in_scope(found.id) == []


async def test_a_pdf_sent_with_share_as_its_caption_is_proposed(tg: TelegramHarness) -> None:
    guide = tg.api.add_file("visits.pdf", minimal_pdf(GUIDE_TEXT), "application/pdf")
    captioned = document_update(
        guide, from_user=BEA, chat=GROUP, message_id=50, caption="/share #budgets Visit guide"
    )
    captioned["message"]["caption_entities"] = [
        {"type": "bot_command", "offset": 0, "length": len("/share")}
    ]
    await tg.poll(captioned)
    proposed = tg.sent_texts(GROUP["id"])[-1]
    assert proposed.startswith("Thank you! The text of visits.pdf (")
    [get_file] = tg.api.calls_to("getFile")
    assert get_file.params["file_id"] == guide.file_id
    item_id = int(proposed.split(" as #")[1].split(".")[0])
    async with tg.app.uow_factory() as uow:
        item = await uow.repo(KnowledgeRepository).get(item_id)
    assert item is not None and item.status is ItemStatus.PROPOSED
    assert (item.title, item.theme, item.body) == ("Visit guide", "budgets", GUIDE_TEXT)
