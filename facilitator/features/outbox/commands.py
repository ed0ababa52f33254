"""`/outbox` for moderators: what waits to be sent, and what could not be."""

from __future__ import annotations

from dataclasses import dataclass

from facilitator.commands.spec import Arg, ArgKind, CommandSpec, Needs, NoArgs, Topic, sub
from facilitator.context import CommandContext
from facilitator.domain.model import Role
from facilitator.domain.outbox import TROUBLE, WAITING, OutboxRecord, OutboxStatus
from facilitator.localtime import show
from facilitator.markup import OutboundMessage, RichText

LISTED = 15
MAX_ERROR = 160


@dataclass(frozen=True)
class RetryArgs:
    id: int


async def outbox(ctx: CommandContext, args: NoArgs) -> None:
    community = ctx.here
    counts = await ctx.uow.outbox.counts(community.id)
    parts = [
        ctx.rich(
            "outbox.status.header",
            community=community.title,
            waiting=sum(counts.get(s, 0) for s in WAITING),
            held=counts.get(OutboxStatus.HELD, 0),
            sent=counts.get(OutboxStatus.SENT, 0),
            failed=counts.get(OutboxStatus.FAILED, 0),
            uncertain=counts.get(OutboxStatus.UNCERTAIN, 0),
            skipped=counts.get(OutboxStatus.SKIPPED, 0),
        )
    ]
    trouble = await ctx.uow.outbox.listing(community.id, TROUBLE, LISTED)
    if not trouble:
        parts.append(ctx.rich("outbox.status.no_trouble"))
    else:
        parts.append(ctx.rich("outbox.status.trouble"))
        for record in trouble:
            parts.append(
                ctx.rich(
                    "outbox.status.line",
                    id=record.id,
                    kind=record.kind,
                    recipient=await _recipient(ctx, record),
                    when=show(record.due_at, community.timezone),
                    status=ctx.t(f"outbox.states.{record.status.value}"),
                    attempts=record.attempts,
                    error=_clip(record.last_error or ""),
                )
            )
    ctx.reply(OutboundMessage(RichText.join(parts)), private=True)


async def _recipient(ctx: CommandContext, record: OutboxRecord) -> str:
    if record.fallback is not None:
        return record.fallback.name
    if record.person_id is not None and record.destination.is_direct:
        people = await ctx.uow.members.by_person(record.person_id)
        if people:
            return people[0].display_name
    return ctx.t("outbox.recipients.group")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


async def retry(ctx: CommandContext, args: RetryArgs) -> None:
    record_id = args.id
    record = await ctx.uow.outbox.get(record_id)
    moved = (
        record is not None
        and record.community_id == ctx.here.id
        and await ctx.uow.outbox.transition(
            record_id, TROUBLE, OutboxStatus.PENDING, ctx.services.clock.now()
        )
    )
    if not moved:
        ctx.say("outbox.retry.not_possible", id=record_id, private=True)
        return
    ctx.say("outbox.retry.done", id=record_id, private=True)


COMMANDS = (
    CommandSpec(
        "outbox",
        outbox,
        NoArgs,
        needs=Needs.COMMUNITY,
        role=Role.MODERATOR,
        subcommands=(
            sub(
                "outbox",
                CommandSpec(
                    "retry",
                    retry,
                    RetryArgs,
                    args=(Arg("id", ArgKind.INT),),
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                ),
            ),
        ),
        topic=Topic.MODERATION,
    ),
)
