"""Neutral messages and destinations as JSON, so that the outbox can store them durably."""

from __future__ import annotations

import base64
from typing import Any

from facilitator.domain.model import Platform
from facilitator.markup import (
    Attachment,
    Block,
    Button,
    Destination,
    NativePoll,
    OutboundMessage,
    RichText,
    Span,
    Style,
)

FORMAT = 1


def _span(span: Span) -> list[Any]:
    return [span.text, span.style.value, span.url, span.user_id]


def _body(body: RichText) -> list[dict[str, Any]]:
    return [{"bullet": b.bullet, "spans": [_span(s) for s in b.spans]} for b in body.blocks]


def _rich(data: list[dict[str, Any]]) -> RichText:
    return RichText(
        tuple(
            Block(
                tuple(Span(t, Style(style), url, user) for t, style, url, user in b["spans"]),
                bullet=bool(b["bullet"]),
            )
            for b in data
        )
    )


def encode_message(message: OutboundMessage) -> dict[str, Any]:
    data: dict[str, Any] = {
        "v": FORMAT,
        "body": _body(message.body),
        "buttons": [
            [[b.label, b.action, b.value, *([b.url] if b.url else [])] for b in row]
            for row in message.buttons
        ],
        "ephemeral": message.ephemeral,
    }
    if not message.preview:
        data["preview"] = False
    if message.attachment is not None:
        attachment = message.attachment
        data["attachment"] = {
            "filename": attachment.filename,
            "mime_type": attachment.mime_type,
            "content": base64.b64encode(attachment.content).decode("ascii"),
            "caption": _body(attachment.caption) if attachment.caption else None,
        }
    if message.pin:
        data["pin"] = True
    if message.poll is not None:
        poll = message.poll
        data["poll"] = {
            "question": poll.question,
            "options": list(poll.options),
            "multiple": poll.multiple,
            "anonymous": poll.anonymous,
        }
    return data


def decode_message(data: dict[str, Any]) -> OutboundMessage:
    if data.get("v") != FORMAT:
        raise ValueError(f"unknown stored message format {data.get('v')!r}")
    attachment = None
    if data.get("attachment"):
        stored = data["attachment"]
        attachment = Attachment(
            filename=stored["filename"],
            content=base64.b64decode(stored["content"]),
            mime_type=stored["mime_type"],
            caption=_rich(stored["caption"]) if stored.get("caption") else None,
        )
    poll = None
    if data.get("poll"):
        stored_poll = data["poll"]
        poll = NativePoll(
            question=stored_poll["question"],
            options=tuple(stored_poll["options"]),
            multiple=bool(stored_poll["multiple"]),
            anonymous=bool(stored_poll["anonymous"]),
        )
    return OutboundMessage(
        body=_rich(data["body"]),
        buttons=tuple(tuple(Button(*b) for b in row) for row in data.get("buttons", [])),
        ephemeral=bool(data.get("ephemeral")),
        attachment=attachment,
        poll=poll,
        pin=bool(data.get("pin")),
        preview=bool(data.get("preview", True)),
    )


def encode_destination(destination: Destination) -> dict[str, Any]:
    return {
        "platform": destination.platform.value,
        "chat_id": destination.chat_id,
        "thread_id": destination.thread_id,
        "reply_to_message_id": destination.reply_to_message_id,
        "user_id": destination.user_id,
        "is_direct": destination.is_direct,
    }


def decode_destination(data: dict[str, Any]) -> Destination:
    return Destination(
        platform=Platform(data["platform"]),
        chat_id=str(data["chat_id"]),
        thread_id=data.get("thread_id"),
        reply_to_message_id=data.get("reply_to_message_id"),
        user_id=data.get("user_id"),
        is_direct=bool(data.get("is_direct")),
    )
