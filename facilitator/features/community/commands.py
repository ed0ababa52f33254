"""Community administration from the chat: /members, /role, /settings, /set."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from facilitator.commands.spec import Arg, ArgKind, CommandSpec, Needs, NoArgs, Topic
from facilitator.context import CommandContext
from facilitator.domain.model import Role
from facilitator.i18n import SUPPORTED_LOCALES
from facilitator.localtime import is_zone
from facilitator.markup import OutboundMessage, RichText

log = logging.getLogger(__name__)

MAX_LISTED = 50
SETTABLE = ("language", "timezone", "title", "auto_answer")


@dataclass(frozen=True)
class RoleArgs:
    member: str
    role: Role


@dataclass(frozen=True)
class SetArgs:
    setting: str
    value: str


async def members(ctx: CommandContext, args: NoArgs) -> None:
    rows = await ctx.uow.members.members_of(ctx.here.id)
    active = [(m, ms) for m, ms in rows if ms.left_at is None]
    active.sort(key=lambda row: (-row[1].role, row[0].display_name.lower()))
    parts = [ctx.rich("community.members.header", count=len(active))]
    for member, membership in active[:MAX_LISTED]:
        parts.append(
            ctx.rich(
                "community.members.line",
                name=member.display_name,
                role=ctx.role_label(membership.role),
            )
        )
    if len(active) > MAX_LISTED:
        parts.append(ctx.rich("community.members.more", count=len(active) - MAX_LISTED))
    ctx.reply(OutboundMessage(RichText.join(parts)), private=True)


async def role(ctx: CommandContext, args: RoleArgs) -> None:
    community = ctx.here
    who, new_role = args.member, args.role
    # Nobody becomes admin by talking to the bot, and nobody grants a role at or above their own
    # unless they are an admin.
    if new_role is Role.ADMIN or (ctx.role < Role.ADMIN and new_role >= ctx.role):
        log.warning(
            "role change refused", extra={"role": ctx.role.label, "wanted": new_role.label}
        )
        ctx.say("community.role.too_high", role=ctx.role_label(new_role), private=True)
        return
    matches = await ctx.uow.members.find_in_community(community.id, who.lstrip("@"))
    if not matches:
        ctx.say("community.role.not_found", member=who, private=True)
        return
    if len(matches) > 1:
        ctx.say("community.role.ambiguous", member=who, count=len(matches), private=True)
        return
    target = matches[0]
    current = await ctx.uow.members.membership(target.person_id, community.id)
    if current is not None and current.role >= ctx.role and ctx.role < Role.ADMIN:
        ctx.say("community.role.too_high", role=ctx.role_label(current.role), private=True)
        return
    await ctx.uow.members.set_role(
        target.person_id, community.id, new_role, ctx.services.clock.now()
    )
    log.info("role changed", extra={"community": community.key, "role": new_role.label})
    ctx.say("community.role.changed", member=target.display_name, role=ctx.role_label(new_role))


async def settings(ctx: CommandContext, args: NoArgs) -> None:
    c = ctx.here
    ctx.say(
        "community.settings.summary",
        title=c.title,
        key=c.key,
        language=ctx.t(f"core.languages.{c.language}"),
        timezone=c.timezone,
        auto_answer=ctx.t(
            "community.set.switch_on"
            if c.setting("auto_answer") is True
            else "community.set.switch_off"
        ),
        private=True,
    )


async def set_setting(ctx: CommandContext, args: SetArgs) -> None:
    key = args.setting
    value = args.value.strip()
    community = ctx.here
    if key == "language":
        if value.lower() not in SUPPORTED_LOCALES:
            ctx.say(
                "errors.not_a_choice",
                arg=ctx.t("core.args.value"),
                value=value[:40],
                choices=", ".join(SUPPORTED_LOCALES),
                private=True,
            )
            return
        community = replace(community, language=value.lower())
    elif key == "timezone":
        if not is_zone(value):
            ctx.say("community.set.bad_timezone", value=value[:64], private=True)
            return
        community = replace(community, timezone=value)
    elif key == "auto_answer":
        switch = ctx.services.words.canonical(("on", "off"), value)
        if switch is None:
            ctx.say(
                "errors.not_a_choice",
                arg=ctx.t("core.args.value"),
                value=value[:40],
                choices=ctx.words(("on", "off")),
                private=True,
            )
            return
        community = replace(community, settings={**community.settings, key: switch == "on"})
    else:
        community = replace(community, title=value[:200])
    await ctx.uow.communities.update(community)
    ctx.community = community
    ctx.say("community.set.done", setting=ctx.word(key), value=value[:200])


COMMANDS = (
    CommandSpec(
        "members",
        members,
        NoArgs,
        needs=Needs.COMMUNITY,
        role=Role.MODERATOR,
        topic=Topic.MODERATION,
    ),
    CommandSpec(
        "role",
        role,
        RoleArgs,
        args=(Arg("member", max_length=64), Arg("role", ArgKind.ROLE)),
        needs=Needs.COMMUNITY,
        role=Role.COORDINATOR,
        topic=Topic.MODERATION,
    ),
    CommandSpec(
        "settings",
        settings,
        NoArgs,
        needs=Needs.COMMUNITY,
        role=Role.MODERATOR,
        topic=Topic.MODERATION,
    ),
    CommandSpec(
        "set",
        set_setting,
        SetArgs,
        args=(
            Arg("setting", ArgKind.CHOICE, choices=SETTABLE),
            Arg("value", ArgKind.TEXT, max_length=200),
        ),
        needs=Needs.COMMUNITY,
        role=Role.COORDINATOR,
        topic=Topic.MODERATION,
    ),
)
