"""Builds the Slack adapter from settings: clients, bolt app, look-ups, decoder, messenger."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.adapter import SlackAdapter
from adapters.slack.decoder import SlackDecoder
from adapters.slack.directory import Directory
from adapters.slack.intake import InboxGate
from adapters.slack.messenger import SlackMessenger
from adapters.slack.response_urls import DEFAULT_PREFIXES, ResponseUrls
from adapters.slack.webapi import Monotonic, SlackWeb, Sleep, default_sleep, origin_of
from facilitator.settings import Settings

if TYPE_CHECKING:
    from adapters.slack.host import Host

BOLT_LOGGER = "adapters.slack.bolt"


class _SameTokenNotice(logging.Filter):
    """bolt warns that SLACK_BOT_TOKEN from the environment is unused because the client
    carries a token: it is the same token, so the warning would only alarm operators."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_adapter(
    settings: Settings,
    app: Host,
    *,
    monotonic: Monotonic | None = None,
    sleep: Sleep | None = None,
    response_url_prefixes: tuple[str, ...] | None = None,
) -> SlackAdapter:
    """The adapter for the configured bot token (and signing secret and/or app token)."""
    monotonic = monotonic or time.monotonic
    sleep = sleep or default_sleep
    if settings.slack_bot_token is None:
        raise ValueError("SLACK_BOT_TOKEN is not set")
    token = settings.slack_bot_token.get_secret_value()
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
    # bolt logs the whole body of a refused request at INFO; its loggers are held at WARNING.
    bolt_logger = logging.getLogger(BOLT_LOGGER)
    bolt_logger.setLevel(logging.WARNING)
    if not any(isinstance(f, _SameTokenNotice) for f in bolt_logger.filters):
        bolt_logger.addFilter(_SameTokenNotice())
    client = AsyncWebClient(token=token, base_url=settings.slack_api_base_url, logger=bolt_logger)
    web = SlackWeb(
        client,
        clock=monotonic,
        sleep=sleep,
        file_origins=frozenset(
            origin for given in settings.slack_file_origins if (origin := origin_of(given))
        ),
    )
    directory = Directory(web, monotonic)
    response_urls = ResponseUrls(monotonic, response_url_prefixes or DEFAULT_PREFIXES, bolt_logger)
    bolt = AsyncApp(
        client=client,
        signing_secret=secret or "",
        request_verification_enabled=secret is not None,
        process_before_response=True,
        before_authorize=InboxGate(app.inbox.accept),
        logger=bolt_logger,
    )
    return SlackAdapter(
        web=web,
        directory=directory,
        messenger=SlackMessenger(web, directory, response_urls, app.services.catalogue),
        decoder=SlackDecoder(directory, response_urls, web, app.clock),
        response_urls=response_urls,
        bolt=bolt,
        bolt_logger=bolt_logger,
        http_enabled=secret is not None,
        verifier=SignatureVerifier(secret) if secret is not None else None,
        app_token=app_token,
        socket_client=AsyncWebClient(base_url=settings.slack_api_base_url, logger=bolt_logger),
    )
