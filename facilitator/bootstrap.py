"""The composition root: settings -> engine -> repositories -> services -> adapters."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from facilitator.commands.spec import CommandRegistry, CommandSpec
from facilitator.context import CoreSettings, Reply, Services
from facilitator.core import Facilitator
from facilitator.delivery.dispatcher import Dispatcher
from facilitator.domain.errors import DeliveryError, RetryLater
from facilitator.domain.model import Platform
from facilitator.features.community import basics as basic
from facilitator.features.community import commands as community
from facilitator.features.home import commands as home
from facilitator.features.knowledge import commands as knowledge
from facilitator.features.knowledge.auto_answer import AutoAnswer
from facilitator.features.knowledge.service import KnowledgeBase
from facilitator.features.nudges.service import Nudges
from facilitator.features.outbox import commands as outbox_commands
from facilitator.features.participation import commands as participation
from facilitator.features.participation.config import load_config
from facilitator.features.participation.retention import Retention
from facilitator.features.participation.rollup import ScoreRollup
from facilitator.features.participation.service import Participation
from facilitator.features.participation.weekly import WeeklyDigest
from facilitator.features.polls import commands as polls
from facilitator.features.polls.service import Polls
from facilitator.features.privacy import commands as privacy
from facilitator.features.profiles import commands as facilitation
from facilitator.features.webinars import commands as webinars
from facilitator.features.webinars.service import Webinars
from facilitator.i18n import Catalogue
from facilitator.inbox import Inbox
from facilitator.ports import (
    Clock,
    Decoder,
    Messenger,
    Metrics,
    NoMetrics,
    PlatformAdapter,
    UnitOfWorkFactory,
)
from facilitator.roles import RoleService
from facilitator.scheduling import CronSource, IntervalJob
from facilitator.settings import Settings
from facilitator.storage.database import Storage

log = logging.getLogger(__name__)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def command_specs() -> Sequence[CommandSpec]:
    return (
        *basic.COMMANDS,
        *community.COMMANDS,
        *knowledge.COMMANDS,
        *participation.COMMANDS,
        *privacy.COMMANDS,
        *outbox_commands.COMMANDS,
        *facilitation.COMMANDS,
        *polls.COMMANDS,
        *webinars.COMMANDS,
        *home.COMMANDS,
    )


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

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.messengers: dict[Platform, Messenger] = {}
        self._metrics = metrics or NoMetrics()

    async def __call__(self, replies: Sequence[Reply]) -> None:
        for destination, message in replies:
            platform = destination.platform
            messenger = self.messengers.get(platform)
            if messenger is None:
                log.error("no messenger for platform", extra={"platform": platform})
                self._metrics.reply(platform, "failed")
                continue
            try:
                await messenger.send(destination, message)
            except DeliveryError as error:
                limited = isinstance(error, RetryLater)
                if limited:
                    self._metrics.rate_limited(platform)
                self._metrics.reply(platform, "rate_limited" if limited else "failed")
                log.warning(
                    "reply not delivered",
                    extra={"platform": platform.value, "error": type(error).__name__},
                )
            else:
                self._metrics.reply(platform, "sent")


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
    # Proactive messages: every process runs one; the database makes each send happen once.
    dispatcher: Dispatcher
    # Jobs per community (a daily scan in its time zone), refreshed from the database.
    schedules: list[CronSource]
    # What the core reports for monitoring (`/metrics` of `serve`); NoMetrics elsewhere.
    metrics: Metrics

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
    metrics: Metrics | None = None,
) -> App:
    clock = clock or SystemClock()
    metrics = metrics or NoMetrics()
    storage = Storage(
        settings.database_url,
        settings.database_schema,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    uow_factory = storage.uow_factory
    services = Services(
        catalogue=catalogue or Catalogue.load(settings.prompts_dir),
        registry=build_registry(),
        clock=clock,
        settings=core_settings(settings),
        metrics=metrics,
    )
    knowledge.register(services, KnowledgeBase())
    nudges = Nudges(uow_factory, services)
    facilitation.register(services, nudges)
    scoring = Participation(
        load_config(settings.participation_config), settings.admin_identities()
    )
    participation.register(services, scoring)
    weekly = WeeklyDigest(
        uow_factory,
        scoring,
        services.catalogue,
        settings.admin_identities(),
        settings.default_timezone,
    )
    privacy.register(services)
    home.register(services)
    retention = Retention(uow_factory, settings.retention_days, settings.retention_text_days)
    core = Facilitator(services)
    sender = ReplySender(metrics)
    auto_answer = AutoAnswer(uow_factory, services, sender)
    app = App(
        settings=settings,
        storage=storage,
        services=services,
        core=core,
        inbox=Inbox(uow_factory, core, {}, sender, clock),
        roles=RoleService(uow_factory, clock),
        sender=sender,
        jobs=[
            IntervalJob("knowledge.auto_answer", 60, auto_answer.run),
            IntervalJob("retention.purge", 6 * 3600, retention.run),
            IntervalJob("summaries.weekly", 300, weekly.run),
            IntervalJob("scores.rollup", 600, ScoreRollup(uow_factory, scoring.config_for).run),
            IntervalJob("nudges:unanswered", 900, nudges.check_unanswered),
        ],
        dispatcher=Dispatcher(
            uow_factory, sender.messengers, services.catalogue, clock, metrics=metrics
        ),
        schedules=[nudges.schedules()],
        metrics=metrics,
    )
    poll_feature = Polls(uow_factory, services, sender.messengers)
    polls.register(services, poll_feature)
    poll_feature.attach(app.dispatcher)
    webinar_feature = Webinars(uow_factory, services, poll_feature)
    webinars.register(services, webinar_feature)
    webinar_feature.attach(app.dispatcher)
    for platform, (messenger, decoder) in (adapters or {}).items():
        app.attach(platform, messenger, decoder)
    return app
