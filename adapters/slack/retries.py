"""slack_sdk's retry handlers, waiting in line only briefly and with the adapter's sleep."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

# Longer waits are not slept in line: the call fails with the core's RetryLater, and the outbox
# tries again when Slack allows, so that no other conversation waits behind this one.
MAX_INLINE_WAIT = 5.0
DEFAULT_WAIT = 1.0  # a 429 or 5xx without Retry-After


def retry_after(headers: Mapping[str, Any] | None, default: float = DEFAULT_WAIT) -> float:
    """Seconds from a Retry-After header (a value or a list of values, any case)."""
    for name, value in (headers or {}).items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return default
    return default


class _BriefWait(AsyncRetryHandler):
    """Retries only when the wait fits in `max_wait`, and sleeps with the injected `sleep`.

    The cap is a refusal to retry, not an exception raised from here: a handler that declines
    makes the SDK return Slack's answer as it is, which the SDK raises as SlackApiError and
    `SlackWeb` maps to RetryLater with Slack's Retry-After, the same path as attempts run out.
    An exception raised from `prepare_for_next_attempt_async` would leave through the SDK's
    `async with session.request(...)` into its own `except Exception` branch, which offers it
    to every handler once more (with the 429 still attached) before re-raising it; and the
    SDK's handlers sleep with `asyncio.sleep` plus random jitter, which tests cannot observe."""

    def __init__(self, sleep: Sleep, *, max_retry_count: int, max_wait: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep
        self._max_wait = max_wait

    def wait_for(self, state: RetryState, response: HttpResponse | None) -> float:
        return retry_after(response.headers if response is not None else None)

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        retryable = await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )
        return retryable and self.wait_for(state, response) <= self._max_wait

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = self.wait_for(state, response)
        log.info(
            "slack asked to slow down",
            extra={
                "method": request.url.rsplit("/", 1)[-1],
                "status": response.status_code if response is not None else None,
                "retry_after": wait,
                "attempt": state.current_attempt + 1,
            },
        )
        state.next_attempt_requested = True
        await self._sleep(wait)
        state.increment_current_attempt()


class RateLimitWait(_BriefWait, AsyncRateLimitErrorRetryHandler):
    """429: wait Slack's Retry-After, when it is short."""


class ServerErrorWait(_BriefWait, AsyncServerErrorRetryHandler):
    """Any 5xx (the SDK's own handler takes only 500 and 503): wait Retry-After or a second."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return (
            response is not None
            and response.status_code >= 500
            and self.wait_for(state, response) <= self._max_wait
        )


class ConnectionErrorWait(_BriefWait, AsyncConnectionErrorRetryHandler):
    """A dropped or refused connection (the SDK's default handler): once, after its backoff."""

    def wait_for(self, state: RetryState, response: HttpResponse | None) -> float:
        return self.interval_calculator.calculate_sleep_duration(state.current_attempt)


def retry_handlers(
    sleep: Sleep, *, attempts: int, max_wait: float = MAX_INLINE_WAIT
) -> list[AsyncRetryHandler]:
    """The handlers for the bot's AsyncWebClient: `attempts` calls at most for 429 and 5xx."""
    retries = max(0, attempts - 1)
    return [
        ConnectionErrorWait(sleep, max_retry_count=1, max_wait=max_wait),
        RateLimitWait(sleep, max_retry_count=retries, max_wait=max_wait),
        ServerErrorWait(sleep, max_retry_count=retries, max_wait=max_wait),
    ]
