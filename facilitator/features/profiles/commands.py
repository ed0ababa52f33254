"""Member profiles: /intro, /whois, /experts and /timezone."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from facilitator.commands.spec import Arg, ArgKind, CommandSpec, Needs, Topic, sub
from facilitator.context import CommandContext
from facilitator.features.profiles.domain import MemberProfile
from facilitator.features.profiles.experts import (
    network_experts,
    rank_experts,
    topic_of_query,
)
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.localtime import is_zone
from facilitator.markup import OutboundMessage, RichText

log = logging.getLogger(__name__)

MAX_EXPERTISE = 10
EXPERTS_SHOWN = 5
PENDING_SHOWN = 20
_SPLIT = re.compile(r"\s*[,;/]\s*")


@dataclass(frozen=True)
class IntroArgs:
    organisation: str | None
    country: str | None
    expertise: str | None


@dataclass(frozen=True)
class WhoisArgs:
    member: str


@dataclass(frozen=True)
class ExpertsArgs:
    theme: str


@dataclass(frozen=True)
class ShareArgs:
    value: str | None


@dataclass(frozen=True)
class TimezoneArgs:
    timezone: str | None


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


async def intro(ctx: CommandContext, args: IntroArgs) -> None:
    current = await ctx.uow.repo(ProfileRepository).get(ctx.member.person_id) or MemberProfile(
        ctx.member.person_id
    )
    organisation = args.organisation
    if organisation is None:
        body = _profile_line(ctx, ctx.member.display_name, current) + ctx.rich(
            "profiles.intro.how"
        )
        ctx.reply(OutboundMessage(body), private=True)
        return
    country = args.country
    expertise = args.expertise
    updated = replace(
        current,
        organisation=organisation.strip()[:200] or None,
        country=(country.strip()[:100] or None) if country is not None else current.country,
        expertise=_phrases(expertise) if expertise is not None else current.expertise,
    )
    await ctx.uow.repo(ProfileRepository).save(updated, ctx.services.clock.now())
    ctx.reply(
        OutboundMessage(
            ctx.rich("profiles.intro.saved", name=ctx.member.display_name)
            + _profile_line(ctx, ctx.member.display_name, updated)
        )
    )


async def whois(ctx: CommandContext, args: WhoisArgs) -> None:
    who = args.member.lstrip("@")
    matches = await ctx.uow.members.find_in_community(ctx.here.id, who)
    if not matches:
        ctx.say("community.role.not_found", member=who, private=True)
        return
    if len(matches) > 1:
        ctx.say("community.role.ambiguous", member=who, count=len(matches), private=True)
        return
    member = matches[0]
    profile = await ctx.uow.repo(ProfileRepository).get(member.person_id)
    ctx.reply(OutboundMessage(_profile_line(ctx, member.display_name, profile)), private=True)


async def experts(ctx: CommandContext, args: ExpertsArgs) -> None:
    """The asker's community's experts as always; then, from every other community, members
    who shared their profile with the network (`/experts share on`): only their name, their
    community and what they said they know."""
    theme = args.theme.strip()
    topic = topic_of_query(theme)
    members = [m for m, _ in await ctx.uow.members.members_of(ctx.here.id)]
    # Opting out of tracking takes a member off every ranking and list, this one too.
    hidden = {m.person_id for m in members if m.opted_out_tracking}
    ranked = await rank_experts(ctx.uow, ctx.here.id, topic, exclude=hidden)
    elsewhere = await network_experts(ctx.uow, ctx.here.id, topic, EXPERTS_SHOWN)
    if not ranked and not elsewhere:
        ctx.say("profiles.experts.none", theme=theme, private=True)
        return
    parts = []
    if ranked:
        names = {m.person_id: m.display_name for m in members}
        parts.append(ctx.rich("profiles.experts.header", theme=theme))
        for person, _ in ranked[:EXPERTS_SHOWN]:
            profile = await ctx.uow.repo(ProfileRepository).get(person)
            details = ", ".join(
                part
                for part in ((profile.organisation, profile.country) if profile else ())
                if part
            )
            key = "profiles.experts.line_details" if details else "profiles.experts.line"
            parts.append(ctx.rich(key, name=names.get(person, "?"), details=details))
    if elsewhere:
        parts.append(ctx.rich("profiles.experts.network_header", theme=theme))
        parts.extend(
            ctx.rich(
                "profiles.experts.network_line",
                name=found.name,
                community=found.community,
                expertise=", ".join(found.expertise),
            )
            for found in elsewhere
        )
    ctx.reply(OutboundMessage(RichText.join(parts)), private=True)


async def share(ctx: CommandContext, args: ShareArgs) -> None:
    """`/experts share on|off`: whether other communities' `/experts` may show this member."""
    profiles = ctx.uow.repo(ProfileRepository)
    current = await profiles.get(ctx.member.person_id) or MemberProfile(ctx.member.person_id)
    if args.value is None:
        key = "profiles.share.is_on" if current.network else "profiles.share.is_off"
        ctx.say(key, private=True)
        return
    shared = args.value == "on"
    await profiles.save(replace(current, network=shared), ctx.services.clock.now())
    log.info("network sharing changed", extra={"shared": shared})
    ctx.say("profiles.share.on" if shared else "profiles.share.off", private=True)


async def timezone(ctx: CommandContext, args: TimezoneArgs) -> None:
    chosen = args.timezone
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
    await ctx.uow.repo(ProfileRepository).set_timezone(ctx.member.person_id, chosen)
    ctx.say("profiles.timezone.changed", timezone=chosen, private=True)


COMMANDS = (
    CommandSpec(
        "intro",
        intro,
        IntroArgs,
        args=(
            Arg("organisation", required=False, max_length=200),
            Arg("country", required=False, max_length=100),
            Arg("expertise", required=False, max_length=600),
        ),
        topic=Topic.PEOPLE,
    ),
    CommandSpec(
        "whois",
        whois,
        WhoisArgs,
        args=(Arg("member", max_length=64),),
        needs=Needs.COMMUNITY,
        topic=Topic.PEOPLE,
    ),
    CommandSpec(
        "experts",
        experts,
        ExpertsArgs,
        args=(Arg("theme", ArgKind.TEXT, max_length=100),),
        needs=Needs.COMMUNITY,
        subcommands=(
            sub(
                "experts",
                CommandSpec(
                    "share",
                    share,
                    ShareArgs,
                    args=(Arg("value", ArgKind.CHOICE, required=False, choices=("on", "off")),),
                ),
            ),
        ),
        topic=Topic.PEOPLE,
    ),
    CommandSpec(
        "timezone",
        timezone,
        TimezoneArgs,
        args=(Arg("timezone", required=False, max_length=64),),
        topic=Topic.BASICS,
    ),
)
