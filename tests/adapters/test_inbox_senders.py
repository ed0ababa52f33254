"""Who sent each stored update, as the adapters read it before storing: what /forgetme finds a
member's raw payloads by."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.slack.intake import delivery_for
from adapters.telegram.envelope import envelope
from tests.adapters.fakes.telegram_api import (
    callback_query_update,
    chat_member_dict,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.slack_support import slack_payload
from tests.adapters.telegram_support import member_update, poll_answer, reaction_update

GROUP = supergroup_chat(-1001700, "Circle")
ADA = user(111, "Ada")
BEA = user(222, "Bea")
BOT = user(999, "Facilitator", is_bot=True)


def _sent_by_bot() -> dict[str, Any]:
    return {"message_id": 5, "from": BOT, "chat": GROUP, "date": 1_790_000_000, "text": "Hi"}


@pytest.mark.parametrize(
    ("update", "sender"),
    [
        (text_update("hello", from_user=ADA, chat=GROUP), "111"),
        (text_update("edited", from_user=ADA, chat=GROUP, edited=True), "111"),
        # The member who pressed, not the bot whose message holds the button.
        (callback_query_update("a|1", message=_sent_by_bot(), from_user=BEA), "222"),
        (poll_answer("p1", BEA, [0]), "222"),
        (reaction_update(GROUP, ADA, 5, [], ["👍"]), "111"),
        # An admin adding Bea: the update is about her.
        (
            member_update(
                "chat_member", GROUP, ADA, chat_member_dict(BEA, "left"), chat_member_dict(BEA)
            ),
            "222",
        ),
        ({"channel_post": {"message_id": 1, "chat": GROUP, "date": 1, "text": "x"}}, None),
    ],
)
def test_a_telegram_updates_sender_is_read_before_it_is_stored(
    update: dict[str, Any], sender: str | None
) -> None:
    update = {"update_id": 1, **update}
    assert envelope(update, json.dumps(update)).sender == sender


@pytest.mark.parametrize(
    ("name", "sender"),
    [
        ("slack_bolt_event_app_mention.json", "W222"),
        ("slack_bolt_event_member_joined_channel.json", "W23456789"),
        ("slack_bolt_event_message_channel_blocks.json", "W111"),
        ("slack_bolt_event_reaction_added.json", "W111"),
        ("slack_bolt_interactive_block_actions.json", "W111"),
        ("slack_bolt_interactive_view_submission.json", "W111"),
        ("slack_bolt_slash_command_form.json", "W111"),
    ],
)
def test_a_slack_requests_sender_is_read_before_it_is_stored(name: str, sender: str) -> None:
    recorded = json.loads(slack_payload(name))
    body = recorded.get("parsed", recorded)
    assert delivery_for(body).sender == sender


def test_an_edited_slack_message_names_its_author_inside() -> None:
    edited = {
        "type": "event_callback",
        "event_id": "Ev9",
        "event": {
            "type": "message",
            "subtype": "message_changed",
            "channel": "C1",
            "message": {"user": "U7", "text": "new", "ts": "1.1"},
        },
    }
    assert delivery_for(edited).sender == "U7"
