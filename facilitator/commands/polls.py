"""`/poll "Question?" "A" "B" … [multi] [anonymous] [remind] [closes in 2d]`, `/poll close`."""

from __future__ import annotations

from facilitator.commands.spec import Arg, ArgKind, ArgumentError, CommandSpec, ParsedArgs, sub
from facilitator.core import CommandContext, Services
from facilitator.domain.model import Role
from facilitator.markup import OutboundMessage
from facilitator.polls.parsing import parse_poll
from facilitator.polls.service import VOTE_ACTION, Polls


def polls(ctx: CommandContext) -> Polls:
    found = ctx.services.features["polls"]
    assert isinstance(found, Polls)
    return found


async def create(ctx: CommandContext, args: ParsedArgs) -> None:
    if ctx.community is None or ctx.origin.is_direct:
        ctx.say("errors.needs_community", private=True)
        return
    try:
        draft = parse_poll(
            args.text("poll") or "", ctx.services.clock.now(), ctx.community.timezone
        )
    except ArgumentError as error:
        body = ctx.rich(error.key, **error.values) + ctx.rich(
            "errors.usage", usage=ctx.t("commands.poll.usage")
        )
        ctx.reply(OutboundMessage(body, ephemeral=True), private=True)
        return
    poll = await polls(ctx).create(ctx, draft)
    ctx.say("polls.created", id=poll.id, private=True)


async def close(ctx: CommandContext, args: ParsedArgs) -> None:
    if ctx.community is None:
        ctx.say("errors.needs_community", private=True)
        return
    poll_id = args.number("id")
    if poll_id is None:
        poll = await ctx.uow.polls.latest_open(ctx.community.id)
    else:
        poll = await ctx.uow.polls.get(poll_id)
    if poll is None or poll.community_id != ctx.community.id or not poll.is_open:
        ctx.say("polls.close.none", private=True)
        return
    if poll.created_by != ctx.member.person_id and ctx.role < Role.MODERATOR:
        ctx.say("polls.close.not_yours", id=poll.id, private=True)
        return
    await polls(ctx).close_now(ctx.uow, poll, ctx.community)
    ctx.say("polls.close.done", id=poll.id, question=poll.question, private=True)


def register(services: Services, feature: Polls) -> None:
    services.features["polls"] = feature
    services.buttons[VOTE_ACTION] = feature.vote_button
    services.poll_votes = feature.vote_native


CLOSE = CommandSpec("close", close, args=(Arg("id", ArgKind.INT, required=False),))

COMMANDS = (
    CommandSpec(
        "poll",
        create,
        args=(Arg("poll", ArgKind.TEXT, max_length=2500),),
        subcommands=(
            sub(
                "poll", CommandSpec("close", close, args=(Arg("id", ArgKind.INT, required=False),))
            ),
        ),
    ),
)
