"""The composition root: settings -> engine -> features -> adapters, with one list of features."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.routing import BaseRoute

from facilitator.commands.spec import CommandRegistry, CommandSpec
from facilitator.context import CoreSettings, Reply, Services
from facilitator.core import Facilitator
from facilitator.delivery.dispatcher import Dispatcher
from facilitator.domain.errors import DeliveryError, RetryLater
from facilitator.domain.model import Platform
from facilitator.feature import Feature, Wiring
from facilitator.features.announcements.feature import FEATURE as ANNOUNCEMENTS
from facilitator.features.bookmarks.feature import FEATURE as BOOKMARKS
from facilitator.features.community.feature import FEATURE as COMMUNITY
from facilitator.features.dashboard.feature import FEATURE as DASHBOARD
from facilitator.features.digest.feature import FEATURE as DIGEST
from facilitator.features.home.feature import FEATURE as HOME
from facilitator.features.knowledge.feature import FEATURE as KNOWLEDGE
from facilitator.features.matchmaking.feature import FEATURE as MATCHMAKING
from facilitator.features.nudges.feature import FEATURE as NUDGES
from facilitator.features.outbox.feature import FEATURE as OUTBOX
from facilitator.features.participation.feature import FEATURE as PARTICIPATION
from facilitator.features.polls.feature import FEATURE as POLLS
from facilitator.features.privacy.feature import FEATURE as PRIVACY
from facilitator.features.profiles.feature import FEATURE as PROFILES
from facilitator.features.reports.feature import FEATURE as REPORTS
from facilitator.features.surveys.feature import FEATURE as SURVEYS
from facilitator.features.webinars.feature import FEATURE as WEBINARS
from facilitator.i18n import Catalogue
from facilitator.inbox import Inbox
from facilitator.membership import CachedMembershipCheck, still_member
from facilitator.ports import (
    Clock,
    Decoder,
    FileFetcher,
    MembershipCheck,
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
from facilitator.storage.models import Base

log = logging.getLogger(__name__)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


# Every feature, in the order /help and the menus list their commands. A feature set up later
# may use the services of those before it (webinars use polls).
FEATURES: tuple[Feature, ...] = (
    COMMUNITY,
    KNOWLEDGE,
    BOOKMARKS,
    PARTICIPATION,
    PRIVACY,
    OUTBOX,
    PROFILES,
    NUDGES,
    POLLS,
    WEBINARS,
    REPORTS,
    ANNOUNCEMENTS,
    DIGEST,
    MATCHMAKING,
    SURVEYS,
    HOME,
    DASHBOARD,
)


def command_specs() -> Sequence[CommandSpec]:
    return tuple(spec for feature in FEATURES for spec in feature.commands)


def repositories() -> dict[type[Any], Callable[[Any], object]]:
    """Each feature's repository Protocol -> its SQL class, for the units of work."""
    found: dict[type[Any], Callable[[Any], object]] = {}
    for feature in FEATURES:
        found.update(feature.repositories)
    return found


def models() -> type[Base]:
    """The declarative base, its MetaData holding every table: the engine's own, and each
    feature's, put there when FEATURES imported the feature's storage module."""
    return Base


def build_registry() -> CommandRegistry:
    return CommandRegistry(command_specs())


def core_settings(settings: Settings) -> CoreSettings:
    return CoreSettings(
        admins=settings.admin_identities(),
        platform_admins_are_moderators=settings.platform_admins_are_moderators,
        default_language=settings.default_language,
        default_timezone=settings.default_timezone,
        default_community=settings.default_community,
        member_budget_per_minute=settings.member_budget_per_minute,
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

    def attach(
        self,
        platform: Platform,
        messenger: Messenger,
        decoder: Decoder,
        files: FileFetcher | None = None,
        members: MembershipCheck | None = None,
    ) -> None:
        self.sender.messengers[platform] = messenger
        self.inbox.register(platform, decoder)
        if files is not None:
            self.services.files[platform] = files
        if members is not None:
            self.services.memberships[platform] = CachedMembershipCheck(
                members, self.settings.membership_check_seconds
            )

    async def aclose(self) -> None:
        await self.storage.dispose()


def adapters_off(settings: Settings) -> list[str]:
    """Which platform adapters will not start, and why: one line each, for the operator."""
    off = []
    if settings.telegram_bot_token is None:
        off.append("telegram: off (TELEGRAM_BOT_TOKEN not set)")
    if settings.slack_bot_token is None:
        off.append("slack: off (SLACK_BOT_TOKEN not set)")
    return off


def build_adapters(settings: Settings, app: App) -> list[PlatformAdapter]:
    """The platform adapters whose credentials are configured (imported only when used)."""
    for line in adapters_off(settings):
        log.info("%s", line)
    adapters: list[PlatformAdapter] = []
    if settings.telegram_bot_token is not None:
        from adapters.telegram import build as build_telegram

        adapters.append(build_telegram(settings, app))
    if settings.slack_bot_token is not None:
        from adapters.slack import build as build_slack

        adapters.append(build_slack(settings, app))
    return adapters


def build_web(settings: Settings, app: App) -> list[BaseRoute]:
    """The coordinators' dashboard (`adapters/web`), served by `serve` when its secret is set."""
    if settings.dashboard_secret is None:
        log.info("dashboard: off (FACILITATOR_DASHBOARD_SECRET not set)")
        return []
    from adapters.web import routes as web_routes

    return web_routes(settings, app)


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
    pool = settings.pool()
    if not settings.is_sqlite:
        log.info(
            "database pool: %d connections kept, up to %d more at a peak (%d processes)",
            pool.pool_size,
            pool.max_overflow,
            settings.processes,
        )
    storage = Storage(
        settings.database_url,
        settings.database_schema,
        pool_size=pool.pool_size,
        max_overflow=pool.max_overflow,
        repositories=repositories(),
    )
    uow_factory = storage.uow_factory
    services = Services(
        catalogue=catalogue or Catalogue.load(settings.prompts_dir),
        registry=build_registry(),
        clock=clock,
        settings=core_settings(settings),
        metrics=metrics,
        still_member=still_member,
    )
    core = Facilitator(services)
    sender = ReplySender(metrics)
    dispatcher = Dispatcher(
        uow_factory, sender.messengers, services.catalogue, clock, metrics=metrics
    )
    wiring = Wiring(
        settings, services, uow_factory, sender, sender.messengers, dispatcher, FEATURES
    )
    jobs: list[IntervalJob] = []
    schedules: list[CronSource] = []
    for feature in FEATURES:
        installed = feature.setup(wiring)
        if installed.service is not None:
            services.provide(installed.service)
        services.buttons.update(installed.buttons)
        services.message_hooks.extend(installed.message_hooks)
        services.message_claims.extend(installed.message_claims)
        services.event_hooks.extend(installed.event_hooks)
        if installed.poll_votes is not None:
            services.poll_votes = installed.poll_votes
        if installed.guess_language is not None:
            services.guess_language = installed.guess_language
        services.not_answers.extend(installed.not_answers)
        jobs.extend(installed.jobs)
        schedules.extend(installed.schedules)
    app = App(
        settings=settings,
        storage=storage,
        services=services,
        core=core,
        inbox=Inbox(uow_factory, core, {}, sender, clock),
        roles=RoleService(uow_factory, clock),
        sender=sender,
        jobs=jobs,
        dispatcher=dispatcher,
        schedules=schedules,
        metrics=metrics,
    )
    for platform, (messenger, decoder) in (adapters or {}).items():
        app.attach(platform, messenger, decoder)
    return app
