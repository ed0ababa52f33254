"""The starlette route of `facilitator serve` for Slack events, slash commands and interactions.

One URL for all three (the manifest points them all here). The signature and the timestamp
are checked first, before the body is parsed (401 otherwise), and a body nested deeper than
any Slack payload is refused (400). The request then goes through bolt's `async_dispatch`,
which checks them again and answers url_verification; every other verified request is
stored by `InboxGate` and acknowledged.
"""

from __future__ import annotations

import logging
import re

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.http_body import read_body, too_deep

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000  # Slack's requests are far smaller; anything bigger is not Slack
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def slack_routes(
    bolt: AsyncApp, path: str = EVENTS_PATH, verifier: SignatureVerifier | None = None
) -> list[BaseRoute]:
    """`verifier` checks the signature before the body is parsed at all (bolt parses it
    first, then verifies)."""

    async def endpoint(request: Request) -> Response:
        stamp = request.headers.get("x-slack-request-timestamp")
        if stamp is not None and not _TIMESTAMP.fullmatch(stamp):
            # bolt would fail on it (a 500); Slack sends seconds since the epoch.
            log.warning("slack request with a malformed timestamp refused")
            return PlainTextResponse("unauthorized", status_code=401)
        raw = await read_body(request, MAX_BODY_BYTES)
        if raw is None:
            return PlainTextResponse("too large", status_code=413)
        signature = request.headers.get("x-slack-signature")
        if verifier is not None and (
            stamp is None
            or signature is None
            or not verifier.is_valid(body=raw, timestamp=stamp, signature=signature)
        ):
            log.warning("slack request with a bad signature or stale timestamp refused")
            return PlainTextResponse("unauthorized", status_code=401)
        try:
            if too_deep(raw.decode("utf-8")):
                log.warning("slack request nested too deeply refused")
                return PlainTextResponse("too deep", status_code=400)
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"),
                query=request.url.query,
                headers=dict(request.headers),
            )
        except (
            UnicodeDecodeError,
            ValueError,
            AttributeError,
            TypeError,
            RecursionError,
        ) as error:
            log.info("malformed slack request", extra={"error": type(error).__name__})
            return PlainTextResponse("malformed", status_code=400)
        answer = await bolt.async_dispatch(bolt_request)
        if answer.status == 401:
            log.warning("slack request with a bad signature or stale timestamp refused")
        return Response(
            content=answer.body,
            status_code=answer.status,
            headers=answer.first_headers_without_set_cookie(),
        )

    return [Route(path, endpoint, methods=["POST"])]
