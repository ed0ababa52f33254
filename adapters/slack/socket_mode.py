"""`facilitator run` for Slack: Socket Mode (bolt's AsyncSocketModeHandler over aiohttp)."""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


class SocketModeReceiver:
    """Keeps one Socket Mode connection open until stopped or cancelled.

    Each envelope goes through the same bolt app as HTTP requests (without the signature check,
    which Socket Mode does not use): `InboxGate` stores it, and the acknowledgement carrying its
    envelope_id is sent only after that. The SDK reconnects by itself when Slack asks."""

    def __init__(
        self, bolt: AsyncApp, app_token: str, web_client: AsyncWebClient, logger: logging.Logger
    ) -> None:
        self._bolt = bolt
        self._app_token = app_token
        self._web_client = web_client
        self._logger = logger
        self._stopped = asyncio.Event()
        self.connected = False

    async def run(self) -> None:
        handler = AsyncSocketModeHandler(
            self._bolt, self._app_token, logger=self._logger, web_client=self._web_client
        )
        try:
            # connect_async, not start_async: start_async prints a banner to stdout.
            await handler.connect_async()  # type: ignore[no-untyped-call]
            self.connected = True
            log.info("slack socket mode connected")
            await self._stopped.wait()
        finally:
            self.connected = False
            await handler.close_async()  # type: ignore[no-untyped-call]
            log.info("slack socket mode closed")

    def stop(self) -> None:
        self._stopped.set()
