"""Reports on Telegram, over real HTTP to the fake Bot API: a member replies /report to a
message in the group; the moderator hears of it privately with a link to the message and the
reason (as literal text), the reporter is thanked privately, and neither the group nor the
message's author hears anything."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import pytest_asyncio

from facilitator.domain.model import Platform
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.reports.ports import ReportRepository
from tests.adapters.fakes.telegram_api import (
    JSON,
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


ELSEWHERE = supergroup_chat(-1001800, "Another circle")
DANI = user(444, "Dani", language_code="es")  # reports privately


def _forwarded(reporter: dict[str, Any], original: dict[str, Any], message_id: int) -> JSON:
    """A group message forwarded by `reporter` to the bot, as Telegram delivers it (Bot API
    7+: forward_origin; the author is named, the group is not)."""
    said = original["message"]
    return {
        "message": {
            "message_id": message_id,
            "from": dict(reporter),
            "chat": private_chat(reporter),
            "date": said["date"] + 60,
            "forward_origin": {"type": "user", "sender_user": said["from"], "date": said["date"]},
            "forward_from": said["from"],
            "forward_date": said["date"],
            "text": said["text"],
        }
    }


def _private_reply(who: dict[str, Any], text: str, to: JSON, message_id: int) -> JSON:
    update = text_update(text, from_user=who, chat=private_chat(who), message_id=message_id)
    update["message"]["reply_to_message"] = dict(to["message"])
    return update


def _notices(tg: TelegramHarness, who: dict[str, Any]) -> list[str]:
    return [t for t in tg.sent_texts(who["id"]) if "A message was reported" in t]


async def _members(tg: TelegramHarness) -> None:
    for who in (BEA, ADA, DANI):
        await tg.poll(text_update("/start", from_user=who, chat=private_chat(who)))
    await tg.poll(_message(DANI, "hola a todos", 10), _message(BEA, "hi", 11))


async def test_the_report_command_is_deleted_and_the_reporter_learns_the_private_ways(
    tg: TelegramHarness,
) -> None:
    await _members(tg)
    tg.api.set_chat_member(GROUP["id"], chat_member_dict(ME, "administrator"))
    offensive = _message(CARL, "Buy cheap followers now!", 30)
    await tg.poll(offensive, _reply(BEA, "/report spam", 31, offensive))
    await tg.app.dispatcher.dispatch_due()

    [deleted] = [c for c in tg.api.calls_to("deleteMessage") if c.ok]
    assert (str(deleted.params["chat_id"]), int(deleted.params["message_id"])) == (
        str(GROUP["id"]),
        31,
    )
    assert (GROUP["id"], 31) not in tg.api.messages and (GROUP["id"], 30) in tg.api.messages
    [thanks] = [t for t in tg.sent_texts(BEA["id"]) if t.startswith("Thank you")]
    assert "forward the message to me and reply /report to it" in thanks
    assert len(_notices(tg, ADA)) == 1


async def test_without_the_right_to_delete_the_report_still_goes_through(
    tg: TelegramHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await _members(tg)
    offensive = _message(CARL, "Buy cheap followers now!", 30)
    await tg.poll(offensive, _reply(BEA, "/report spam", 31, offensive))
    await tg.app.dispatcher.dispatch_due()

    [refused] = tg.api.calls_to("deleteMessage")
    assert not refused.ok and (GROUP["id"], 31) in tg.api.messages
    [line] = [r for r in caplog.records if r.getMessage() == "report command left in the group"]
    assert line.levelno == logging.INFO
    assert len(_notices(tg, ADA)) == 1


async def test_a_message_forwarded_privately_and_answered_with_report_reaches_the_moderator(
    tg: TelegramHarness,
) -> None:
    await _members(tg)
    offensive = _message(CARL, "Buy cheap <b>followers</b> now!", 40)
    await tg.poll(offensive)
    forward = _forwarded(DANI, offensive, 500)
    await tg.poll(forward, _private_reply(DANI, "/report estafa $5 =1+1 <i>", forward, 501))
    # The same message forwarded and reported again is one report.
    again = _forwarded(DANI, offensive, 502)
    await tg.poll(again, _private_reply(DANI, "/report otra vez", again, 503))
    await tg.app.dispatcher.dispatch_due()

    [notice] = _notices(tg, ADA)
    assert "in Knowledge Exchange" in notice
    assert "By Carl: “Buy cheap <b>followers</b> now!”" in notice
    assert "Reason: estafa $5 =1+1 <i>" in notice and "Dani" not in notice
    thanks, already = tg.sent_texts(DANI["id"])[-2:]
    assert thanks.startswith("Gracias por avisar.") and "La próxima vez" not in thanks
    assert already.startswith("Ya reportaste ese mensaje")
    assert tg.sent_texts(CARL["id"]) == []
    assert tg.api.calls_to("deleteMessage") == []  # nothing to hide in a private chat
    # The forwarded message is someone else's words: not a question, not a gap; the member
    # is told how to report it instead.
    assert (
        tg.sent_texts(DANI["id"]).count(
            "Me reenviaste un mensaje. Para reportarlo a los moderadores, respóndele /report "
            "aquí, con un motivo si quieres. No respondo los mensajes reenviados como preguntas."
        )
        == 2
    )
    assert not any(t.startswith("Todavía no sé responder") for t in tg.sent_texts(DANI["id"]))
    async with tg.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, str(GROUP["id"]))
        assert community is not None
        assert await uow.repo(KnowledgeRepository).open_gaps(community.id) == []


async def test_a_message_link_sent_privately_becomes_a_report_only_for_a_member_of_that_group(
    tg: TelegramHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await _members(tg)
    # Dani is also in another group, which stays her community while she is out of this one.
    tg.api.add_chat(ELSEWHERE)
    tg.api.set_chat_member(ELSEWHERE["id"], chat_member_dict(ADA, "creator"))
    await tg.poll(
        member_update(
            "my_chat_member", ELSEWHERE, ADA, chat_member_dict(ME, "left"), chat_member_dict(ME)
        ),
        text_update("hola", from_user=DANI, chat=ELSEWHERE, message_id=3),
    )
    await tg.poll(_message(CARL, "Buy cheap followers now!", 50))
    link = "https://t.me/c/1700/50"

    # A link to a group the bot is not in, and one it cannot read: refused, nothing filed.
    await tg.poll(
        text_update("/report https://t.me/c/1900/7 spam", from_user=DANI, chat=private_chat(DANI))
    )
    [refusal] = tg.sent_texts(DANI["id"])[-1:]
    assert refusal.startswith("Solo puedo recibir reportes de mensajes de una comunidad")
    assert any("report refused" in r.getMessage() for r in caplog.records)
    await tg.poll(
        text_update("/report https://t.me/+abc spam", from_user=DANI, chat=private_chat(DANI))
    )
    assert tg.sent_texts(DANI["id"])[-1].startswith("Responde /report al mensaje")

    # Dani leaves the group: her link is refused; back again, it is a report.
    left = member_update(
        "chat_member", GROUP, DANI, chat_member_dict(DANI), chat_member_dict(DANI, "left")
    )
    await tg.poll(left)
    await tg.poll(text_update(f"/report {link} spam", from_user=DANI, chat=private_chat(DANI)))
    assert tg.sent_texts(DANI["id"])[-1] == refusal
    back = member_update(
        "chat_member", GROUP, DANI, chat_member_dict(DANI, "left"), chat_member_dict(DANI)
    )
    await tg.poll(back)
    await tg.poll(text_update(f"/report {link} spam", from_user=DANI, chat=private_chat(DANI)))
    await tg.app.dispatcher.dispatch_due()

    [notice] = _notices(tg, ADA)
    assert link in notice and "Reason: spam" in notice
    assert tg.sent_texts(DANI["id"])[-1].startswith("Gracias por avisar.")
    assert tg.sent_texts(CARL["id"]) == []


async def test_a_forwarded_message_whose_author_shares_no_group_with_the_reporter_is_refused(
    tg: TelegramHarness,
) -> None:
    await _members(tg)
    stranger = user(999, "Stranger", language_code="en")
    tg.api.add_chat(ELSEWHERE)
    tg.api.set_chat_member(ELSEWHERE["id"], chat_member_dict(stranger, "creator"))
    await tg.poll(
        member_update(
            "my_chat_member",
            ELSEWHERE,
            stranger,
            chat_member_dict(ME, "left"),
            chat_member_dict(ME),
        )
    )
    theirs = text_update("hello from elsewhere", from_user=stranger, chat=ELSEWHERE, message_id=5)
    await tg.poll(theirs)
    forward = _forwarded(BEA, theirs, 600)
    await tg.poll(forward, _private_reply(BEA, "/report spam", forward, 601))
    await tg.app.dispatcher.dispatch_due()

    assert tg.sent_texts(BEA["id"])[-1].startswith("I can take reports only about messages")
    assert _notices(tg, ADA) == [] and tg.sent_texts(stranger["id"]) == []


async def test_a_forward_from_someone_who_hides_their_account_counts_in_the_reporters_group(
    tg: TelegramHarness,
) -> None:
    await _members(tg)
    forward = {
        "message": {
            "message_id": 700,
            "from": dict(BEA),
            "chat": private_chat(BEA),
            "date": 1_790_000_100,
            "forward_origin": {
                "type": "hidden_user",
                "sender_user_name": "Hidden <b>Hal</b>",
                "date": 1_790_000_000,
            },
            "forward_sender_name": "Hidden <b>Hal</b>",
            "forward_date": 1_790_000_000,
            "text": "Send me your password",
        }
    }
    await tg.poll(forward, _private_reply(BEA, "/report phishing", forward, 701))
    await tg.app.dispatcher.dispatch_due()

    [notice] = _notices(tg, ADA)
    assert "in Knowledge Exchange" in notice and "“Send me your password”" in notice
    assert "Reason: phishing" in notice


def test_message_links_are_read_only_from_telegram_supergroup_message_links(
    tg: TelegramHarness,
) -> None:
    read = tg.adapter.messenger.linked_message
    found = read("https://t.me/c/1700/20")
    assert found is not None
    assert (found.chat_id, found.message_id) == ("-1001700", "20")
    assert found.link == "https://t.me/c/1700/20"
    topic = read("t.me/c/1700/3/21?single")
    assert topic is not None and (topic.chat_id, topic.message_id) == ("-1001700", "21")
    for other in (
        "https://t.me/publicgroup/20",
        "https://evil.example/c/1700/20",
        "https://t.me.evil.example/c/1700/20",
        "https://t.me/c/1700/20 <b>",
        "https://t.me/c/-5/20",
        "",
    ):
        assert read(other) is None, other


async def test_a_forged_forward_naming_a_group_of_which_the_reporter_is_not_a_member_is_refused(
    tg: TelegramHarness,
) -> None:
    await _members(tg)
    carl_private = text_update("/start", from_user=CARL, chat=private_chat(CARL))
    await tg.poll(carl_private)  # Carl knows the bot, but is in no group of it
    forged = {
        "message": {
            "message_id": 800,
            "from": dict(CARL),
            "chat": private_chat(CARL),
            "date": 1_790_000_100,
            # As if from a channel post of the group: the group names itself, not Carl's.
            "forward_origin": {
                "type": "channel",
                "chat": dict(GROUP) | {"type": "channel"},
                "message_id": 11,
                "date": 1_790_000_000,
            },
            "text": "hi",
        }
    }
    await tg.poll(forged, _private_reply(CARL, "/report fake", forged, 801))
    await tg.app.dispatcher.dispatch_due()

    assert _notices(tg, ADA) == []
    async with tg.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, str(GROUP["id"]))
        assert community is not None
        assert (
            await uow.repo(ReportRepository).open_reports(
                community.id, for_coordinators=True, limit=10
            )
            == []
        )


async def test_private_reports_by_link_stop_at_the_daily_limit(tg: TelegramHarness) -> None:
    await _members(tg)
    for n in range(6):
        await tg.poll(
            text_update(
                f"/report https://t.me/c/1700/{100 + n} spam",
                from_user=DANI,
                chat=private_chat(DANI),
            )
        )
    await tg.app.dispatcher.dispatch_due()

    assert len(_notices(tg, ADA)) == 5
    assert tg.sent_texts(DANI["id"])[-1].startswith("Hoy ya enviaste 5 reportes")
