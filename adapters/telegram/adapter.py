"""The Telegram adapter: one PTB `Bot`, its decoder and messenger, polling and the webhook."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from starlette.routing import BaseRoute
from telegram import Bot
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from adapters.telegram.commands_menu import command_menus, publish_commands
from adapters.telegram.decoder import AdminDirectory, BotIdentity, ChatMembers, TelegramDecoder
from adapters.telegram.envelope import Envelope
from adapters.telegram.files import TelegramFiles
from adapters.telegram.limiter import FloodLimiter, Sleep
from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.polling import Poller
from adapters.telegram.webhook import webhook_route
from facilitator.commands.spec import CommandRegistry
from facilitator.domain.model import Platform
from facilitator.i18n import Catalogue
from facilitator.ports import Clock, Decoder, FileFetcher, MembershipCheck, Messenger
from facilitator.settings import Settings

log = logging.getLogger(__name__)

# `Inbox.accept`: platform, delivery id, payload, ordering key, sender.
Accept = Callable[[Platform, str, str, str, str | None], Awaitable[bool]]


class AcceptMany(Protocol):
    """`Inbox.accept_many`: store a polled batch and, with `handle`, handle it at once."""

    def __call__(
        self,
        platform: Platform,
        deliveries: Sequence[tuple[str, str, str, str | None]],
        *,
        handle: bool,
    ) -> Awaitable[int]: ...


def base_file_url(settings: Settings) -> str:
    if settings.telegram_api_base_file_url:
        return settings.telegram_api_base_file_url
    base = settings.telegram_api_base_url
    return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base


def quiet_token_loggers() -> None:
    """PTB logs its base URL at DEBUG, httpx every request URL at INFO: both carry the token."""
    quiet = (("telegram", logging.INFO), ("httpx", logging.WARNING), ("httpcore", logging.WARNING))
    for name, level in quiet:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < level:
            logger.setLevel(level)


def make_bot(settings: Settings) -> tuple[Bot, HTTPXRequest]:
    """A PTB Bot and the request object of its long polls (one connection: one poll a time)."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    quiet_token_loggers()
    poll_request = HTTPXRequest(connection_pool_size=1, connect_timeout=10.0)
    bot = Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        base_file_url=base_file_url(settings),
        request=HTTPXRequest(
            connection_pool_size=32,
            connect_timeout=10.0,
            read_timeout=20.0,
            write_timeout=20.0,
            pool_timeout=10.0,
        ),
        get_updates_request=poll_request,
    )
    return bot, poll_request


class TelegramAdapter:
    """What the runtime runs for Telegram: `receive` polls (`run`), `routes` serve webhooks."""

    platform = Platform.TELEGRAM

    def __init__(
        self,
        settings: Settings,
        accept: Accept,
        registry: CommandRegistry,
        catalogue: Catalogue,
        clock: Clock,
        *,
        bot: Bot | None = None,
        poll_request: HTTPXRequest | None = None,
        limiter: FloodLimiter | None = None,
        sleep: Sleep = asyncio.sleep,
        accept_many: AcceptMany,
    ) -> None:
        if bot is None or poll_request is None:
            bot, poll_request = make_bot(settings)
        self.settings = settings
        self.bot = bot
        self._accept = accept
        self._accept_many = accept_many
        self._registry = registry
        self._catalogue = catalogue
        self.identity = BotIdentity(bot)
        self.admins = AdminDirectory(bot)
        self.decoder: Decoder = TelegramDecoder(bot, self.identity, self.admins, clock)
        self.files: FileFetcher | None = TelegramFiles(bot)
        self.members: MembershipCheck | None = ChatMembers(bot)
        self.limiter = limiter or FloodLimiter(sleep=sleep)
        self.messenger: Messenger = TelegramMessenger(bot, self.limiter, sleep=sleep)
        self.poller = Poller(
            bot,
            poll_request,
            self.store_batch,
            self.acknowledge,
            timeout=settings.telegram_poll_timeout,
            sleep=sleep,
        )
        self._started = False

    async def store(self, raw: str, envelope: Envelope) -> bool:
        """One update, as a webhook receives it."""
        return await self._accept(
            Platform.TELEGRAM, envelope.delivery_id, raw, envelope.ordering_key, envelope.sender
        )

    async def store_batch(self, batch: Sequence[tuple[str, Envelope]]) -> int:
        """A polled batch, stored in one transaction before Telegram is told it arrived, then
        handled at once (leased to this process as it is stored: no claim needed)."""
        deliveries = [(e.delivery_id, raw, e.ordering_key, e.sender) for raw, e in batch]
        return await self._accept_many(Platform.TELEGRAM, deliveries, handle=True)

    async def acknowledge(self, envelopes: Sequence[Envelope]) -> None:
        """Answer every stored button press at once, so its spinner stops; the core's reply,
        if any, comes as a message."""
        queries = [e.callback_query_id for e in envelopes if e.callback_query_id is not None]
        results = await asyncio.gather(
            *(self.bot.answer_callback_query(query) for query in queries), return_exceptions=True
        )
        for result in results:
            # Best effort: the press is stored either way, and Telegram stops the spinner itself
            # after a while.
            if isinstance(result, TelegramError):
                log.info("callback query not answered", extra={"error": result.message[:200]})
            elif isinstance(result, Exception):
                log.warning("callback query not answered", extra={"error": type(result).__name__})
            elif isinstance(result, BaseException):
                raise result

    def routes(self) -> Sequence[BaseRoute]:
        return [
            webhook_route(
                self.settings.telegram_webhook_path,
                self.settings.telegram_webhook_secret,
                self.store,
                self.acknowledge,
            )
        ]

    async def start(self) -> None:
        await self.bot.initialize()  # getMe: a wrong token fails here, at start-up
        self.identity.remember(self.bot.bot)
        log.info("telegram bot connected", extra={"username": self.bot.username})
        if self.settings.telegram_publish_commands_on_start:
            await self.publish_commands()
        self._started = True

    async def publish_commands(self) -> None:
        menus = command_menus(self._registry, self._catalogue, self.settings.default_language)
        try:
            await publish_commands(self.bot, menus)
        except TelegramError as error:  # the menu is a convenience: never fatal
            log.warning("command menus not published", extra={"error": error.message[:200]})

    async def receive(self) -> None:
        await self.poller.run()

    def ready(self) -> bool:
        return self._started and self.poller.healthy

    def waits(self) -> dict[str, float]:
        return self.limiter.holds()

    async def stop(self) -> None:
        self._started = False
        await self.bot.shutdown()
