"""Recognition commands: /me, /leaderboard, /aplayers; for coordinators /summary and
/participation (this community's participation settings)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from pydantic import ValidationError

from facilitator.commands.spec import Arg, ArgKind, CommandSpec, Needs, NoArgs, Topic
from facilitator.context import CommandContext
from facilitator.domain.model import Role
from facilitator.features.participation.config import WEEKDAYS, ParticipationConfig
from facilitator.features.participation.scoring import Standing, next_level, reasons
from facilitator.features.participation.service import Participation, Period
from facilitator.features.participation.summary import IsoWeek, weekly_summary
from facilitator.features.participation.weekly import summary_messages
from facilitator.i18n import format_number
from facilitator.markup import OutboundMessage, RichText

log = logging.getLogger(__name__)

FEATURE = "participation"
# `/participation <setting> <value>`: the setting's name and the configuration field.
SETTINGS = {
    "recognition": "recognition_post",
    "congratulate": "congratulate_in_group",
    "exclude_staff": "exclude_staff",
    "summary": "summary_enabled",
    "day": "summary_day",
    "time": "summary_time",
    "half_life": "half_life_days",
}


@dataclass(frozen=True)
class LeaderboardArgs:
    period: str | None


@dataclass(frozen=True)
class SummaryArgs:
    week: str | None


@dataclass(frozen=True)
class SettingsArgs:
    setting: str | None
    value: str | None


def participation(ctx: CommandContext) -> Participation:
    service = ctx.services.feature(Participation)
    assert isinstance(service, Participation)
    return service


def level_name(ctx: CommandContext, key: str) -> str:
    prompt = f"participation.levels.{key}"
    return ctx.t(prompt) if ctx.catalogue.has(prompt) else key.replace("_", " ")


def badge_name(ctx: CommandContext, key: str) -> str:
    prompt = f"participation.badges.{key}"
    return ctx.t(prompt) if ctx.catalogue.has(prompt) else key.replace("_", " ")


def reason_text(ctx: CommandContext, kind: str, count: int) -> str:
    prompt = f"participation.reasons.{kind}"
    if not ctx.catalogue.has(prompt):
        return f"{kind.replace('_', ' ')}: {format_number(ctx.locale, count)}"
    return ctx.t(prompt, count=count)


def reasons_text(ctx: CommandContext, standing: Standing, limit: int) -> str:
    separator = ctx.t("participation.aplayers.separator")
    return separator.join(reason_text(ctx, kind, n) for kind, n in reasons(standing, limit))


async def me(ctx: CommandContext, args: NoArgs) -> None:
    if ctx.member.opted_out_tracking:
        ctx.say("participation.me.opted_out", private=True)
        return
    service = participation(ctx)
    config = service.config_for(ctx.here)
    now = ctx.services.clock.now()
    standing = await service.member(ctx.uow, ctx.here, ctx.member.person_id, now)
    ctx.reply(OutboundMessage(explain(ctx, standing, config), ephemeral=True), private=True)


def explain(ctx: CommandContext, standing: Standing, config: ParticipationConfig) -> RichText:
    """`/me`: score, level, what the next level needs, badges, and where the points came from."""
    parts = [
        ctx.rich(
            "participation.me.header",
            name=ctx.member.display_name,
            level=level_name(ctx, standing.level),
            count=standing.rounded,
        ),
        ctx.rich(
            "participation.me.weeks",
            count=standing.active_weeks,
            weeks=config.consistency_weeks,
        ),
    ]
    following = next_level(standing, config)
    if following is None:
        parts.append(ctx.rich("participation.me.top"))
    else:
        level, points, weeks = following
        missing = [
            ctx.t(key, count=n)
            for key, n in (
                ("participation.me.missing_points", points),
                ("participation.me.missing_weeks", weeks),
            )
            if n
        ]
        parts.append(
            ctx.rich(
                "participation.me.next",
                level=level_name(ctx, level.key),
                missing=ctx.t("participation.me.joiner").join(missing),
            )
        )
    if standing.badges:
        names = ", ".join(badge_name(ctx, key) for key in standing.badges)
        parts.append(ctx.rich("participation.me.badges", badges=names))
    else:
        parts.append(ctx.rich("participation.me.no_badges"))
    unit = f"participation.badge_unit.{standing.next_badge[0]}" if standing.next_badge else ""
    # A badge of a community's own configuration has no words for its events: not shown.
    if standing.next_badge is not None and ctx.catalogue.has(unit):
        key, missing_events = standing.next_badge
        parts.append(
            ctx.rich(
                "participation.me.next_badge",
                badge=badge_name(ctx, key),
                count=missing_events,
                unit=ctx.t(unit, count=missing_events),
            )
        )
    if standing.score <= 0:
        parts.append(ctx.rich("participation.me.nothing"))
    else:
        parts.append(ctx.rich("participation.me.why"))
        for kind, count in reasons(standing, len(standing.points)):
            parts.append(
                ctx.rich(
                    "participation.me.why_line",
                    reason=reason_text(ctx, kind, count),
                    count=round(standing.points[kind]),
                )
            )
    parts.append(ctx.rich("participation.me.how", days=round(config.half_life_days)))
    return RichText.join(parts)


async def leaderboard(ctx: CommandContext, args: LeaderboardArgs) -> None:
    period = Period(args.period or Period.ALL.value)
    now = ctx.services.clock.now()
    board = await participation(ctx).leaderboard(
        ctx.uow, ctx.here, now, period, viewer=ctx.member.person_id
    )
    if not board.top:
        ctx.say("participation.leaderboard.empty")
        return
    parts = [ctx.rich(f"participation.leaderboard.header_{period.value}")]
    parts.extend(
        ctx.rich(
            "participation.leaderboard.line",
            rank=entry.rank,
            name=entry.name,
            score=entry.standing.rounded,
        )
        for entry in board.top
    )
    if board.me is not None and board.me.rank > len(board.top):
        parts.append(
            ctx.rich(
                "participation.leaderboard.you",
                rank=board.me.rank,
                count=board.me.standing.rounded,
            )
        )
    ctx.reply(OutboundMessage(RichText.join(parts)))


async def aplayers(ctx: CommandContext, args: NoArgs) -> None:
    community = ctx.here
    service = participation(ctx)
    config = service.config_for(community)
    found = await service.a_players(ctx.uow, community, ctx.services.clock.now())
    if not found:
        ctx.say("participation.aplayers.none", private=True)
        return
    parts = [
        ctx.rich("participation.aplayers.header", count=len(found), community=community.title)
    ]
    parts.extend(
        ctx.rich(
            "participation.aplayers.line",
            name=entry.name,
            level=level_name(ctx, entry.standing.level),
            count=entry.standing.rounded,
            reasons=reasons_text(ctx, entry.standing, config.reasons_shown),
        )
        for entry in found
    )
    ctx.reply(OutboundMessage(RichText.join(parts), ephemeral=True), private=True)


async def summary(ctx: CommandContext, args: SummaryArgs) -> None:
    """The weekly summary now, privately: a past week (`2026-W47`) or the last complete one."""
    community = ctx.here
    text = args.week
    now = ctx.services.clock.now()
    try:
        week = IsoWeek.parse(text) if text else IsoWeek.last_complete(now, community.timezone)
    except ValueError:
        ctx.say("participation.summary.bad_week", value=(text or "")[:40], private=True)
        return
    service = participation(ctx)
    found = await weekly_summary(
        ctx.uow, community, week, service.config_for(community), service.admins
    )
    for message in summary_messages(found, ctx.catalogue, ctx.locale):
        ctx.reply(replace(message, ephemeral=True), private=True)


def _switch(ctx: CommandContext, value: object) -> str:
    return ctx.t("participation.settings.on" if value else "participation.settings.off")


async def settings(ctx: CommandContext, args: SettingsArgs) -> None:
    """Show this community's participation settings, or change one."""
    name, value = args.setting, (args.value or "").strip()
    service = participation(ctx)
    if name is not None and value:
        field = SETTINGS[name]
        # A switch typed in the member's language ("sí", "não") is stored as on or off.
        switch = ctx.services.words.canonical(("on", "off"), value)
        parsed: object = (switch == "on" if switch else value) if field in _BOOLEANS else value
        if field == "summary_day":  # "lunes", "segunda": the day as the member writes it
            parsed = ctx.services.words.canonical(WEEKDAYS, value) or value
        current = ctx.here.setting(FEATURE)
        overrides = {**(current if isinstance(current, dict) else {}), field: parsed}
        try:
            service.config.overridden(overrides)
        except ValidationError:
            ctx.say(
                "participation.settings.bad_value",
                value=value[:40],
                setting=ctx.word(name),
                private=True,
            )
            return
        community = replace(ctx.here, settings={**ctx.here.settings, FEATURE: overrides})
        await ctx.uow.communities.update(community)
        ctx.community = community
        log.info("participation setting changed", extra={"setting": name})
        ctx.say("participation.settings.done", setting=ctx.word(name), value=value[:40])
    community = ctx.here
    config = service.config_for(community)
    weekdays = ctx.t("participation.summary.chart.weekdays").split()
    parts = [
        ctx.rich("participation.settings.header", community=community.title),
        ctx.rich(
            "participation.settings.recognition", value=_switch(ctx, config.recognition_post)
        ),
        ctx.rich(
            "participation.settings.congratulate",
            value=_switch(ctx, config.congratulate_in_group),
        ),
        ctx.rich("participation.settings.exclude_staff", value=_switch(ctx, config.exclude_staff)),
        ctx.rich(
            "participation.settings.summary",
            value=_switch(ctx, config.summary_enabled),
            day=weekdays[config.summary_weekday] if len(weekdays) == 7 else config.summary_day,
            time=config.summary_time,
            timezone=community.timezone,
        ),
        ctx.rich("participation.settings.half_life", days=round(config.half_life_days)),
        ctx.rich("participation.settings.usage"),
    ]
    ctx.reply(OutboundMessage(RichText.join(parts), ephemeral=True), private=True)


_BOOLEANS = {"recognition_post", "congratulate_in_group", "exclude_staff", "summary_enabled"}


COMMANDS = (
    CommandSpec("me", me, NoArgs, needs=Needs.COMMUNITY, topic=Topic.TAKE_PART),
    CommandSpec(
        "leaderboard",
        leaderboard,
        LeaderboardArgs,
        args=(
            Arg(
                "period",
                ArgKind.CHOICE,
                required=False,
                choices=(Period.WEEK.value, Period.MONTH.value, Period.ALL.value),
            ),
        ),
        needs=Needs.COMMUNITY,
        topic=Topic.TAKE_PART,
    ),
    CommandSpec(
        "aplayers",
        aplayers,
        NoArgs,
        needs=Needs.COMMUNITY,
        role=Role.COORDINATOR,
        topic=Topic.MODERATION,
    ),
    CommandSpec(
        "summary",
        summary,
        SummaryArgs,
        args=(Arg("week", required=False, max_length=10),),
        needs=Needs.COMMUNITY,
        role=Role.COORDINATOR,
        topic=Topic.MODERATION,
    ),
    CommandSpec(
        "participation",
        settings,
        SettingsArgs,
        args=(
            Arg("setting", ArgKind.CHOICE, required=False, choices=tuple(SETTINGS)),
            Arg("value", required=False, max_length=10),
        ),
        needs=Needs.COMMUNITY,
        role=Role.COORDINATOR,
        topic=Topic.MODERATION,
    ),
)
