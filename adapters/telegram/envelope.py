"""What is read from a raw update before it is stored: its delivery id, its ordering key and
its sender."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The update kinds the bot uses; `allowed_updates` of getUpdates and setWebhook.
ALLOWED_UPDATES = (
    "message",
    "edited_message",
    "callback_query",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "message_reaction",
)
_MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")


@dataclass(frozen=True)
class Envelope:
    """How one raw update is stored in the inbox, whatever PTB later makes of it."""

    delivery_id: str
    ordering_key: str
    callback_query_id: str | None = None
    # The user id of who sent it (whom a chat_member update is about): how /forgetme finds
    # the raw updates of a member.
    sender: str | None = None


def envelope(update: object, raw: str) -> Envelope:
    """Read the few fields the inbox needs; never fails, even on malformed input."""
    if not isinstance(update, Mapping):
        return Envelope(_digest(raw), "unknown")
    update_id = update.get("update_id")
    delivery_id = (
        str(update_id)
        if isinstance(update_id, int) and not isinstance(update_id, bool)
        else _digest(raw)
    )
    return Envelope(
        delivery_id, _ordering_key(update), _callback_query_id(update), _sender(update)
    )


def _digest(raw: str) -> str:
    # An update without an id cannot be told from a redelivery except by its content.
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _ordering_key(update: Mapping[str, Any]) -> str:
    """The chat the update belongs to: updates of one chat are processed in order."""
    for kind in _MESSAGE_KINDS:
        message = update.get(kind)
        if isinstance(message, Mapping):
            # A migration is ordered with the new supergroup's messages, which follow it.
            moved_to = message.get("migrate_to_chat_id")
            if isinstance(moved_to, int):
                return str(moved_to)
            return _chat_id(message) or "unknown"
    for value in update.values():
        if not isinstance(value, Mapping):
            continue
        chat_id = _chat_id(value)
        if chat_id is None and isinstance(value.get("message"), Mapping):
            chat_id = _chat_id(value["message"])
        if chat_id is None:
            # Poll answers have no chat: they are ordered with the voter's private chat.
            for who in ("user", "from"):
                person = value.get(who)
                if isinstance(person, Mapping) and person.get("id") is not None:
                    chat_id = str(person["id"])
                    break
        if chat_id is not None:
            return chat_id
    return "unknown"


def _chat_id(value: Mapping[str, Any]) -> str | None:
    chat = value.get("chat")
    if isinstance(chat, Mapping) and chat.get("id") is not None:
        return str(chat["id"])
    return None


def _callback_query_id(update: Mapping[str, Any]) -> str | None:
    query = update.get("callback_query")
    if isinstance(query, Mapping) and isinstance(query.get("id"), str) and query["id"]:
        return str(query["id"])
    return None


def _sender(update: Mapping[str, Any]) -> str | None:
    """`from` of the update's message, button press or membership change (the member a
    chat_member update is about, when it names one), `user` of a poll answer or reaction."""
    for kind, value in update.items():
        if not isinstance(value, Mapping):
            continue
        about = value.get("new_chat_member") if kind == "chat_member" else None
        candidates = (about.get("user"),) if isinstance(about, Mapping) else ()
        for person in (*candidates, value.get("from"), value.get("user")):
            if isinstance(person, Mapping):
                user_id = person.get("id")
                if isinstance(user_id, int) and not isinstance(user_id, bool):
                    return str(user_id)
    return None
