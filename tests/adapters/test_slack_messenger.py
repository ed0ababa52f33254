"""Sending to Slack: pacing, 429s, unavailable channels, DMs, files, updates, lost access."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from adapters.slack.manifest import METHOD_SCOPES
from adapters.slack.response_urls import INTERACTION_PREFIX
from adapters.slack.retries import MAX_INLINE_WAIT
from facilitator.domain.errors import ConversationUnavailable, DeliveryError, RetryLater
from facilitator.domain.model import Platform
from facilitator.domain.outbox import OutboxEntry, OutboxStatus
from facilitator.markup import Attachment, Destination, Form, OutboundMessage, RichText
from tests.adapters.fakes.slack_api import FakeSlackAPI, dm_channel_id
from tests.adapters.slack_support import (
    CHANNEL,
    SlackHarness,
    VirtualTime,
    slack_harness,
    wait_until,
)
from tests.conftest import FrozenClock

BRUNO = "U0BRUNO"


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        harness.api.reset()  # forget the start-up auth.test
        yield harness


def here(**fields: object) -> Destination:
    return Destination(platform=Platform.SLACK, chat_id=CHANNEL, **fields)  # type: ignore[arg-type]


def say(text: str) -> OutboundMessage:
    return OutboundMessage(RichText.of(text))


async def test_a_429_is_waited_out_and_the_message_delivered(slack: SlackHarness) -> None:
    slack.api.fail_next("chat.postMessage", retry_after=2)

    ts = await slack.adapter.messenger.send(here(), say("hello"))

    calls = slack.api.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert ts is not None and (CHANNEL, ts) in slack.api.messages
    assert 2.0 in slack.time.sleeps


async def test_a_429_that_persists_becomes_retry_later_after_bounded_attempts(
    slack: SlackHarness,
) -> None:
    slack.api.fail_next("chat.postMessage", retry_after=1, times=10)

    with pytest.raises(RetryLater) as caught:
        await slack.adapter.messenger.send(here(), say("hello"))

    assert caught.value.retry_after == 1.0
    assert len(slack.api.calls_to("chat.postMessage")) == 3


async def test_a_very_long_retry_after_is_not_waited_for(slack: SlackHarness) -> None:
    slack.api.fail_next("chat.postMessage", retry_after=120)

    with pytest.raises(RetryLater):
        await slack.adapter.messenger.send(here(), say("hello"))

    assert len(slack.api.calls_to("chat.postMessage")) == 1
    assert slack.time.sleeps == []


async def test_a_retry_after_just_beyond_the_inline_cap_is_retry_later_at_once(
    slack: SlackHarness,
) -> None:
    slack.api.fail_next("chat.postMessage", retry_after=int(MAX_INLINE_WAIT) + 1)

    with pytest.raises(RetryLater) as caught:
        await slack.adapter.messenger.send(here(), say("hello"))

    assert caught.value.retry_after == MAX_INLINE_WAIT + 1
    assert [c.status for c in slack.api.calls_to("chat.postMessage")] == [429]
    assert slack.time.sleeps == []
    assert slack.api.messages == {}


async def test_a_retry_after_at_the_inline_cap_is_waited_in_line(slack: SlackHarness) -> None:
    slack.api.fail_next("chat.postMessage", retry_after=int(MAX_INLINE_WAIT))

    ts = await slack.adapter.messenger.send(here(), say("hello"))

    assert [c.status for c in slack.api.calls_to("chat.postMessage")] == [429, 200]
    assert slack.time.sleeps == [MAX_INLINE_WAIT]
    assert ts is not None and (CHANNEL, ts) in slack.api.messages


async def test_a_server_error_is_retried_after_a_second_and_the_message_delivered(
    slack: SlackHarness,
) -> None:
    slack.api.fail_next("chat.postMessage", error="internal_error", status=502)

    ts = await slack.adapter.messenger.send(here(), say("hello"))

    assert [c.status for c in slack.api.calls_to("chat.postMessage")] == [502, 200]
    assert slack.time.sleeps == [1.0]
    assert ts is not None and (CHANNEL, ts) in slack.api.messages


async def test_a_server_error_that_persists_becomes_retry_later(slack: SlackHarness) -> None:
    slack.api.fail_next("chat.postMessage", error="internal_error", status=503, times=5)

    with pytest.raises(RetryLater):
        await slack.adapter.messenger.send(here(), say("hello"))

    assert [c.status for c in slack.api.calls_to("chat.postMessage")] == [503, 503, 503]


async def test_a_rate_limited_step_of_a_file_upload_is_repeated_alone(
    slack: SlackHarness,
) -> None:
    slack.api.fail_next("files.completeUploadExternal", retry_after=2)
    attachment = Attachment("notes.txt", b"week 1", "text/plain")

    await slack.adapter.messenger.send(here(), OutboundMessage(RichText(), attachment=attachment))

    assert [(c.method, c.status) for c in slack.api.calls] == [
        ("files.getUploadURLExternal", 200),
        ("files.completeUploadExternal", 429),
        ("files.completeUploadExternal", 200),
    ]
    assert slack.time.sleeps == [2.0]
    [upload] = slack.api.files.values()
    assert upload.channel_id == CHANNEL


async def test_messages_to_one_channel_are_paced_about_one_per_second(
    tmp_path: Path, clock: FrozenClock
) -> None:
    virtual = VirtualTime()
    async with FakeSlackAPI(clock=virtual) as api:
        api.enforce_limits(per_channel_per_second=1)
        async with slack_harness(api, tmp_path, clock, virtual=virtual) as slack:
            for text in ("one", "two", "three"):
                await slack.adapter.messenger.send(here(), say(text))
            await slack.adapter.messenger.send(
                Destination(Platform.SLACK, "C0OTHER"), say("elsewhere")
            )

    posts = api.calls_to("chat.postMessage")
    assert [c.status for c in posts] == [200, 200, 200, 200]
    assert slack.time.sleeps == [1.0, 1.0]
    assert [c.at for c in posts] == [1000.0, 1001.0, 1002.0, 1002.0]


async def test_not_in_channel_is_conversation_unavailable_and_does_not_crash_the_sender(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    slack.api.fail_next("chat.postMessage", error="not_in_channel", times=2)

    with pytest.raises(ConversationUnavailable):
        await slack.adapter.messenger.send(here(), say("hello"))
    await slack.app.sender([(here(), say("hello again"))])

    assert "reply not delivered" in caplog.text
    unavailable = [r for r in caplog.records if r.getMessage() == "slack conversation unavailable"]
    assert [getattr(r, "error", None) for r in unavailable] == ["not_in_channel"] * 2


async def test_channel_not_found_is_conversation_unavailable(slack: SlackHarness) -> None:
    slack.api.fail_next("chat.postEphemeral", error="channel_not_found")

    with pytest.raises(ConversationUnavailable):
        await slack.adapter.messenger.send(here(user_id=BRUNO), say("psst"))


async def test_a_reply_to_a_slash_command_where_the_bot_is_absent_uses_the_response_url(
    slack: SlackHarness,
) -> None:
    reference = f"{INTERACTION_PREFIX}9.9.9"
    slack.adapter.response_urls.remember(reference, slack.hooks.url("x"))
    slack.api.fail_next("chat.postMessage", error="not_in_channel")

    await slack.adapter.messenger.send(here(reply_to_message_id=reference), say("public"))

    [(_, body)] = slack.hooks.received
    assert body["response_type"] == "in_channel"
    assert body["text"] == "public"


async def test_a_response_url_is_used_at_most_five_times(slack: SlackHarness) -> None:
    reference = f"{INTERACTION_PREFIX}5.5.5"
    slack.adapter.response_urls.remember(reference, slack.hooks.url("y"))

    for i in range(7):
        await slack.adapter.messenger.send(
            here(user_id=BRUNO, reply_to_message_id=reference), say(f"n{i}")
        )

    assert len(slack.hooks.received) == 5
    assert len(slack.api.calls_to("chat.postEphemeral")) == 2


async def test_an_expired_response_url_falls_back_to_an_ephemeral(slack: SlackHarness) -> None:
    reference = f"{INTERACTION_PREFIX}4.4.4"
    slack.adapter.response_urls.remember(reference, slack.hooks.url("z"))
    slack.hooks.status = 404

    await slack.adapter.messenger.send(
        here(user_id=BRUNO, reply_to_message_id=reference), say("still")
    )

    [ephemeral] = slack.api.calls_to("chat.postEphemeral")
    assert ephemeral.params["user"] == BRUNO


async def test_a_message_to_a_member_opens_a_dm_once(slack: SlackHarness) -> None:
    to_bruno = Destination(Platform.SLACK, BRUNO, is_direct=True)

    await slack.adapter.messenger.send(to_bruno, say("one"))
    await slack.adapter.messenger.send(to_bruno, say("two"))

    assert len(slack.api.calls_to("conversations.open")) == 1
    posts = slack.api.calls_to("chat.postMessage")
    assert [c.params["channel"] for c in posts] == [dm_channel_id(BRUNO)] * 2


async def test_a_private_reply_in_a_dm_is_an_ordinary_message(slack: SlackHarness) -> None:
    dm = Destination(Platform.SLACK, dm_channel_id(BRUNO), user_id=BRUNO, is_direct=True)

    await slack.adapter.messenger.send(dm, say("just us"))

    assert slack.api.calls_to("chat.postEphemeral") == []
    assert len(slack.api.calls_to("chat.postMessage")) == 1


async def test_replies_go_to_the_thread_or_under_the_message_they_answer(
    slack: SlackHarness,
) -> None:
    await slack.adapter.messenger.send(here(thread_id="1767000000.000001"), say("a"))
    await slack.adapter.messenger.send(here(reply_to_message_id="1767000000.000002"), say("b"))
    await slack.adapter.messenger.send(here(), say("c"))

    threads = [c.params.get("thread_ts") for c in slack.api.calls_to("chat.postMessage")]
    assert threads == ["1767000000.000001", "1767000000.000002", None]


async def test_a_file_is_uploaded_with_files_upload_v2_and_an_escaped_caption(
    slack: SlackHarness,
) -> None:
    attachment = Attachment(
        "notes.txt", b"week 1\n\x00 binary", "text/plain", caption=RichText.of("<!here> notes")
    )

    await slack.adapter.messenger.send(here(), OutboundMessage(RichText(), attachment=attachment))

    assert [c.method for c in slack.api.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    [upload] = slack.api.files.values()
    assert upload.data == b"week 1\n\x00 binary"
    assert upload.channel_id == CHANNEL
    assert upload.initial_comment == "&lt;!here&gt; notes"


async def test_a_private_file_goes_to_the_members_dm(slack: SlackHarness) -> None:
    attachment = Attachment("a.csv", b"x,y\n", "text/csv")

    await slack.adapter.messenger.send(
        here(user_id=BRUNO), OutboundMessage(RichText.of("yours"), attachment=attachment)
    )

    [upload] = slack.api.files.values()
    assert upload.channel_id == dm_channel_id(BRUNO)
    assert slack.api.calls_to("chat.postEphemeral") == []


async def test_a_posted_message_can_be_updated(slack: SlackHarness) -> None:
    ts = await slack.adapter.messenger.send(here(), say("3 votes"))
    assert ts is not None

    await slack.adapter.slack_messenger.update(here(), ts, say("4 votes"))

    [update] = slack.api.calls_to("chat.update")
    assert update.params["ts"] == ts and update.params["text"] == "4 votes"
    assert slack.api.messages[(CHANNEL, ts)]["text"] == "4 votes"


@pytest.mark.parametrize(
    "event",
    [
        {"type": "app_uninstalled"},
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0FAKEBOT1"]}},
    ],
)
@pytest.mark.expected_errors
async def test_after_uninstall_or_revocation_the_messenger_stops_calling_slack(
    slack: SlackHarness, event: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    await slack.event(event)
    await slack.process()
    slack.api.reset()

    with pytest.raises(DeliveryError):
        await slack.adapter.messenger.send(here(), say("anyone?"))
    await slack.app.sender([(here(), say("still there?"))])

    assert slack.api.calls == []
    assert slack.adapter.ready() is False
    assert "slack access lost" in caplog.text


async def test_a_user_token_revocation_does_not_stop_the_bot(slack: SlackHarness) -> None:
    await slack.event({"type": "tokens_revoked", "tokens": {"oauth": ["U0SOMEONE"], "bot": []}})
    await slack.process()

    await slack.adapter.messenger.send(here(), say("fine"))

    assert slack.adapter.ready() is True


@pytest.mark.expected_errors
async def test_a_revoked_token_seen_on_a_call_stops_further_calls(slack: SlackHarness) -> None:
    slack.api.fail_next("chat.postMessage", error="token_revoked")

    with pytest.raises(DeliveryError):
        await slack.adapter.messenger.send(here(), say("one"))
    with pytest.raises(DeliveryError):
        await slack.adapter.messenger.send(here(), say("two"))

    assert len(slack.api.calls_to("chat.postMessage")) == 1


async def test_slack_unreachable_is_a_delivery_error(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    await slack.api.stop()

    with pytest.raises(DeliveryError):
        await slack.adapter.messenger.send(here(), say("void"))

    assert "slack unreachable" in caplog.text


async def test_every_web_api_method_called_is_in_the_scope_table(slack: SlackHarness) -> None:
    messenger = slack.adapter.messenger
    await messenger.send(here(), say("post"))
    await messenger.send(here(user_id=BRUNO), say("ephemeral"))
    await messenger.send(Destination(Platform.SLACK, BRUNO, is_direct=True), say("dm"))
    await messenger.send(Destination(Platform.SLACK, f"home:{BRUNO}", is_direct=True), say("home"))
    await messenger.send(
        here(), OutboundMessage(RichText(), attachment=Attachment("f.txt", b"x", "text/plain"))
    )
    form = Form("form:poll", "New poll", "Post", fields=(), conversation=CHANNEL)
    await messenger.send(
        here(user_id=BRUNO, reply_to_message_id=f"{INTERACTION_PREFIX}1.2.3"),
        OutboundMessage(RichText.of("usage"), ephemeral=True, form=form),
    )
    ts = await messenger.send(here(), say("v1"))
    assert ts is not None
    await slack.adapter.slack_messenger.update(here(), ts, say("v2"))
    await slack.adapter.directory.user(BRUNO)
    await slack.adapter.directory.channel(CHANNEL)
    await slack.adapter.web.auth_test()

    called = {c.method for c in slack.api.calls}
    assert called <= set(METHOD_SCOPES)
    assert "views.open" in called
    assert len(called) >= 11


async def test_the_text_fallback_stays_within_slacks_limit_however_much_escaping_grows_it(
    slack: SlackHarness,
) -> None:
    await slack.adapter.messenger.send(here(), say("<&>" * 3000))

    texts = [str(c.params["text"]) for c in slack.api.calls_to("chat.postMessage")]
    assert len(texts) == 3  # 9,000 characters in parts of 3,000
    assert all(len(t) <= 4000 and t.endswith("…") for t in texts)
    assert all(t[:-1].replace("&lt;&amp;&gt;", "") in ("", "&lt;", "&lt;&amp;") for t in texts)


def test_the_production_response_url_allow_list_takes_slacks_hosts_only() -> None:
    """The guard against posting to a URL a payload names: the default list, as `serve` uses
    it (the adapter tests widen it for the fake)."""
    from adapters.slack.response_urls import ResponseUrls

    hooks = ResponseUrls(lambda: 0.0)
    refused = (
        "https://evil.example/hooks.slack.com/x",
        "https://hooks.slack.com.evil.example/x",
        "http://hooks.slack.com/x",
        "https://hooks.slack.co/x",
        "https://127.0.0.1/x",
    )
    for n, url in enumerate(refused):
        hooks.remember(f"r{n}", url)
        assert hooks.take(f"r{n}") is None, url
    hooks.remember("ok", "https://hooks.slack.com/actions/T1/2/abc")
    hooks.remember("gov", "https://hooks.slack-gov.com/actions/T1/2/abc")
    assert hooks.take("ok") == "https://hooks.slack.com/actions/T1/2/abc"
    assert hooks.take("gov") == "https://hooks.slack-gov.com/actions/T1/2/abc"


class HeldPacing(VirtualTime):
    """Virtual time whose sleeps wait, while `held`, until `release()`: a message that must
    wait for its channel's turn stays waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.held = asyncio.Event()
        self.waiting = 0

    async def sleep(self, seconds: float) -> None:
        if not self.held.is_set():
            self.waiting += 1
            try:
                await self.held.wait()
            finally:
                self.waiting -= 1
        await super().sleep(seconds)


async def test_an_outbox_post_waiting_for_its_channels_turn_is_sent_again_after_a_crash(
    tmp_path: Path, clock: FrozenClock
) -> None:
    virtual = HeldPacing()
    async with (
        FakeSlackAPI(clock=virtual) as api,
        slack_harness(api, tmp_path, clock, virtual=virtual) as slack,
    ):
        async with slack.app.uow_factory() as uow:
            for key in ("first", "second"):
                entry = OutboxEntry(key, "test", here(), say(key), clock.now())
                await uow.outbox.add(entry, clock.now())
            await uow.commit()
        running = asyncio.create_task(slack.app.dispatcher.run_forever())
        await wait_until(lambda: virtual.waiting == 1, 10)  # "second" waits for its turn
        # The process dies: nothing is handed back or recorded.
        running.cancel()
        await slack.app.dispatcher.abort()
        await asyncio.gather(running, return_exceptions=True)
        async with slack.app.uow_factory() as uow:
            before = [await uow.outbox.by_key(key) for key in ("first", "second")]
        virtual.held.set()
        clock.advance(minutes=15)  # the claim's lease ends
        await slack.app.dispatcher.dispatch_due()
        async with slack.app.uow_factory() as uow:
            after = [await uow.outbox.by_key(key) for key in ("first", "second")]

    assert [r.status for r in before if r] == [OutboxStatus.SENT, OutboxStatus.CLAIMED]
    assert [r.status for r in after if r] == [OutboxStatus.SENT, OutboxStatus.SENT]
    posts = api.calls_to("chat.postMessage")
    assert [c.params["text"] for c in posts] == ["first", "second"]
