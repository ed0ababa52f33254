"""The weekly job: summaries to coordinators, the network summary to admins, recognition.

Every process runs it every few minutes (`App.jobs`). At each community's configured local
day and time it queues, through the durable outbox, one direct message set per coordinator
(the summary, the chart, the CSV) for the week that has just ended, and, when the community
opted in, a recognition post in the group. Each message has a deduplication key naming the
community, the week and the recipient, so however many processes run the job and however
often, each is queued once; the outbox's dispatcher sends it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from facilitator.domain.model import Community, Member, Platform
from facilitator.domain.outbox import OutboxEntry
from facilitator.features.participation.config import ParticipationConfig
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.participation.report import (
    csv_report,
    network_csv,
    network_text,
    summary_text,
)
from facilitator.features.participation.service import Participation
from facilitator.features.participation.summary import (
    IsoWeek,
    NetworkSummary,
    WeeklySummary,
    network_summary,
    weekly_summary,
)
from facilitator.i18n import Catalogue, resolve_locale
from facilitator.markup import Attachment, Destination, OutboundMessage, RichText
from facilitator.ports import UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:
    from facilitator.features.knowledge.service import KnowledgeBase

log = logging.getLogger(__name__)

# A process that was down at the scheduled time still sends within this window.
GRACE = timedelta(hours=12)
SUMMARY_KIND = "weekly_summary"
NETWORK_KIND = "network_summary"
RECOGNITION_KIND = "recognition"


def due_week(
    now: datetime, timezone: str, config: ParticipationConfig, grace: timedelta = GRACE
) -> IsoWeek | None:
    """The week to summarise if `now` falls in the scheduled slot of its local week."""
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    this_week = IsoWeek.containing(local_now.date())
    day = this_week.monday + timedelta(days=config.summary_weekday)
    hour, minute = config.summary_hour_minute
    scheduled = datetime.combine(day, time(hour, minute), tzinfo=zone)
    if scheduled <= local_now < scheduled + grace:
        return this_week.previous()
    return None


def summary_messages(
    summary: WeeklySummary, catalogue: Catalogue, locale: str
) -> list[OutboundMessage]:
    """The summary as chat messages: the text, then the chart, then the CSV."""
    from facilitator.features.participation.chart import render_png  # matplotlib, only when needed

    week = str(summary.week)
    body = summary_text(summary, catalogue, locale) + catalogue.render(
        locale, "participation.summary.files"
    )
    chart_caption = catalogue.render(locale, "participation.summary.chart_caption", week=week)
    csv_caption = catalogue.render(locale, "participation.summary.csv_caption", week=week)
    name = f"{summary.community.key.replace(':', '_')}-{week}"
    return [
        OutboundMessage(body),
        OutboundMessage(
            chart_caption,
            attachment=Attachment(
                f"{name}.png", render_png(summary, catalogue, locale), "image/png", chart_caption
            ),
        ),
        OutboundMessage(
            csv_caption,
            attachment=Attachment(
                f"{name}.csv", csv_report(summary).encode("utf-8"), "text/csv", csv_caption
            ),
        ),
    ]


def network_messages(
    summary: NetworkSummary, catalogue: Catalogue, locale: str
) -> list[OutboundMessage]:
    """The network summary as chat messages: the text, then the chart, then the CSV."""
    from facilitator.features.participation.chart import render_network_png

    week = str(summary.week)
    body = network_text(summary, catalogue, locale) + catalogue.render(
        locale, "participation.summary.files"
    )
    chart_caption = catalogue.render(
        locale, "participation.summary.network_chart_caption", week=week
    )
    csv_caption = catalogue.render(locale, "participation.summary.network_csv_caption", week=week)
    return [
        OutboundMessage(body),
        OutboundMessage(
            chart_caption,
            attachment=Attachment(
                f"network-{week}.png",
                render_network_png(summary, catalogue, locale),
                "image/png",
                chart_caption,
            ),
        ),
        OutboundMessage(
            csv_caption,
            attachment=Attachment(
                f"network-{week}.csv",
                network_csv(summary).encode("utf-8"),
                "text/csv",
                csv_caption,
            ),
        ),
    ]


def recognition_message(
    summary: WeeklySummary, config: ParticipationConfig, catalogue: Catalogue, locale: str
) -> OutboundMessage | None:
    """The group's weekly thanks to its top contributors; None when nobody earned points."""
    named = summary.top[: config.recognition_size]
    if not named:
        return None
    separator = catalogue.text(locale, "participation.aplayers.separator")
    parts = [
        catalogue.render(
            locale, "participation.recognition.header", community=summary.community.title
        )
    ]
    for line in named:
        texts = [
            catalogue.text(locale, f"participation.reasons.{kind}", count=count)
            for kind, count in line.reasons
            if catalogue.has(f"participation.reasons.{kind}")
        ]
        parts.append(
            catalogue.render(
                locale,
                "participation.recognition.line",
                name=line.name,
                reasons=separator.join(texts),
            )
        )
    parts.append(catalogue.render(locale, "participation.recognition.footer"))
    return OutboundMessage(RichText.join(parts))


def direct(member: Member) -> Destination:
    return Destination(
        member.platform, member.platform_user_id, user_id=member.platform_user_id, is_direct=True
    )


@dataclass
class WeeklyDigest:
    """The job (see the module's docstring); `run(now)` returns how many messages it queued."""

    uow_factory: UnitOfWorkFactory
    participation: Participation
    catalogue: Catalogue
    admins: frozenset[tuple[Platform, str]]
    network_timezone: str = "UTC"
    # Groups the network's open questions by meaning, when it has a sentence encoder.
    knowledge: KnowledgeBase | None = None

    async def run(self, now: datetime) -> int:
        queued = 0
        async with self.uow_factory() as uow:
            communities = [c for c in await uow.communities.all() if c.active]
        for community in communities:
            config = self.participation.config_for(community)
            week = due_week(now, community.timezone, config)
            if week is None or (not config.summary_enabled and not config.recognition_post):
                continue
            async with self.uow_factory() as uow:
                queued += await self.community_week(uow, community, week, now)
                await uow.commit()
        week = due_week(now, self.network_timezone, self.participation.config)
        if week is not None and self.participation.config.summary_enabled:
            async with self.uow_factory() as uow:
                queued += await self.network_week(uow, communities, week, now)
                await uow.commit()
        return queued

    async def community_week(
        self, uow: UnitOfWork, community: Community, week: IsoWeek, now: datetime
    ) -> int:
        config = self.participation.config_for(community)
        recipients = (
            await uow.repo(ParticipationRepository).coordinators(community.id)
            if config.summary_enabled
            else []
        )
        prefix = f"summary:{community.id}:{week}"
        pending = [
            member
            for member in recipients
            if await uow.outbox.by_key(f"{prefix}:{member.person_id}:1") is None
        ]
        recognition_key = f"recognition:{community.id}:{week}"
        recognise = config.recognition_post and await uow.outbox.by_key(recognition_key) is None
        if not pending and not recognise:
            return 0
        summary = await weekly_summary(uow, community, week, config, self.admins)
        queued = 0
        by_locale: dict[str, list[OutboundMessage]] = {}
        for member in pending:
            locale = resolve_locale(member.language, member.locale_hint, community.language)
            if locale not in by_locale:
                by_locale[locale] = summary_messages(summary, self.catalogue, locale)
            for n, message in enumerate(by_locale[locale], 1):
                queued += await uow.outbox.add(
                    OutboxEntry(
                        dedup_key=f"{prefix}:{member.person_id}:{n}",
                        kind=SUMMARY_KIND,
                        destination=direct(member),
                        message=message,
                        due_at=now,
                        community_id=community.id,
                        person_id=member.person_id,
                    ),
                    now,
                )
        if recognise:
            post = recognition_message(summary, config, self.catalogue, community.language)
            if post is not None:
                queued += await uow.outbox.add(
                    OutboxEntry(
                        dedup_key=recognition_key,
                        kind=RECOGNITION_KIND,
                        destination=Destination(community.platform, community.chat_id),
                        message=post,
                        due_at=now,
                        community_id=community.id,
                    ),
                    now,
                )
        log.info(
            "weekly summary queued",
            extra={"community": community.key, "week": str(week), "messages": queued},
        )
        return queued

    async def network_week(
        self, uow: UnitOfWork, communities: list[Community], week: IsoWeek, now: datetime
    ) -> int:
        admins = await uow.repo(ParticipationRepository).admins(self.admins)
        pending = [
            member
            for member in admins
            if await uow.outbox.by_key(f"network:{week}:{member.person_id}") is None
        ]
        if not pending or not communities:
            return 0
        summary = await network_summary(uow, communities, week, self.knowledge)
        queued = 0
        by_locale: dict[str, list[OutboundMessage]] = {}
        for member in pending:
            locale = resolve_locale(member.language, member.locale_hint, None)
            if locale not in by_locale:
                by_locale[locale] = network_messages(summary, self.catalogue, locale)
            # The text keeps the key it always had; the chart and the CSV follow it.
            keys = ("", ":chart", ":csv")
            for suffix, message in zip(keys, by_locale[locale], strict=True):
                queued += await uow.outbox.add(
                    OutboxEntry(
                        dedup_key=f"network:{week}:{member.person_id}{suffix}",
                        kind=NETWORK_KIND,
                        destination=direct(member),
                        message=message,
                        due_at=now,
                        person_id=member.person_id,
                    ),
                    now,
                )
        return queued
