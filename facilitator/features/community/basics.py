"""Commands every member has: /start, /help (in `help.py`), /lang, /whoami, /link."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from facilitator.commands.spec import Arg, ArgKind, CommandSpec, NoArgs, Topic
from facilitator.context import CommandContext
from facilitator.features.community.help import HelpArgs, help_command, help_from_start
from facilitator.features.community.rules import rules_of
from facilitator.markup import OutboundMessage, RichText

LINK_CODE_TTL = timedelta(minutes=15)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class StartArgs:
    payload: str | None


@dataclass(frozen=True)
class LangArgs:
    language: str | None


@dataclass(frozen=True)
class LinkArgs:
    code: str | None


async def start(ctx: CommandContext, args: StartArgs) -> None:
    asked = help_from_start(args.payload or "")
    if asked is not None:  # back from a group's link to the help (Telegram)
        await help_command(ctx, asked)
        return
    purpose = ""
    if ctx.community is not None:
        purposes = ctx.community.setting("purpose", {})
        if isinstance(purposes, dict):
            purpose = str(purposes.get(ctx.locale) or purposes.get("en") or "")
    title = ctx.community.title if ctx.community else ctx.t("core.start.no_community")
    ctx.say("core.start.greeting", name=ctx.member.display_name, community=title)
    if purpose:
        ctx.say("core.start.purpose", purpose=purpose)
    rules = rules_of(ctx.community)
    if rules and ctx.community is not None:
        ctx.say("core.rules", community=ctx.community.title, rules=rules)
    ctx.say("core.start.next_steps")


async def lang(ctx: CommandContext, args: LangArgs) -> None:
    chosen = args.language
    if chosen is None:
        ctx.say("core.lang.current", language=ctx.t(f"core.languages.{ctx.locale}"))
        return
    await ctx.uow.members.set_language(ctx.member.person_id, chosen)
    ctx.locale = chosen
    ctx.say("core.lang.changed", language=ctx.t(f"core.languages.{chosen}"))


async def whoami(ctx: CommandContext, args: NoArgs) -> None:
    identities = await ctx.uow.members.by_person(ctx.member.person_id)
    community = ctx.community.title if ctx.community else ctx.t("core.start.no_community")
    parts = [
        ctx.rich(
            "core.whoami.summary",
            name=ctx.member.display_name,
            role=ctx.role_label(ctx.role),
            community=community,
            language=ctx.t(f"core.languages.{ctx.locale}"),
        )
    ]
    parts.extend(
        ctx.rich(
            "core.whoami.identity",
            platform=identity.platform.value,
            user_id=identity.platform_user_id,
            name=identity.display_name,
        )
        for identity in identities
    )
    ctx.reply(OutboundMessage(RichText.join(parts)))


async def link(ctx: CommandContext, args: LinkArgs) -> None:
    code = args.code
    now = ctx.services.clock.now()
    if code is None:
        issued = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        await ctx.uow.link_codes.put(issued, ctx.member.identity_id, now + LINK_CODE_TTL)
        ctx.say(
            "core.link.issued",
            code=issued,
            minutes=int(LINK_CODE_TTL.total_seconds() // 60),
            private=True,
        )
        return
    issuer = await ctx.uow.link_codes.take(code.upper(), now)
    if issuer is None:
        ctx.say("core.link.invalid", private=True)
        return
    mine = await ctx.uow.members.by_person(ctx.member.person_id)
    if any(m.identity_id == issuer for m in mine):
        ctx.say("core.link.same_account", private=True)
        return
    issuer_person = await ctx.uow.members.person_of_identity(issuer)
    if issuer_person is None:
        ctx.say("core.link.invalid", private=True)
        return
    await ctx.uow.members.merge_people(issuer_person, ctx.member.person_id)
    linked = await ctx.uow.members.by_person(issuer_person)
    ctx.say("core.link.done", count=len(linked), private=True)


COMMANDS = (
    # Telegram's deep links (t.me/<bot>?start=<payload>) arrive as `/start <payload>`.
    CommandSpec(
        "start",
        start,
        StartArgs,
        args=(Arg("payload", required=False, max_length=64),),
        topic=Topic.BASICS,
    ),
    CommandSpec(
        "help",
        help_command,
        HelpArgs,
        # A topic's word in any language, or a command's name.
        args=(Arg("topic", ArgKind.TEXT, required=False, max_length=64),),
        topic=Topic.BASICS,
    ),
    CommandSpec(
        "lang",
        lang,
        LangArgs,
        args=(Arg("language", ArgKind.LOCALE, required=False),),
        topic=Topic.BASICS,
    ),
    CommandSpec("whoami", whoami, NoArgs, topic=Topic.BASICS),
    CommandSpec(
        "link",
        link,
        LinkArgs,
        args=(Arg("code", required=False, max_length=16),),
        topic=Topic.BASICS,
    ),
)
