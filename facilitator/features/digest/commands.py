"""`/digest weekly|monthly|off`, `/digest name on|off`, `/follow [#theme]`, `/unfollow #theme`:
a member's choices for their private digest, per community, answered privately."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from facilitator.commands.spec import Arg, ArgKind, CommandSpec, Needs, Topic, sub
from facilitator.context import CommandContext
from facilitator.features.digest.content import theme_key
from facilitator.features.digest.domain import Frequency
from facilitator.features.digest.ports import DigestRepository
from facilitator.markup import OutboundMessage

log = logging.getLogger(__name__)

# How many themes one member may follow in one community.
FOLLOW_LIMIT = 20


@dataclass(frozen=True)
class DigestArgs:
    frequency: str | None


@dataclass(frozen=True)
class NamedArgs:
    value: str


@dataclass(frozen=True)
class FollowArgs:
    theme: str | None


@dataclass(frozen=True)
class UnfollowArgs:
    theme: str


async def digest(ctx: CommandContext, args: DigestArgs) -> None:
    repo = ctx.uow.repo(DigestRepository)
    community, person = ctx.here, ctx.member.person_id
    if args.frequency is None:
        current = await repo.subscription(community.id, person)
        frequency = current.frequency if current else Frequency.OFF
        named = bool(current and current.named)
        body = ctx.rich(f"digest.status.{frequency}", community=community.title) + ctx.rich(
            "digest.status.named" if named else "digest.status.unnamed"
        )
        ctx.reply(OutboundMessage(body, ephemeral=True), private=True)
        return
    chosen = Frequency(args.frequency)
    await repo.choose(community.id, person, chosen, ctx.services.clock.now())
    log.info("digest chosen", extra={"community": community.key, "frequency": chosen.value})
    ctx.say(f"digest.chosen.{chosen}", community=community.title, private=True)


async def named(ctx: CommandContext, args: NamedArgs) -> None:
    value = args.value == "on"
    await ctx.uow.repo(DigestRepository).set_named(
        ctx.here.id, ctx.member.person_id, value, ctx.services.clock.now()
    )
    ctx.say("digest.named.on" if value else "digest.named.off", private=True)


async def follow(ctx: CommandContext, args: FollowArgs) -> None:
    repo = ctx.uow.repo(DigestRepository)
    community, person = ctx.here, ctx.member.person_id
    followed = await repo.followed(community.id, person)
    if args.theme is None:
        if not followed:
            ctx.say("digest.follow.none", private=True)
            return
        themes = ", ".join(f"#{theme}" for theme in followed)
        ctx.say("digest.follow.list", count=len(followed), themes=themes, private=True)
        return
    theme = theme_key(args.theme)
    if not theme:
        ctx.say("digest.follow.bad", private=True)
        return
    if theme not in followed and len(followed) >= FOLLOW_LIMIT:
        ctx.say("digest.follow.full", limit=FOLLOW_LIMIT, private=True)
        return
    if not await repo.follow(community.id, person, theme, ctx.services.clock.now()):
        ctx.say("digest.follow.already", theme=theme, private=True)
        return
    ctx.say("digest.follow.done", theme=theme, private=True)


async def unfollow(ctx: CommandContext, args: UnfollowArgs) -> None:
    theme = theme_key(args.theme)
    if not theme:
        ctx.say("digest.follow.bad", private=True)
        return
    removed = await ctx.uow.repo(DigestRepository).unfollow(
        ctx.here.id, ctx.member.person_id, theme
    )
    ctx.say(
        "digest.unfollow.done" if removed else "digest.unfollow.not_followed",
        theme=theme,
        private=True,
    )


COMMANDS = (
    CommandSpec(
        "digest",
        digest,
        DigestArgs,
        args=(
            Arg(
                "frequency",
                ArgKind.CHOICE,
                required=False,
                choices=tuple(
                    f.value for f in (Frequency.WEEKLY, Frequency.MONTHLY, Frequency.OFF)
                ),
            ),
        ),
        needs=Needs.COMMUNITY,
        subcommands=(
            sub(
                "digest",
                CommandSpec(
                    "name",
                    named,
                    NamedArgs,
                    args=(Arg("value", ArgKind.CHOICE, choices=("on", "off")),),
                    needs=Needs.COMMUNITY,
                ),
            ),
        ),
        topic=Topic.TAKE_PART,
    ),
    CommandSpec(
        "follow",
        follow,
        FollowArgs,
        args=(Arg("theme", required=False, max_length=60),),
        needs=Needs.COMMUNITY,
        topic=Topic.TAKE_PART,
    ),
    CommandSpec(
        "unfollow",
        unfollow,
        UnfollowArgs,
        args=(Arg("theme", max_length=60),),
        needs=Needs.COMMUNITY,
        topic=Topic.TAKE_PART,
    ),
)
