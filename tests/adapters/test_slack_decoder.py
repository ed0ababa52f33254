"""Decoding stored Slack payloads into core events, with look-ups against the fake Web API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from adapters.slack.commands import parse_slash
from adapters.slack.decoder import message_text
from adapters.slack.directory import USER_TTL
from facilitator.domain.errors import UndecodablePayload
from facilitator.domain.events import (
    BotAdded,
    ButtonPressed,
    CommandInvoked,
    MemberJoined,
    MessageReceived,
    ReplyTarget,
)
from tests.adapters.fakes.slack_api import FakeSlackAPI
from tests.adapters.slack_support import CHANNEL, SlackHarness, slack_harness
from tests.conftest import FrozenClock

BOT = "U0FAKEBOT1"


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        yield harness


def envelope(event: dict[str, Any], event_id: str = "Ev0001") -> str:
    return json.dumps(
        {"type": "event_callback", "event_id": event_id, "event_time": 1767000000, "event": event}
    )


def message(**fields: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": CHANNEL,
        "channel_type": "channel",
        "user": "U0ANA",
        "text": "hi",
        "ts": "1767000000.000100",
        **fields,
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hello &lt;b&gt; &amp; you", "hello <b> & you"),
        (f"<@{BOT}> where is the room?", "where is the room?"),
        ("ask <@U0ANA|ana> or <@U0BEN>", "ask @ana or @U0BEN"),
        ("see <#C0GEN|general> <!here> <!subteam^S1|@team>", "see #general @here @team"),
        (
            "<https://example.org/a|the slides> and <https://x.org>",
            "the slides (https://example.org/a) and https://x.org",
        ),
        ("<http://example.org|example.org>", "http://example.org"),
        ("mail <mailto:ana@example.org|ana@example.org>", "mail ana@example.org"),
        ("/faq visa", "\u200b/faq visa"),
    ],
)
def test_slack_markup_becomes_plain_text(raw: str, expected: str) -> None:
    assert message_text(raw, BOT) == expected


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("/facilitator", "faq visa &amp; passport", ("faq", "visa & passport")),
        ("/facilitator", "  FAQ   where ", ("faq", "where")),
        ("/facilitator", "", ("help", "")),
        ("/facilitator", "/lang es", ("lang", "es")),
        ("/lang", "es", ("lang", "es")),
        ("/hello-world", "Hi", ("hello-world", "Hi")),
    ],
)
def test_slash_commands_name_a_core_command_and_its_arguments(
    command: str, text: str, expected: tuple[str, str]
) -> None:
    assert parse_slash(command, text) == expected


async def test_the_members_slack_locale_and_admin_flag_reach_the_core(
    slack: SlackHarness,
) -> None:
    slack.api.set_user("U0ANA", name="ana", locale="es-LA", is_admin=True)

    [event] = await slack.adapter.decoder.decode(envelope(message()))
    await slack.adapter.decoder.decode(envelope(message(ts="1767000000.000200"), "Ev2"))

    assert isinstance(event, MessageReceived)
    user = event.origin.user
    assert (user.display_name, user.locale_hint, user.is_platform_admin) == ("ana", "es-LA", True)
    [lookup] = slack.api.calls_to("users.info")  # cached for the second message
    assert lookup.params == {"user": "U0ANA", "include_locale": "1"}
    assert event.origin.chat_title == CHANNEL.lower()
    assert event.origin.event_id == f"{CHANNEL}:1767000000.000100"


@pytest.mark.expected_errors
async def test_a_members_lookup_is_kept_an_hour_and_outlived_by_its_last_answer(
    slack: SlackHarness,
) -> None:
    slack.api.set_user("U0ANA", name="ana", locale="es-LA")

    async def who(ts: str) -> tuple[str, str | None]:
        [event] = await slack.adapter.decoder.decode(envelope(message(ts=ts), f"Ev{ts}"))
        assert isinstance(event, MessageReceived)
        return event.origin.user.display_name, event.origin.user.locale_hint

    seen = [await who("1767000000.000100")]
    slack.time.now += USER_TTL - 1
    seen.append(await who("1767000000.000200"))  # still cached
    slack.time.now += 1
    slack.api.fail_next("users.info", error="fatal_error")
    seen.append(await who("1767000000.000300"))  # asked again; it fails: the last answer
    seen.append(await who("1767000000.000400"))  # asked again, answered

    assert seen == [("ana", "es-LA")] * 4
    assert [c.error for c in slack.api.calls_to("users.info")] == [None, "fatal_error", None]


async def test_an_owner_is_a_platform_admin_too(slack: SlackHarness) -> None:
    slack.api.set_user("U0ANA", name="ana", is_owner=True)

    [event] = await slack.adapter.decoder.decode(envelope(message()))

    assert event.origin.user.is_platform_admin is True


@pytest.mark.expected_errors
async def test_a_failed_user_look_up_degrades_instead_of_failing(slack: SlackHarness) -> None:
    slack.api.fail_next("users.info", error="internal_error")

    [event] = await slack.adapter.decoder.decode(envelope(message()))

    assert event.origin.user.user_id == "U0ANA"
    assert event.origin.user.locale_hint is None


async def test_a_thread_reply_points_at_its_parent(slack: SlackHarness) -> None:
    [event] = await slack.adapter.decoder.decode(
        envelope(message(thread_ts="1767000000.000001", parent_user_id=BOT))
    )

    assert isinstance(event, MessageReceived)
    assert event.reply_to == ReplyTarget("1767000000.000001", BOT, is_bot=True)
    assert event.origin.thread_id == "1767000000.000001"
    assert event.origin.message_id == "1767000000.000100"


async def test_mentions_links_files_and_direct_messages_are_flagged(slack: SlackHarness) -> None:
    [mention] = await slack.adapter.decoder.decode(
        envelope(
            {
                "type": "app_mention",
                "channel": CHANNEL,
                "user": "U0ANA",
                "text": f"<@{BOT}> <https://a.org>",
                "ts": "1.1",
            }
        )
    )
    [dm] = await slack.adapter.decoder.decode(
        envelope(
            message(channel="D0ANA", channel_type="im", subtype="file_share", files=[{"id": "F1"}])
        )
    )

    assert isinstance(mention, MessageReceived) and isinstance(dm, MessageReceived)
    assert (mention.mentions_bot, mention.has_link, mention.origin.is_direct) == (
        True,
        True,
        False,
    )
    assert mention.text == "https://a.org"
    assert (dm.mentions_bot, dm.has_file, dm.origin.is_direct, dm.origin.chat_title) == (
        True,
        True,
        True,
        None,
    )


async def test_an_edit_is_an_edit_with_its_own_event_id(slack: SlackHarness) -> None:
    [event] = await slack.adapter.decoder.decode(
        envelope(
            message(
                subtype="message_changed",
                ts="1767000000.000300",
                user=None,
                message={
                    "user": "U0ANA",
                    "text": "fixed",
                    "ts": "1767000000.000100",
                    "edited": {"ts": "1767000000.000300"},
                },
            )
        )
    )

    assert isinstance(event, MessageReceived)
    assert event.is_edit and event.text == "fixed"
    assert event.origin.event_id == f"{CHANNEL}:1767000000.000100:edit:1767000000.000300"


@pytest.mark.parametrize(
    "event",
    [
        message(subtype="message_deleted", deleted_ts="1.1"),
        message(subtype="bot_message", bot_id="B1"),
        message(user=BOT),
        message(bot_id="B0OTHER"),
        message(subtype="channel_join"),
        message(subtype="channel_topic"),
        message(hidden=True),
        {
            "type": "reaction_added",
            "user": "U0ANA",
            "reaction": "x",
            "item": {"type": "file", "file": "F1"},
        },
        {"type": "app_home_opened", "user": "U0ANA", "tab": "messages"},
        {"type": "team_join", "user": {"id": "U9"}},
        {"type": "assistant_thread_started", "assistant_thread": {}},
        {"type": "some_event_from_the_future", "shape": [1, 2, 3]},
    ],
)
async def test_events_that_are_not_for_the_core_decode_to_nothing(
    slack: SlackHarness, event: dict[str, Any]
) -> None:
    assert await slack.adapter.decoder.decode(envelope(event)) == []


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps({"type": "view_closed", "view": {}}),
        json.dumps({"type": "shortcut", "callback_id": "x"}),
        json.dumps({"type": "something_new"}),
        json.dumps({"no_type": True}),
    ],
)
async def test_payload_kinds_the_core_does_not_use_decode_to_nothing(
    slack: SlackHarness, payload: str
) -> None:
    assert await slack.adapter.decoder.decode(payload) == []


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[1, 2]",
        envelope({"type": "message", "user": "U0ANA", "text": "no channel"}),
        json.dumps({"type": "event_callback", "event": "not an object"}),
        json.dumps({"command": "/faq", "text": "x"}),
        json.dumps({"type": "block_actions", "actions": []}),
    ],
)
async def test_malformed_payloads_are_a_logged_rejection(
    slack: SlackHarness, payload: str
) -> None:
    with pytest.raises(UndecodablePayload):
        await slack.adapter.decoder.decode(payload)


async def test_the_bot_added_without_an_inviter_is_credited_to_the_channel_creator(
    slack: SlackHarness,
) -> None:
    slack.api.set_channel(CHANNEL, name="learners", members=[BOT])  # creator: the fake's bot
    slack.api.respond_with(
        "conversations.info",
        {"ok": True, "channel": {"id": CHANNEL, "name": "learners", "creator": "U0ANA"}},
    )

    [event] = await slack.adapter.decoder.decode(
        envelope({"type": "member_joined_channel", "user": BOT, "channel": CHANNEL})
    )

    assert isinstance(event, BotAdded)
    assert event.origin.user.user_id == "U0ANA"
    assert event.origin.chat_title == "learners"


async def test_a_member_invited_by_someone_joins_with_the_inviter_as_actor(
    slack: SlackHarness,
) -> None:
    [event] = await slack.adapter.decoder.decode(
        envelope(
            {
                "type": "member_joined_channel",
                "user": "U0NEW",
                "channel": CHANNEL,
                "inviter": "U0ANA",
            }
        )
    )

    assert isinstance(event, MemberJoined)
    assert (event.member.user_id, event.origin.user.user_id) == ("U0NEW", "U0ANA")


async def test_a_modal_submission_reaches_the_core_as_its_callback_with_the_fields(
    slack: SlackHarness,
) -> None:
    payload = {
        "type": "view_submission",
        "user": {"id": "U0ANA", "name": "ana"},
        "trigger_id": "5.6.7",
        "view": {
            "callback_id": "faq.add",
            "private_metadata": json.dumps({"channel": CHANNEL}),
            "state": {
                "values": {
                    "q": {"question": {"type": "plain_text_input", "value": "Where?"}},
                    "t": {
                        "theme": {"type": "static_select", "selected_option": {"value": "travel"}}
                    },
                    "d": {"when": {"type": "datepicker", "selected_date": "2026-12-03"}},
                }
            },
        },
    }

    [event] = await slack.adapter.decoder.decode(json.dumps(payload))

    assert isinstance(event, ButtonPressed)
    assert event.action == "faq.add"
    assert json.loads(event.value)["fields"] == {
        "question": "Where?",
        "theme": "travel",
        "when": "2026-12-03",
    }
    assert event.origin.chat_id == CHANNEL and not event.origin.is_direct


async def test_a_home_tab_button_is_answered_in_the_members_dm(slack: SlackHarness) -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0ANA"},
        "trigger_id": "8.8.8",
        "container": {"type": "view", "view_id": "V1"},
        "actions": [{"action_id": "kb_show#0.0", "value": "12", "type": "button"}],
    }

    [event] = await slack.adapter.decoder.decode(json.dumps(payload))

    assert isinstance(event, ButtonPressed)
    assert (event.action, event.value) == ("kb_show", "12")
    assert event.origin.chat_id == "U0ANA" and event.origin.is_direct


async def test_a_slash_command_in_a_dm_is_direct(slack: SlackHarness) -> None:
    payload = {
        "command": "/facilitator",
        "text": "lang",
        "user_id": "U0ANA",
        "channel_id": "D0ANA",
        "channel_name": "directmessage",
        "trigger_id": "1.2",
    }

    [event] = await slack.adapter.decoder.decode(json.dumps(payload))

    assert isinstance(event, CommandInvoked)
    assert (event.name, event.args, event.origin.is_direct) == ("lang", "", True)
    assert event.origin.message_id == "interaction:1.2"
