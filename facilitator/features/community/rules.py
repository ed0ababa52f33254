"""The community's rules: moderators set them with /rules set, everyone reads them with /rules."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from facilitator.commands.spec import Arg, ArgKind, CommandSpec, Needs, NoArgs, Topic, sub
from facilitator.context import CommandContext
from facilitator.domain.model import RULES_SETTING, Community, Role

log = logging.getLogger(__name__)

# Long enough for a handful of rules, short enough to sit under a welcome in one message.
MAX_RULES_LENGTH = 1500


@dataclass(frozen=True)
class RulesSetArgs:
    text: str


def rules_of(community: Community | None) -> str:
    """The rules a community's moderators set, or "" where there are none."""
    return "" if community is None else community.rules


async def show_rules(ctx: CommandContext, args: NoArgs) -> None:
    rules = rules_of(ctx.here)
    if not rules:
        ctx.say("community.rules.none", community=ctx.here.title)
        return
    ctx.say("core.rules", community=ctx.here.title, rules=rules)


async def set_rules(ctx: CommandContext, args: RulesSetArgs) -> None:
    rules = args.text.strip()
    if not rules:
        ctx.say("community.rules.empty", private=True)
        return
    await _store(ctx, rules)
    log.info("rules set", extra={"community": ctx.here.key, "length": len(rules)})
    ctx.say("community.rules.saved", community=ctx.here.title)


async def clear_rules(ctx: CommandContext, args: NoArgs) -> None:
    await _store(ctx, None)
    log.info("rules cleared", extra={"community": ctx.here.key})
    ctx.say("community.rules.cleared", community=ctx.here.title)


async def _store(ctx: CommandContext, rules: str | None) -> None:
    settings = {k: v for k, v in ctx.here.settings.items() if k != RULES_SETTING}
    if rules is not None:
        settings[RULES_SETTING] = rules
    community = replace(ctx.here, settings=settings)
    await ctx.uow.communities.update(community)
    ctx.community = community


COMMANDS = (
    CommandSpec(
        "rules",
        show_rules,
        NoArgs,
        needs=Needs.COMMUNITY,
        subcommands=(
            sub(
                "rules",
                CommandSpec(
                    "set",
                    set_rules,
                    RulesSetArgs,
                    args=(Arg("text", ArgKind.TEXT, max_length=MAX_RULES_LENGTH),),
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                    topic=Topic.MODERATION,
                ),
            ),
            sub(
                "rules",
                CommandSpec(
                    "clear",
                    clear_rules,
                    NoArgs,
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                    topic=Topic.MODERATION,
                ),
            ),
        ),
        topic=Topic.BASICS,
    ),
)
