"""Inbound Slack requests are stored in the inbox, then acknowledged; nothing else happens here.

`InboxGate` is a bolt middleware placed where bolt runs `before_authorize`: after bolt's own
SSL check and request verification (signature and five-minute timestamp window, HTTP only), and
before bolt's authorization, which would call auth.test on the first request. It stores the
parsed body under a stable delivery id and answers 200 with an empty body, which is Slack's
acknowledgement for events, slash commands and interactions alike. If the database is out of
reach the answer is 503 (HTTP) or no acknowledgement (Socket Mode); any other failure to store
makes bolt answer 500. Either way Slack delivers again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from adapters.payloads import stored_json
from facilitator.domain.errors import StorageUnavailable
from facilitator.domain.model import Platform

log = logging.getLogger(__name__)

# `Inbox.accept`: platform, delivery id, payload, ordering key, sender.
Acceptor = Callable[[Platform, str, str, str, str | None], Awaitable[bool]]

# Messages (and app_mention, Slack's second notice of the same message) are stored under
# "<channel>:<ts>", so a message that both events announce is stored and handled once.
STORED_AS_MESSAGE = frozenset({None, "thread_broadcast", "file_share", "me_message"})
INTERACTIVE = frozenset(
    {
        "block_actions",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "block_suggestion",
        "interactive_message",
    }
)
PASS_THROUGH = frozenset({"url_verification", "ssl_check"})  # answered by bolt itself
MAX_ID = 128


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    ordering_key: str
    # The user id of who sent it: how /forgetme finds a member's stored requests.
    sender: str | None = None


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _bounded(value: str, digest: str) -> str:
    return value if len(value) <= MAX_ID else f"{value[:40]}:{digest}"


def delivery_for(body: Mapping[str, Any]) -> Delivery:
    """The inbox key of a request: Slack's retries of it get the same one."""
    digest = hashlib.sha256(
        json.dumps(body, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()[:32]
    kind = body.get("type")
    if kind == "event_callback":
        event = _dict(body.get("event"))
        item = _dict(event.get("item"))
        channel = _text(event, "channel") or _text(item, "channel")
        ts = _text(event, "ts")
        lane = (channel or _text(event, "user") or "events")[:MAX_ID]
        # An edited message names its author inside, as a deleted one does its original's.
        sender = (
            _text(event, "user")
            or _text(_dict(event.get("message")), "user")
            or _text(_dict(event.get("previous_message")), "user")
        )
        if (
            event.get("type") in ("message", "app_mention")
            and event.get("subtype") in STORED_AS_MESSAGE
            and channel
            and ts
        ):
            return Delivery(_bounded(f"{channel}:{ts}", digest), lane, sender)
        event_id = _text(body, "event_id")
        return Delivery(_bounded(event_id or f"event:{digest}", digest), lane, sender)
    if isinstance(body.get("command"), str):
        trigger = _text(body, "trigger_id")
        lane = _text(body, "channel_id") or _text(body, "user_id") or "commands"
        return Delivery(
            _bounded(f"command:{trigger or digest}", digest),
            lane[:MAX_ID],
            _text(body, "user_id"),
        )
    if kind in INTERACTIVE:
        trigger = _text(body, "trigger_id")
        user = _text(_dict(body.get("user")), "id")
        lane = _text(_dict(body.get("channel")), "id") or user or "interactions"
        return Delivery(_bounded(f"{kind}:{trigger or digest}", digest), lane[:MAX_ID], user)
    return Delivery(f"other:{digest}", "other")


def request_body(req: AsyncBoltRequest) -> dict[str, Any]:
    """The request's payload as a dict.

    Over HTTP the raw body is parsed here rather than trusting bolt's parse: bolt reads any
    form body that merely contains the word "payload" (a slash command's text, say) as an
    interactivity payload and loses it."""
    if req.mode == "socket_mode":
        return dict(req.body) if isinstance(req.body, dict) else {}
    raw = req.raw_body
    if not raw:
        return {}
    if (req.content_type or "").startswith("application/json") or raw.lstrip().startswith("{"):
        parsed = json.loads(raw)
        return parsed if isinstance(parsed, dict) else {}
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if set(form) == {"payload"} or ("payload" in form and "command" not in form):
        parsed = json.loads(form["payload"])
        return parsed if isinstance(parsed, dict) else {}
    return form


class InboxGate(AsyncMiddleware):
    """Stores every verified request in the inbox and acknowledges it; bolt's listeners never
    run (the inbox worker decodes and handles later)."""

    def __init__(self, accept: Acceptor) -> None:
        self._accept = accept

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        try:
            body = request_body(req)
        except ValueError:
            log.warning("slack request body unreadable")
            return BoltResponse(status=400, body="")
        if body.get("type") in PASS_THROUGH:
            return await next()
        if not body:
            return BoltResponse(status=400, body="")
        delivery = delivery_for(body)
        retry = req.headers.get("x-slack-retry-num", [None])[0]
        payload = stored_json(body)
        try:
            stored = await self._accept(
                Platform.SLACK,
                delivery.delivery_id,
                payload,
                delivery.ordering_key,
                delivery.sender,
            )
        except StorageUnavailable as error:
            # Slack delivers again (HTTP: any answer but 2xx; Socket Mode: no acknowledgement).
            log.warning(
                "slack request not stored: %s",
                error,
                extra={"delivery_id": delivery.delivery_id, "mode": req.mode},
            )
            return BoltResponse(status=503, body="", headers={"Retry-After": "5"})
        log.debug(
            "slack request stored" if stored else "slack request seen before",
            extra={"delivery_id": delivery.delivery_id, "retry": retry, "mode": req.mode},
        )
        return BoltResponse(status=200, body="")
