"""Sending through the real PTB Bot to the fake Bot API: files, topics, errors, flood limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from telegram import Bot

from adapters.telegram.adapter import quiet_token_loggers
from adapters.telegram.limiter import FloodLimiter
from adapters.telegram.messenger import MAX_INLINE_WAIT, TelegramMessenger
from facilitator.domain.errors import (
    ConversationUnavailable,
    DeliveryError,
    RecipientUnreachable,
    RetryLater,
)
from facilitator.domain.model import Platform
from facilitator.markup import (
    Attachment,
    Block,
    Button,
    Destination,
    OutboundMessage,
    RichText,
    Span,
    Style,
)
from tests.adapters.fakes.telegram_api import (
    DEFAULT_TOKEN,
    FakeTelegramAPI,
    ManualClock,
    supergroup_chat,
)
from tests.adapters.telegram_support import VirtualTime

GROUP = -1001234567890
PERSON = 4242


@pytest.fixture(autouse=True)
def _quiet_token_loggers() -> None:
    # These tests build PTB bots directly; the adapter quiets PTB's loggers when it builds one.
    quiet_token_loggers()


@pytest_asyncio.fixture
async def bot(fake_telegram: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with Bot(DEFAULT_TOKEN, base_url=fake_telegram.base_url) as started:
        yield started


def _messenger(bot: Bot, virtual: VirtualTime | None = None) -> TelegramMessenger:
    virtual = virtual or VirtualTime(ManualClock())
    limiter = FloodLimiter(clock=virtual.clock, sleep=virtual.sleep)
    return TelegramMessenger(bot, limiter, sleep=virtual.sleep)


def _to(chat_id: int, **fields: object) -> Destination:
    return Destination(Platform.TELEGRAM, str(chat_id), **fields)  # type: ignore[arg-type]


def _text(text: str) -> OutboundMessage:
    return OutboundMessage(RichText.of(text))


async def test_a_reply_goes_to_the_topic_it_answers_with_html_and_a_keyboard(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    fake_telegram.add_chat(supergroup_chat(GROUP, is_forum=True))
    message = OutboundMessage(
        RichText((Block((Span("Pick", Style.BOLD), Span(" one <now>"))),)),
        buttons=((Button("Yes", "vote", "y"), Button("No", "vote", "n")),),
    )

    message_id = await _messenger(bot).send(_to(GROUP, thread_id="7"), message)

    [call] = fake_telegram.calls_to("sendMessage")
    assert call.params["text"] == "<b>Pick</b> one &lt;now&gt;"
    assert call.params["parse_mode"] == "HTML"
    assert call.params["message_thread_id"] == 7
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Yes", "callback_data": "vote|y"},
                {"text": "No", "callback_data": "vote|n"},
            ]
        ]
    }
    assert message_id == str(call.result["message_id"])
    assert "reply_parameters" not in call.params


async def test_a_reply_meant_for_one_person_quotes_their_message_in_the_group(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    target = _to(-4001, reply_to_message_id="99", user_id="7", thread_id=None)

    await _messenger(bot).send(target, OutboundMessage(RichText.of("only for you")))
    await _messenger(bot).send(_to(PERSON, user_id="7", is_direct=True), _text("in private"))

    first, second = fake_telegram.calls_to("sendMessage")
    assert first.params["chat_id"] == -4001
    assert first.params["reply_parameters"] == {
        "message_id": 99,
        "allow_sending_without_reply": True,
    }
    assert first.ok  # the quoted message is unknown to the fake: sent without the quote
    assert second.params["chat_id"] == PERSON and "reply_parameters" not in second.params


async def test_a_long_answer_is_sent_in_parts_with_the_buttons_on_the_last(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    body = RichText(tuple(Block((Span(f"paragraph {n} " + "x" * 900),)) for n in range(10)))

    await _messenger(bot).send(
        _to(PERSON), OutboundMessage(body, buttons=((Button("More", "more"),),))
    )

    calls = fake_telegram.calls_to("sendMessage")
    assert len(calls) == 3 and all(call.ok for call in calls)
    assert ["reply_markup" in call.params for call in calls] == [False, False, True]
    assert "\n".join(call.result["text"] for call in calls) == body.plain()


async def test_images_go_as_photos_and_other_files_as_documents(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    png = Attachment("chart.png", b"\x89PNG fake", "image/png", caption=RichText.of("Week <1>"))
    csv = Attachment("members.csv", b"name,role\nAna,member\n", "text/csv")
    ics = Attachment("webinar.ics", b"BEGIN:VCALENDAR\nEND:VCALENDAR\n", "text/calendar")

    messenger = _messenger(bot)
    await messenger.send(_to(GROUP), OutboundMessage(RichText(), attachment=png))
    await messenger.send(_to(GROUP), OutboundMessage(RichText.of("Your export"), attachment=csv))
    await messenger.send(_to(PERSON), OutboundMessage(RichText(), attachment=ics))

    [photo] = fake_telegram.calls_to("sendPhoto")
    assert photo.files == {"photo": png.content}
    assert photo.params["caption"] == "Week &lt;1&gt;" and photo.result["caption"] == "Week <1>"
    first_doc, second_doc = fake_telegram.calls_to("sendDocument")
    assert first_doc.file_names == {"document": "members.csv"}
    assert first_doc.files == {"document": csv.content}
    assert second_doc.file_names == {"document": "webinar.ics"}
    assert [c.params["text"] for c in fake_telegram.calls_to("sendMessage")] == ["Your export"]


@pytest.mark.expected_errors
async def test_an_image_telegram_refuses_as_a_photo_is_sent_as_a_file(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    fake_telegram.fail_next("sendPhoto", 400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
    image = Attachment("wide.png", b"\x89PNG", "image/png")

    await _messenger(bot).send(_to(PERSON), OutboundMessage(RichText(), attachment=image))

    assert [c.status for c in fake_telegram.calls_to("sendPhoto")] == [400]
    assert [c.status for c in fake_telegram.calls_to("sendDocument")] == [200]


async def test_a_person_who_never_started_the_bot_is_unreachable(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    fake_telegram.block(PERSON)
    fake_telegram.block(GROUP)

    with pytest.raises(RecipientUnreachable):
        await _messenger(bot).send(_to(PERSON, is_direct=True), _text("hi"))
    with pytest.raises(ConversationUnavailable):
        await _messenger(bot).send(_to(GROUP), _text("hi"))


async def test_a_short_retry_after_is_waited_out_and_the_message_is_not_lost(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    virtual = VirtualTime(ManualClock())
    fake_telegram.fail_next("sendMessage", 429, retry_after=3)

    await _messenger(bot, virtual).send(_to(PERSON), _text("patience"))

    assert [c.status for c in fake_telegram.calls_to("sendMessage")] == [429, 200]
    assert virtual.slept == 3


async def test_a_short_retry_after_that_persists_is_waited_once_then_retry_later(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    virtual = VirtualTime(ManualClock())
    fake_telegram.fail_next("sendMessage", 429, retry_after=2, times=None)

    with pytest.raises(RetryLater) as caught:
        await _messenger(bot, virtual).send(_to(PERSON), _text("never"))

    assert caught.value.retry_after == 2
    assert [c.status for c in fake_telegram.calls_to("sendMessage")] == [429, 429]
    assert virtual.slept == 2


async def test_a_long_retry_after_becomes_retry_later_at_once_without_sleeping(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    virtual = VirtualTime(ManualClock())
    fake_telegram.fail_next("sendMessage", 429, retry_after=30, times=None)

    with pytest.raises(RetryLater) as caught:
        await _messenger(bot, virtual).send(_to(PERSON), _text("never"))

    assert caught.value.retry_after == 30
    assert [c.status for c in fake_telegram.calls_to("sendMessage")] == [429]
    assert virtual.slept == 0


async def test_a_retry_after_just_beyond_the_inline_cap_is_not_waited_for(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    virtual = VirtualTime(ManualClock())
    fake_telegram.fail_next("sendMessage", 429, retry_after=int(MAX_INLINE_WAIT) + 1)

    with pytest.raises(RetryLater) as caught:
        await _messenger(bot, virtual).send(_to(GROUP), _text("later"))

    assert caught.value.retry_after == MAX_INLINE_WAIT + 1
    assert [c.status for c in fake_telegram.calls_to("sendMessage")] == [429]
    assert virtual.slept == 0


async def test_a_group_that_became_a_supergroup_gets_the_message_at_its_new_id(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    fake_telegram.fail_next("sendMessage", 400, migrate_to_chat_id=GROUP, chat_id=-4001)
    messenger = _messenger(bot)

    await messenger.send(_to(-4001, thread_id="3", reply_to_message_id="5"), _text("moved"))
    await messenger.send(_to(-4001), _text("again"))

    chats = [(c.params["chat_id"], c.status) for c in fake_telegram.calls_to("sendMessage")]
    assert chats == [(-4001, 400), (GROUP, 200), (GROUP, 200)]


async def test_flood_limits_are_kept_for_a_burst_to_groups_and_people() -> None:
    clock = ManualClock()
    virtual = VirtualTime(clock)
    async with (
        FakeTelegramAPI(clock=clock) as api,
        Bot(DEFAULT_TOKEN, base_url=api.base_url) as bot,
    ):
        api.enforce_limits()  # 30/s overall, 1/s per chat, 20/min per group; 429 otherwise
        messenger = _messenger(bot, virtual)
        start = clock()
        for n in range(25):
            await messenger.send(_to(-4001), _text(f"group {n}"))
        for n in range(60):
            await messenger.send(_to(1000 + n), _text(f"person {n}"))
        for n in range(3):
            await messenger.send(_to(PERSON), _text(f"again {n}"))
        elapsed = clock() - start

    assert api.violations == [] and api.rate_limited_count == 0
    assert len([c for c in api.calls_to("sendMessage") if c.ok]) == 88
    # 25 to one group need a minute (20/min, the 21st waits for the 1st to be 60 s old); then
    # 60 people at 30/s take two more seconds, and three to one person, one per second.
    assert 64 <= elapsed <= 70


async def test_concurrent_senders_share_the_limits() -> None:
    clock = ManualClock()
    virtual = VirtualTime(clock)
    async with (
        FakeTelegramAPI(clock=clock) as api,
        Bot(DEFAULT_TOKEN, base_url=api.base_url) as bot,
    ):
        api.enforce_limits()
        messenger = _messenger(bot, virtual)
        people = [_to(chat) for chat in range(1, 41) for _ in (1, 2)]
        groups = [_to(-4001 - n) for n in range(10)]
        await asyncio.gather(*(messenger.send(to, _text("hello")) for to in people + groups))

    assert api.violations == [] and api.rate_limited_count == 0
    assert len([c for c in api.calls_to("sendMessage") if c.ok]) == 90
    assert clock() - 1000.0 >= 2  # 90 messages at 30 per second


async def test_network_failures_are_delivery_errors_and_never_resent(
    fake_telegram: FakeTelegramAPI, bot: Bot
) -> None:
    fake_telegram.fail_next("sendMessage", 502)

    with pytest.raises(DeliveryError):
        await _messenger(bot).send(_to(PERSON), _text("maybe"))

    assert len(fake_telegram.calls_to("sendMessage")) == 1
