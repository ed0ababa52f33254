"""A community's nudges: /nudges, its pending nudges, approvals and settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from facilitator.commands.spec import (
    Arg,
    ArgKind,
    CommandSpec,
    Needs,
    NoArgs,
    Topic,
    parse_id,
    sub,
)
from facilitator.context import CommandContext
from facilitator.domain.model import Role
from facilitator.domain.outbox import OutboxRecord, OutboxStatus
from facilitator.features.knowledge.render import clip
from facilitator.features.nudges.config import SETTING, NudgeConfig
from facilitator.localtime import show
from facilitator.markup import OutboundMessage, RichText

log = logging.getLogger(__name__)

PENDING_SHOWN = 20


@dataclass(frozen=True)
class DecisionArgs:
    nudge: str


@dataclass(frozen=True)
class NudgeSetArgs:
    setting: str
    value: str


# -- /nudges ----------------------------------------------------------------------------------


async def nudges_status(ctx: CommandContext, args: NoArgs) -> None:
    config = NudgeConfig.of(ctx.here)
    held = await ctx.uow.outbox.counts(ctx.here.id)
    on, off = ctx.t("community.set.switch_on"), ctx.t("community.set.switch_off")
    ctx.say(
        "nudges.status",
        welcome_dm=on if config.welcome_dm else off,
        newcomer=on if config.newcomer else off,
        newcomer_days=ctx.t("core.units.days", count=config.newcomer_days),
        reengage=on if config.reengage else off,
        reengage_days=ctx.t("core.units.days", count=config.reengage_days),
        reengage_min_messages=ctx.t("core.units.messages", count=config.reengage_min_messages),
        unanswered=on if config.unanswered else off,
        unanswered_hours=ctx.t("core.units.hours", count=config.unanswered_hours),
        experts=ctx.t("core.units.people", count=config.experts),
        moderators_hours=ctx.t("core.units.hours", count=config.moderators_hours),
        cap_days=ctx.t("core.units.days", count=config.cap_days),
        quiet_hours=config.quiet_hours,
        approval=on if config.approval else off,
        scan_at=config.scan_at,
        held=held.get(OutboxStatus.HELD, 0),
        private=True,
    )


async def _held(ctx: CommandContext) -> list[OutboxRecord]:
    held = await ctx.uow.outbox.listing(ctx.here.id, [OutboxStatus.HELD], 500)
    return sorted((r for r in held if r.is_nudge), key=lambda r: r.id)


async def nudges_pending(ctx: CommandContext, args: NoArgs) -> None:
    held = await _held(ctx)
    if not held:
        ctx.say("nudges.pending.none", private=True)
        return
    parts = [ctx.rich("nudges.pending.header", count=len(held))]
    for record in held[:PENDING_SHOWN]:
        recipient = record.fallback.name if record.fallback else ctx.t("outbox.recipients.group")
        parts.append(
            ctx.rich(
                "nudges.pending.line",
                id=record.id,
                kind=record.kind.removeprefix("nudge."),
                recipient=recipient,
                when=show(record.due_at, ctx.here.timezone),
                preview=clip(record.message.body.plain().replace("\n", " "), 120),
            )
        )
    ctx.reply(OutboundMessage(RichText.join(parts)), private=True)


async def _decide(ctx: CommandContext, which: str, to: OutboxStatus) -> None:
    now = ctx.services.clock.now()
    held = await _held(ctx)
    if ctx.services.words.canonical(("all",), which) == "all":
        chosen = [r.id for r in held]
    elif (number := parse_id(which.lstrip("#"))) is not None and number in {r.id for r in held}:
        chosen = [number]
    else:
        ctx.say("nudges.decide.unknown", id=which[:20], private=True)
        return
    for record_id in chosen:
        await ctx.uow.outbox.transition(record_id, [OutboxStatus.HELD], to, now)
    log.info("nudges decided", extra={"count": len(chosen), "status": to.value})
    key = "nudges.decide.approved" if to is OutboxStatus.PENDING else "nudges.decide.skipped"
    ctx.say(key, count=len(chosen), private=True)


async def nudges_approve(ctx: CommandContext, args: DecisionArgs) -> None:
    await _decide(ctx, args.nudge, OutboxStatus.PENDING)


async def nudges_skip(ctx: CommandContext, args: DecisionArgs) -> None:
    await _decide(ctx, args.nudge, OutboxStatus.SKIPPED)


async def nudges_set(ctx: CommandContext, args: NudgeSetArgs) -> None:
    name = args.setting
    value = args.value.strip()
    # A switch typed in the member's language ("sí", "não") is stored as on or off.
    value = ctx.services.words.canonical(("on", "off"), value) or value
    try:
        config = NudgeConfig.of(ctx.here).with_value(name, value)
    except ValueError as error:
        ctx.say(
            "errors.not_a_choice",
            arg=ctx.t("core.args.value"),
            value=value[:40],
            choices=str(error),
            private=True,
        )
        return
    community = replace(ctx.here, settings={**ctx.here.settings, SETTING: config.stored()})
    await ctx.uow.communities.update(community)
    ctx.community = community
    ctx.say("community.set.done", setting=ctx.word(name), value=value[:60])


_DECISION = (Arg("nudge", max_length=20),)

COMMANDS = (
    CommandSpec(
        "nudges",
        nudges_status,
        NoArgs,
        needs=Needs.COMMUNITY,
        role=Role.MODERATOR,
        subcommands=(
            sub(
                "nudges",
                CommandSpec(
                    "pending",
                    nudges_pending,
                    NoArgs,
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                ),
            ),
            sub(
                "nudges",
                CommandSpec(
                    "approve",
                    nudges_approve,
                    DecisionArgs,
                    args=_DECISION,
                    needs=Needs.COMMUNITY,
                    role=Role.COORDINATOR,
                ),
            ),
            sub(
                "nudges",
                CommandSpec(
                    "skip",
                    nudges_skip,
                    DecisionArgs,
                    args=_DECISION,
                    needs=Needs.COMMUNITY,
                    role=Role.COORDINATOR,
                ),
            ),
            sub(
                "nudges",
                CommandSpec(
                    "set",
                    nudges_set,
                    NudgeSetArgs,
                    args=(
                        Arg("setting", ArgKind.CHOICE, choices=NudgeConfig.names()),
                        Arg("value", max_length=20),
                    ),
                    needs=Needs.COMMUNITY,
                    role=Role.COORDINATOR,
                ),
            ),
        ),
        topic=Topic.MODERATION,
    ),
)
