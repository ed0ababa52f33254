"""Member profiles and nudges: /intro, /whois, /experts, /timezone and /nudges."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from facilitator.commands.spec import Arg, ArgKind, CommandSpec, ParsedArgs, parse_id, sub
from facilitator.context import CommandContext, Services
from facilitator.domain.model import Role
from facilitator.domain.outbox import OutboxRecord, OutboxStatus
from facilitator.features.knowledge.render import clip
from facilitator.features.nudges.config import SETTING, NudgeConfig
from facilitator.features.nudges.service import Nudges
from facilitator.features.profiles.domain import MemberProfile
from facilitator.features.profiles.experts import rank_experts, topic_of_query
from facilitator.localtime import is_zone, show
from facilitator.markup import OutboundMessage, RichText

log = logging.getLogger(__name__)

MAX_EXPERTISE = 10
EXPERTS_SHOWN = 5
PENDING_SHOWN = 20
_SPLIT = re.compile(r"\s*[,;/]\s*")


def _phrases(text: str) -> tuple[str, ...]:
    found = [p.strip()[:60] for p in _SPLIT.split(text) if p.strip()]
    return tuple(dict.fromkeys(found))[:MAX_EXPERTISE]


def _profile_line(ctx: CommandContext, name: str, profile: MemberProfile | None) -> RichText:
    if profile is None or not (profile.organisation or profile.country or profile.expertise):
        return ctx.rich("profiles.whois.unknown", name=name)
    unknown = ctx.t("profiles.whois.not_said")
    return ctx.rich(
        "profiles.whois.profile",
        name=name,
        organisation=profile.organisation or unknown,
        country=profile.country or unknown,
        expertise=", ".join(profile.expertise) or unknown,
    )


async def intro(ctx: CommandContext, args: ParsedArgs) -> None:
    current = await ctx.uow.profiles.get(ctx.member.person_id) or MemberProfile(
        ctx.member.person_id
    )
    organisation = args.text("organisation")
    if organisation is None:
        body = _profile_line(ctx, ctx.member.display_name, current) + ctx.rich(
            "profiles.intro.how"
        )
        ctx.reply(OutboundMessage(body), private=True)
        return
    country = args.text("country")
    expertise = args.text("expertise")
    updated = replace(
        current,
        organisation=organisation.strip()[:200] or None,
        country=(country.strip()[:100] or None) if country is not None else current.country,
        expertise=_phrases(expertise) if expertise is not None else current.expertise,
    )
    await ctx.uow.profiles.save(updated, ctx.services.clock.now())
    ctx.reply(
        OutboundMessage(
            ctx.rich("profiles.intro.saved", name=ctx.member.display_name)
            + _profile_line(ctx, ctx.member.display_name, updated)
        )
    )


async def whois(ctx: CommandContext, args: ParsedArgs) -> None:
    if ctx.community is None:
        ctx.say("errors.needs_community", private=True)
        return
    who = (args.text("member") or "").lstrip("@")
    matches = await ctx.uow.members.find_in_community(ctx.community.id, who)
    if not matches:
        ctx.say("community.role.not_found", member=who, private=True)
        return
    if len(matches) > 1:
        ctx.say("community.role.ambiguous", member=who, count=len(matches), private=True)
        return
    member = matches[0]
    profile = await ctx.uow.profiles.get(member.person_id)
    ctx.reply(OutboundMessage(_profile_line(ctx, member.display_name, profile)), private=True)


async def experts(ctx: CommandContext, args: ParsedArgs) -> None:
    if ctx.community is None:
        ctx.say("errors.needs_community", private=True)
        return
    theme = (args.text("theme") or "").strip()
    ranked = await rank_experts(ctx.uow, ctx.community.id, topic_of_query(theme))
    if not ranked:
        ctx.say("profiles.experts.none", theme=theme, private=True)
        return
    names = {
        m.person_id: m.display_name for m, _ in await ctx.uow.members.members_of(ctx.community.id)
    }
    parts = [ctx.rich("profiles.experts.header", theme=theme)]
    for person, _ in ranked[:EXPERTS_SHOWN]:
        profile = await ctx.uow.profiles.get(person)
        details = ", ".join(
            part for part in ((profile.organisation, profile.country) if profile else ()) if part
        )
        key = "profiles.experts.line_details" if details else "profiles.experts.line"
        parts.append(ctx.rich(key, name=names.get(person, "?"), details=details))
    ctx.reply(OutboundMessage(RichText.join(parts)), private=True)


async def timezone(ctx: CommandContext, args: ParsedArgs) -> None:
    chosen = args.text("timezone")
    if chosen is None:
        if ctx.member.timezone:
            ctx.say("profiles.timezone.current", timezone=ctx.member.timezone, private=True)
        else:
            fallback = ctx.community.timezone if ctx.community else "UTC"
            ctx.say("profiles.timezone.default", timezone=fallback, private=True)
        return
    if not is_zone(chosen):
        ctx.say("community.set.bad_timezone", value=chosen[:64], private=True)
        return
    await ctx.uow.profiles.set_timezone(ctx.member.person_id, chosen)
    ctx.say("profiles.timezone.changed", timezone=chosen, private=True)


# -- /nudges ----------------------------------------------------------------------------------


async def nudges_status(ctx: CommandContext, args: ParsedArgs) -> None:
    if ctx.community is None:
        ctx.say("errors.needs_community", private=True)
        return
    config = NudgeConfig.of(ctx.community)
    held = await ctx.uow.outbox.counts(ctx.community.id)
    on, off = ctx.t("community.set.switch_on"), ctx.t("community.set.switch_off")
    ctx.say(
        "nudges.status",
        welcome_dm=on if config.welcome_dm else off,
        newcomer=on if config.newcomer else off,
        newcomer_days=config.newcomer_days,
        reengage=on if config.reengage else off,
        reengage_days=config.reengage_days,
        unanswered=on if config.unanswered else off,
        unanswered_hours=config.unanswered_hours,
        experts=config.experts,
        moderators_hours=config.moderators_hours,
        cap_days=config.cap_days,
        quiet_hours=config.quiet_hours,
        approval=on if config.approval else off,
        scan_at=config.scan_at,
        held=held.get(OutboxStatus.HELD, 0),
        private=True,
    )


async def _held(ctx: CommandContext) -> list[OutboxRecord]:
    assert ctx.community is not None
    held = await ctx.uow.outbox.listing(ctx.community.id, [OutboxStatus.HELD], 500)
    return sorted((r for r in held if r.is_nudge), key=lambda r: r.id)


async def nudges_pending(ctx: CommandContext, args: ParsedArgs) -> None:
    if ctx.community is None:
        ctx.say("errors.needs_community", private=True)
        return
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
                when=show(record.due_at, ctx.community.timezone),
                preview=clip(record.message.body.plain().replace("\n", " "), 120),
            )
        )
    ctx.reply(OutboundMessage(RichText.join(parts)), private=True)


async def _decide(ctx: CommandContext, which: str, to: OutboxStatus) -> None:
    if ctx.community is None:
        ctx.say("errors.needs_community", private=True)
        return
    now = ctx.services.clock.now()
    held = await _held(ctx)
    if which == "all":
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


async def nudges_approve(ctx: CommandContext, args: ParsedArgs) -> None:
    await _decide(ctx, args.text("nudge") or "", OutboxStatus.PENDING)


async def nudges_skip(ctx: CommandContext, args: ParsedArgs) -> None:
    await _decide(ctx, args.text("nudge") or "", OutboxStatus.SKIPPED)


async def nudges_set(ctx: CommandContext, args: ParsedArgs) -> None:
    if ctx.community is None:
        ctx.say("errors.needs_community", private=True)
        return
    name = args.text("setting") or ""
    value = (args.text("value") or "").strip()
    try:
        config = NudgeConfig.of(ctx.community).with_value(name, value)
    except ValueError as error:
        ctx.say(
            "errors.not_a_choice",
            arg=ctx.t("core.args.value"),
            value=value[:40],
            choices=str(error),
            private=True,
        )
        return
    community = replace(
        ctx.community, settings={**ctx.community.settings, SETTING: config.stored()}
    )
    await ctx.uow.communities.update(community)
    ctx.community = community
    ctx.say("community.set.done", setting=name, value=value[:60])


def register(services: Services, nudges: Nudges) -> None:
    services.features["nudges"] = nudges
    services.event_hooks.append(nudges.on_event)


_DECISION = (Arg("nudge", max_length=20),)

COMMANDS = (
    CommandSpec(
        "intro",
        intro,
        args=(
            Arg("organisation", required=False, max_length=200),
            Arg("country", required=False, max_length=100),
            Arg("expertise", required=False, max_length=600),
        ),
    ),
    CommandSpec("whois", whois, args=(Arg("member", max_length=64),)),
    CommandSpec("experts", experts, args=(Arg("theme", ArgKind.TEXT, max_length=100),)),
    CommandSpec("timezone", timezone, args=(Arg("timezone", required=False, max_length=64),)),
    CommandSpec(
        "nudges",
        nudges_status,
        role=Role.MODERATOR,
        subcommands=(
            sub("nudges", CommandSpec("pending", nudges_pending, role=Role.MODERATOR)),
            sub(
                "nudges",
                CommandSpec("approve", nudges_approve, args=_DECISION, role=Role.COORDINATOR),
            ),
            sub("nudges", CommandSpec("skip", nudges_skip, args=_DECISION, role=Role.COORDINATOR)),
            sub(
                "nudges",
                CommandSpec(
                    "set",
                    nudges_set,
                    args=(
                        Arg("setting", ArgKind.CHOICE, choices=NudgeConfig.names()),
                        Arg("value", max_length=20),
                    ),
                    role=Role.COORDINATOR,
                ),
            ),
        ),
    ),
)
