"""The webhook route of `facilitator serve`: check the secret, store the update, then say 200."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence

from pydantic import SecretStr
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from adapters.http_body import read_body, too_deep
from adapters.telegram.envelope import Envelope, envelope
from facilitator.domain.errors import StorageUnavailable

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_BODY = 1024 * 1024  # Telegram's updates are a few kilobytes
RETRY_AFTER = {"Retry-After": "5"}

Store = Callable[[str, Envelope], Awaitable[bool]]
Acknowledge = Callable[[Sequence[Envelope]], Awaitable[None]]


def webhook_route(
    path: str, secret: SecretStr | None, store: Store, acknowledge: Acknowledge
) -> Route:
    """A POST route that answers 200 only once the raw update is stored in the inbox.

    Anything else makes Telegram deliver the update again later, which is harmless: the
    inbox stores a delivery once; while the database is out of reach the answer is 503.
    Without a configured secret every request is refused."""
    expected = secret.get_secret_value().encode() if secret is not None else None
    if expected is None:
        log.error("no TELEGRAM_WEBHOOK_SECRET: the Telegram webhook refuses every request")

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if expected is None or not hmac.compare_digest(given, expected):
            log.warning("telegram webhook refused: wrong or missing secret")
            return PlainTextResponse("forbidden", status_code=403)
        body = await read_body(request, MAX_BODY)
        if body is None:
            return PlainTextResponse("too large", status_code=413)
        try:
            raw = body.decode("utf-8")
            if too_deep(raw):
                log.warning("telegram update nested too deeply refused")
                return PlainTextResponse("too deep", status_code=400)
            update = json.loads(raw)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            log.info("telegram webhook body is not JSON")
            return PlainTextResponse("not JSON", status_code=400)
        if not isinstance(update, dict):
            return PlainTextResponse("not an update", status_code=400)
        stored = envelope(update, raw)
        try:
            await store(raw, stored)
        except StorageUnavailable as error:
            # Telegram delivers the update again later; one line each, the outage is known.
            log.warning(
                "telegram update not stored: %s",
                error,
                extra={"delivery_id": stored.delivery_id},
            )
            return PlainTextResponse("unavailable", status_code=503, headers=RETRY_AFTER)
        background = None
        if stored.callback_query_id is not None:
            # After the response: the update is stored, so the spinner may stop.
            background = BackgroundTask(acknowledge, [stored])
        return Response(status_code=200, background=background)

    return Route(path, receive, methods=["POST"], name="telegram_webhook")
