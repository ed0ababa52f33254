"""Long polling that loses nothing: the offset moves past a batch only once it is stored."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlencode

from telegram import Bot
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.request import BaseRequest
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

from adapters.payloads import stored_json
from adapters.telegram.envelope import ALLOWED_UPDATES, Envelope, envelope
from adapters.telegram.limiter import Sleep
from adapters.telegram.messenger import retry_seconds

log = logging.getLogger(__name__)

Store = Callable[[Sequence[tuple[str, Envelope]]], Awaitable[int]]
Acknowledge = Callable[[Sequence[Envelope]], Awaitable[None]]
MAX_BACKOFF = 30.0


class Poller:
    """One long poll at a time: fetch raw updates, store them as they are, then confirm them.

    PTB's Updater confirms a batch as soon as it is fetched, and `Bot.get_updates` parses a
    whole batch at once and fails on its first unparseable update; so the raw list is fetched
    here, every update is stored in the inbox unparsed, and the decoder parses each alone."""

    def __init__(
        self,
        bot: Bot,
        request: BaseRequest,
        store: Store,
        acknowledge: Acknowledge,
        *,
        timeout: int = 25,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._bot = bot
        self._request = request
        self._store = store
        self._acknowledge = acknowledge
        self._timeout = timeout
        self._sleep = sleep
        self.offset: int | None = None
        self.healthy = True
        self.stored = 0

    async def fetch(self) -> list[object]:
        # The parameters go in the query string, which the Bot API accepts for every method,
        # so that PTB's public BaseRequest.post is all this needs: Bot.do_api_request would
        # parse nothing, but it warns (PTBUserWarning) for any method Bot has, getUpdates
        # included, and a RequestData body is built from PTB's private RequestParameter.
        query: dict[str, object] = {
            "timeout": self._timeout,
            "limit": 100,
            "allowed_updates": json.dumps(list(ALLOWED_UPDATES)),
        }
        if self.offset is not None:
            query["offset"] = self.offset
        result = await self._request.post(
            f"{self._bot.base_url}/getUpdates?{urlencode(query)}",
            read_timeout=self._timeout + 10.0,
        )
        return list(result) if isinstance(result, list) else []

    async def poll_once(self) -> int:
        """Fetch one batch, store all of it, answer its button presses; returns its size.

        The next fetch sends the new offset, which is what confirms the batch to Telegram: a
        crash before that gets the same batch again, and the inbox stores each update once."""
        updates = await self.fetch()
        batch: list[tuple[str, Envelope]] = []
        highest: int | None = None
        for update in updates:
            raw = stored_json(update)
            stored = envelope(update, raw)
            batch.append((raw, stored))
            if stored.delivery_id.isascii() and stored.delivery_id.isdigit():
                update_id = int(stored.delivery_id)
                highest = update_id if highest is None else max(highest, update_id)
        if batch:
            await self._store(batch)  # one transaction for the whole batch
        envelopes = [stored for _, stored in batch]
        self.stored += len(updates)
        if highest is not None:
            self.offset = highest + 1
        if envelopes:
            await self._acknowledge(envelopes)
        return len(updates)

    async def run(self) -> None:
        """Poll for ever; each batch stored starts the backoff anew."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(_worth_polling_again),
            wait=_poll_wait,
            sleep=self._sleep,
            before_sleep=self._failed,
            reraise=True,
        )
        while True:
            try:
                await retrying(self.poll_once)
            except InvalidToken:
                log.error("telegram refused the bot token")
                self.healthy = False
                raise
            self.healthy = True

    def _failed(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, RetryAfter):
            log.warning(
                "telegram asked to slow down polling", extra={"retry_after": retry_seconds(error)}
            )
            return
        if isinstance(error, Conflict):
            # Another process polls with this token, or a webhook is set (then use `serve`,
            # or `facilitator telegram delete-webhook` to poll instead).
            log.error("getUpdates conflict", extra={"error": error.message[:200]})
        elif isinstance(error, TelegramError):
            log.warning("polling failed", extra={"error": type(error).__name__})
        else:  # storing failed (database down): the offset did not move
            log.error("storing polled updates failed", exc_info=error)
        self.healthy = False


_BACKOFF = wait_exponential(multiplier=1, max=MAX_BACKOFF)  # 1, 2, 4 … 30 s


def _worth_polling_again(error: BaseException) -> bool:
    """Every failure but a refused token; cancellation is not a failure."""
    return isinstance(error, Exception) and not isinstance(error, InvalidToken)


def _poll_wait(state: RetryCallState) -> float:
    """Telegram's RetryAfter as asked, else the backoff."""
    error = state.outcome.exception() if state.outcome is not None else None
    if isinstance(error, RetryAfter):
        return retry_seconds(error)
    return _BACKOFF(state)
