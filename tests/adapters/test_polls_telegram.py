"""A poll on Telegram end to end: `/poll` in a group, a native poll, poll_answer votes from
private chats, `/poll close` stopping it, and the results with their chart."""

from __future__ import annotations

from typing import Any

import pytest_asyncio

from facilitator.domain.model import ParticipationKind, Platform
from tests.adapters.fakes.telegram_api import (
    chat_member_dict,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import (
    BOT_ID,
    BOT_USERNAME,
    TelegramHarness,
    member_update,
    poll_answer,
)

GROUP = supergroup_chat(-1001600, "Water network")
ADA = user(111, "Ada", language_code="en")
BEA = user(222, "Bea", language_code="es")
CARL = user(333, "Carl", language_code="pt")
OTTO = user(444, "Otto", language_code="en")  # not in the group: a forwarded copy reached him
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)


@pytest_asyncio.fixture
async def tg(tg: TelegramHarness) -> TelegramHarness:
    """The shared harness, with the bot added to the group by Ada, who created it; Bea and
    Carl are in the group but have not written there."""
    tg.api.add_chat(GROUP)
    for member in (BEA, CARL):
        tg.api.set_chat_member(GROUP["id"], chat_member_dict(member))
    tg.api.set_chat_member(GROUP["id"], chat_member_dict(ADA, "creator"))
    added = member_update(
        "my_chat_member", GROUP, ADA, chat_member_dict(ME, "left"), chat_member_dict(ME)
    )
    await tg.poll(added)
    return tg


def _say(who: dict[str, Any], text: str) -> dict[str, Any]:
    return text_update(text, from_user=who, chat=GROUP)


async def test_a_native_poll_records_votes_from_poll_answers_and_posts_results(
    tg: TelegramHarness,
) -> None:
    api = tg.api
    await tg.poll(_say(ADA, '/poll "Which day?" "Monday" "Friday <late>" multi'))
    await tg.app.dispatcher.dispatch_due()
    [sent] = api.calls_to("sendPoll")
    assert sent.params["question"] == "Which day?"
    assert [o if isinstance(o, str) else o["text"] for o in sent.params["options"]] == [
        "Monday",
        "Friday <late>",
    ]
    assert sent.params["is_anonymous"] is False  # votes are recorded per member
    assert sent.params["allows_multiple_answers"] is True
    poll_id = sent.result["poll"]["id"]

    await tg.poll(poll_answer(poll_id, BEA, [0, 1]), poll_answer(poll_id, CARL, [1]))
    await tg.poll(poll_answer(poll_id, CARL, [0]))  # changed their mind
    await tg.poll(poll_answer(poll_id, OTTO, [1]))  # getChatMember: "left"
    await tg.poll(_say(ADA, "/poll close"))
    await tg.app.dispatcher.dispatch_due()

    [stopped] = api.calls_to("stopPoll")
    assert stopped.params["message_id"] == sent.result["message_id"]
    results = [c for c in api.calls_to("sendMessage") if c.ok][-1].result["text"]
    assert results.splitlines() == [
        "📊 Results: Which day?",
        "• Monday: 2 (67%)",
        "• Friday <late>: 1 (33%)",
        "3 votes in total.",
    ]
    [chart] = api.calls_to("sendPhoto")
    assert chart.files["photo"].startswith(b"\x89PNG")
    async with tg.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, str(GROUP["id"]))
        assert community is not None
        assert await uow.ledger.count(community.id, ParticipationKind.POLL_VOTE.value) == 2
        # A vote never makes a membership, a member's or an outsider's.
        for voter in (BEA, OTTO):
            known = await uow.members.identity(Platform.TELEGRAM, str(voter["id"]))
            assert known is not None
            assert await uow.members.membership(known.person_id, community.id) is None
    asked = {int(c.params["user_id"]) for c in api.calls_to("getChatMember")}
    assert {BEA["id"], CARL["id"], OTTO["id"]} <= asked


async def test_bad_poll_input_is_explained_in_the_group(tg: TelegramHarness) -> None:
    await tg.poll(_say(ADA, '/poll "Just one?" "Yes"'))
    await tg.app.dispatcher.dispatch_due()
    assert tg.api.calls_to("sendPoll") == []
    assert tg.sent_texts(GROUP["id"])[-1].startswith("A poll needs at least 2 options; I found 1.")
