"""The composition root: settings -> engine -> repositories -> services -> adapters."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from facilitator.commands import basic, community, knowledge
from facilitator.commands.spec import CommandRegistry, CommandSpec
from facilitator.core import CoreSettings, Facilitator, Reply, Services
from facilitator.domain.errors import DeliveryError
from facilitator.domain.model import Platform
from facilitator.i18n import Catalogue
from facilitator.inbox import Inbox
from facilitator.knowledge.auto_answer import AutoAnswer
from facilitator.knowledge.service import KnowledgeBase
from facilitator.ports import Clock, Decoder, Messenger, UnitOfWorkFactory
from facilitator.roles import RoleService
from facilitator.scheduling import IntervalJob
from facilitator.settings import Settings
from facilitator.storage.database import Storage

if TYPE_CHECKING:
    from facilitator.runtime import PlatformAdapter

log = logging.getLogger(__name__)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def command_specs() -> Sequence[CommandSpec]:
    return (*basic.COMMANDS, *community.COMMANDS, *knowledge.COMMANDS)


def build_registry() -> CommandRegistry:
    return CommandRegistry(command_specs())


def core_settings(settings: Settings) -> CoreSettings:
    return CoreSettings(
        admins=settings.admin_identities(),
        platform_admins_are_moderators=settings.platform_admins_are_moderators,
        default_language=settings.default_language,
        default_timezone=settings.default_timezone,
        default_community=settings.default_community,
    )


class ReplySender:
    """Routes each reply to its platform's messenger; a failed delivery is logged, not raised."""

    def __init__(self) -> None:
        self.messengers: dict[Platform, Messenger] = {}

    async def __call__(self, replies: Sequence[Reply]) -> None:
        for destination, message in replies:
            messenger = self.messengers.get(destination.platform)
            if messenger is None:
                log.error("no messenger for platform", extra={"platform": destination.platform})
                continue
            try:
                await messenger.send(destination, message)
            except DeliveryError as error:
                log.warning(
                    "reply not delivered",
                    extra={"platform": destination.platform.value, "error": type(error).__name__},
                )


@dataclass
class App:
    """Everything one process runs, wired once."""

    settings: Settings
    storage: Storage
    services: Services
    core: Facilitator
    inbox: Inbox
    roles: RoleService
    sender: ReplySender
    jobs: list[IntervalJob]

    @property
    def clock(self) -> Clock:
        return self.services.clock

    @property
    def uow_factory(self) -> UnitOfWorkFactory:
        return self.storage.uow_factory

    def attach(self, platform: Platform, messenger: Messenger, decoder: Decoder) -> None:
        self.sender.messengers[platform] = messenger
        self.inbox.register(platform, decoder)

    async def aclose(self) -> None:
        await self.storage.dispose()


def build_adapters(settings: Settings, app: App) -> list[PlatformAdapter]:
    """The platform adapters whose credentials are configured (imported only when used)."""
    adapters: list[PlatformAdapter] = []
    if settings.telegram_bot_token is not None:
        from adapters.telegram import build as build_telegram

        adapters.append(build_telegram(settings, app))
    if settings.slack_bot_token is not None:
        from adapters.slack import build as build_slack

        adapters.append(build_slack(settings, app))
    return adapters


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    catalogue: Catalogue | None = None,
    adapters: Mapping[Platform, tuple[Messenger, Decoder]] | None = None,
) -> App:
    clock = clock or SystemClock()
    storage = Storage(settings.database_url, settings.database_schema)
    uow_factory = storage.uow_factory
    services = Services(
        catalogue=catalogue or Catalogue.load(settings.prompts_dir),
        registry=build_registry(),
        clock=clock,
        settings=core_settings(settings),
    )
    knowledge.register(services, KnowledgeBase())
    core = Facilitator(services)
    sender = ReplySender()
    auto_answer = AutoAnswer(uow_factory, services, sender)
    app = App(
        settings=settings,
        storage=storage,
        services=services,
        core=core,
        inbox=Inbox(uow_factory, core, {}, sender, clock),
        roles=RoleService(uow_factory, clock),
        sender=sender,
        jobs=[IntervalJob("knowledge.auto_answer", 60, auto_answer.run)],
    )
    for platform, (messenger, decoder) in (adapters or {}).items():
        app.attach(platform, messenger, decoder)
    return app
