"""The living repository on Telegram, over real HTTP to the fake Bot API: a question nobody
could answer becomes a gap, an expert answers in the thread, a moderator replies /save to the
answer and approves it, the asker gets the answer privately, a paraphrase is then answered,
/gaps no longer lists it, and the week's summary counts one gap closed."""

from __future__ import annotations

from typing import Any

import pytest_asyncio

from facilitator.domain.model import Community, Platform
from facilitator.features.knowledge.feature import CLOSE_GAPS_JOB
from facilitator.features.knowledge.loading import ingest_directory
from facilitator.features.participation.summary import IsoWeek, figures_for
from tests.adapters.fakes.telegram_api import (
    chat_member_dict,
    private_chat,
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
from tests.conftest import REPO_ROOT

GROUP = supergroup_chat(-1001600, "Knowledge Exchange")
ADA = user(111, "Ada", language_code="en")  # adds the bot: a moderator from then on
BEA = user(222, "Bea", language_code="en")  # asks
CARL = user(333, "Carl", language_code="en")  # answers
DAN = user(444, "Dan", language_code="en")  # asks the same in other words
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)
QUESTION = "/faq how do we budget travel for field visits to remote municipalities"
ANSWER = (
    "We budget a fixed daily allowance per person and book transport three weeks ahead; "
    "the regional office pays fuel for visits to remote municipalities."
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
    community = await _community(tg)
    report = await ingest_directory(
        tg.app.uow_factory, REPO_ROOT / "data" / "knowledge", community.key, tg.clock
    )
    assert report.errors == []
    return tg


async def _community(tg: TelegramHarness) -> Community:
    async with tg.app.uow_factory() as uow:
        found = await uow.communities.by_chat(Platform.TELEGRAM, str(GROUP["id"]))
    assert found is not None
    return found


def _message(who: dict[str, Any], text: str, message_id: int) -> dict[str, Any]:
    return text_update(text, from_user=who, chat=GROUP, message_id=message_id)


def _reply(who: dict[str, Any], text: str, message_id: int, to: dict[str, Any]) -> dict[str, Any]:
    """A reply as Telegram sends it: the message replied to comes whole, without its own
    reply."""
    update = _message(who, text, message_id)
    replied = dict(to["message"])
    replied.pop("reply_to_message", None)
    update["message"]["reply_to_message"] = replied
    return update


async def test_an_answer_saved_from_the_group_closes_the_gap_and_tells_the_asker(
    tg: TelegramHarness,
) -> None:
    # Bea has started the bot, so it may write to her privately.
    await tg.poll(text_update("/start", from_user=BEA, chat=private_chat(BEA)))
    question = _message(BEA, QUESTION, 10)
    await tg.poll(question)
    assert tg.sent_texts(GROUP["id"])[-1].startswith("I don't know that one yet.")

    answer = _reply(CARL, ANSWER, 11, question)
    await tg.poll(answer)
    await tg.poll(_reply(ADA, "/save", 12, answer))
    saved = tg.sent_texts(GROUP["id"])[-1]
    assert saved.startswith("Saved as a draft for the repository (#")
    item_id = int(saved.split("(#")[1].split(")")[0])

    await tg.poll(_message(ADA, f"/approve {item_id}", 13))
    assert tg.sent_texts(GROUP["id"])[-1].startswith(f"Approved and published: #{item_id}")

    assert await _run_job(tg) == 1
    await tg.app.dispatcher.dispatch_due()
    [told] = [t for t in tg.sent_texts(BEA["id"]) if "Your question has an answer" in t]
    assert "fixed daily allowance" in told
    assert not any("Your question has an answer" in t for t in tg.sent_texts(GROUP["id"]))
    # Ada was offered to save Carl's answer; Carl heard it was saved, then published.
    assert any("Carl replied to" in t for t in tg.sent_texts(ADA["id"]))
    carl = tg.sent_texts(CARL["id"])
    assert [t.split(":")[0] for t in carl] == [
        "Your answer was saved as a draft for the community's repository (#" + str(item_id) + ")",
        "Good news",
    ]

    await tg.poll(
        _message(DAN, "/faq how should we budget travel for field visits to remote towns?", 14)
    )
    assert "fixed daily allowance" in tg.sent_texts(GROUP["id"])[-1]
    # It links to Carl's message in the group, where it was answered.
    html = tg.api.calls_to("sendMessage")[-1].params["text"]
    assert 'href="https://t.me/c/1600/11"' in str(html)
    await tg.poll(_message(ADA, "/gaps", 15))
    assert tg.sent_texts()[-1] == "No unanswered questions in the last 30 days."

    community = await _community(tg)
    start, end = IsoWeek.containing(tg.clock.now().date()).bounds(community.timezone)
    async with tg.app.uow_factory() as uow:
        figures = await figures_for(uow, community, start, end)
    assert (figures.unanswered_lookups, figures.gaps_closed) == (1, 1)


async def _run_job(tg: TelegramHarness) -> int:
    [job] = [j for j in tg.app.jobs if j.job_id == CLOSE_GAPS_JOB]
    return int(await job.run(tg.clock.now()) or 0)
