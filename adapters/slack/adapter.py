"""The Slack adapter as the runtime sees it: routes for `serve`, Socket Mode for `run`."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.routing import BaseRoute

from adapters.slack.decoder import SlackDecoder
from adapters.slack.directory import ChannelMembers, Directory
from adapters.slack.files import SlackFiles
from adapters.slack.http import slack_routes
from adapters.slack.messenger import SlackMessenger
from adapters.slack.response_urls import ResponseUrls
from adapters.slack.socket_mode import SocketModeReceiver
from adapters.slack.webapi import SlackWeb
from facilitator.domain.errors import DeliveryError
from facilitator.domain.model import Platform
from facilitator.ports import Decoder, FileFetcher, MembershipCheck, Messenger

log = logging.getLogger(__name__)


class SlackStartError(RuntimeError):
    """Slack refuses the bot token: nothing can work until it is replaced."""


class SlackAdapter:
    platform = Platform.SLACK
    messenger: Messenger
    decoder: Decoder
    files: FileFetcher | None
    members: MembershipCheck | None

    def __init__(
        self,
        *,
        web: SlackWeb,
        directory: Directory,
        messenger: SlackMessenger,
        decoder: SlackDecoder,
        response_urls: ResponseUrls,
        bolt: AsyncApp,
        bolt_logger: logging.Logger,
        http_enabled: bool,
        app_token: str | None,
        socket_client: AsyncWebClient,
        verifier: SignatureVerifier | None = None,
    ) -> None:
        self.web = web
        self.directory = directory
        self.messenger = self.slack_messenger = messenger
        self.decoder = self.slack_decoder = decoder
        self.files = SlackFiles(web)
        self.members = ChannelMembers(web)
        self.response_urls = response_urls
        self.bolt = bolt
        self._bolt_logger = bolt_logger
        self._http_enabled = http_enabled
        self._app_token = app_token
        self._socket_client = socket_client
        self._verifier = verifier
        self._receiver: SocketModeReceiver | None = None

    def routes(self) -> Sequence[BaseRoute]:
        if not self._http_enabled:
            log.warning("no SLACK_SIGNING_SECRET: the Slack HTTP route is not served")
            return []
        return slack_routes(self.bolt, verifier=self._verifier)

    async def start(self) -> None:
        try:
            identity = await self.directory.identity()
        except DeliveryError as error:
            if self.web.suspended is not None:
                raise SlackStartError(
                    f"Slack refused SLACK_BOT_TOKEN ({self.web.suspended}); "
                    "check the token of the installed app"
                ) from None
            # Slack unreachable right now: events are still stored; look-ups retry later.
            log.warning("slack not reachable at start-up", extra={"error": str(error)})
            return
        log.info("slack adapter started", extra={"bot_user_id": identity.user_id})

    async def receive(self) -> None:
        if self._app_token is None:
            log.error(
                "Slack needs SLACK_APP_TOKEN for `facilitator run` (Socket Mode); "
                "with SLACK_SIGNING_SECRET use `facilitator serve` instead"
            )
            return
        self._receiver = SocketModeReceiver(
            self.bolt, self._app_token, self._socket_client, self._bolt_logger
        )
        await self._receiver.run()

    def ready(self) -> bool:
        return self.directory.known_identity is not None and self.web.suspended is None

    def waits(self) -> dict[str, float]:
        # Slack's limits are per method and workspace; a long Retry-After fails the call with
        # RetryLater at once (`retries.MAX_INLINE_WAIT`), so no conversation is left waiting.
        return {}

    async def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.stop()
