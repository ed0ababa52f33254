"""The starlette route of `facilitator serve` for Slack events, slash commands and interactions.

One URL for all three (the manifest points them all here). The request goes through bolt's
`async_dispatch`: bolt checks the signature and the timestamp (401 otherwise) and answers
url_verification; every other verified request is stored by `InboxGate` and acknowledged.
"""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000  # Slack's requests are far smaller; anything bigger is not Slack


def slack_routes(bolt: AsyncApp, path: str = EVENTS_PATH) -> list[BaseRoute]:
    async def endpoint(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return PlainTextResponse("too large", status_code=413)
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return PlainTextResponse("too large", status_code=413)
        try:
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"),
                query=request.url.query,
                headers=dict(request.headers),
            )
        except (UnicodeDecodeError, ValueError, AttributeError, TypeError) as error:
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
