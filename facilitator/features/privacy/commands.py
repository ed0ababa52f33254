"""Privacy commands: /optout, /optin, /mydata and /forgetme."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from facilitator.commands.spec import Arg, ArgKind, CommandSpec, NoArgs, Topic
from facilitator.context import CommandContext
from facilitator.features.privacy.service import PersonalRecords
from facilitator.markup import Attachment, Button, OutboundMessage

log = logging.getLogger(__name__)

FORGET_ACTION = "privacy_forget"
SCOPES = ("all", "tracking", "nudges")


@dataclass(frozen=True)
class ScopeArgs:
    what: str | None


async def _set_opt_out(ctx: CommandContext, scope: str, value: bool) -> None:
    tracking = value if scope in ("all", "tracking") else None
    nudges = value if scope in ("all", "nudges") else None
    await ctx.uow.members.set_opt_out(ctx.member.person_id, tracking=tracking, nudges=nudges)
    log.info("opt-out changed", extra={"scope": scope, "opted_out": value})


async def optout(ctx: CommandContext, args: ScopeArgs) -> None:
    scope = args.what or "all"
    await _set_opt_out(ctx, scope, True)
    ctx.say(f"participation.privacy.optout_{scope}", private=True)


async def optin(ctx: CommandContext, args: ScopeArgs) -> None:
    scope = args.what or "all"
    await _set_opt_out(ctx, scope, False)
    ctx.say(f"participation.privacy.optin_{scope}", private=True)


async def mydata(ctx: CommandContext, args: NoArgs) -> None:
    records = ctx.services.feature(PersonalRecords)
    data = await records.export(ctx.uow, ctx.member.person_id)
    now = ctx.services.clock.now()
    content = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    body = ctx.rich(
        "participation.privacy.mydata",
        records=len(data.get("participation", [])),
        accounts=len(data.get("identities", [])),
        communities=len(data.get("memberships", [])),
    )
    attachment = Attachment(
        filename=f"mydata-{now.date().isoformat()}.json",
        content=content,
        mime_type="application/json",
        caption=ctx.rich("participation.privacy.mydata_file", date=now.date().isoformat()),
    )
    ctx.reply(OutboundMessage(body, ephemeral=True, attachment=attachment), private=True)


async def forgetme(ctx: CommandContext, args: NoArgs) -> None:
    button = Button(ctx.t("participation.privacy.forget_button"), FORGET_ACTION, "confirm")
    ctx.say("participation.privacy.forget_confirm", buttons=((button,),), private=True)


async def forget_pressed(ctx: CommandContext, value: str) -> None:
    if value != "confirm":
        ctx.say("errors.stale_button", private=True)
        return
    records = ctx.services.feature(PersonalRecords)
    erased = await records.forget(ctx.uow, ctx.member.person_id)
    log.info("person erased on request", extra={"records": sum(erased.values())})
    ctx.say("participation.privacy.forgotten", count=sum(erased.values()), private=True)


_SCOPE = Arg("what", ArgKind.CHOICE, required=False, choices=SCOPES)

COMMANDS = (
    CommandSpec("optout", optout, ScopeArgs, args=(_SCOPE,), topic=Topic.DATA),
    CommandSpec("optin", optin, ScopeArgs, args=(_SCOPE,), topic=Topic.DATA),
    CommandSpec("mydata", mydata, NoArgs, topic=Topic.DATA),
    CommandSpec("forgetme", forgetme, NoArgs, topic=Topic.DATA),
)
