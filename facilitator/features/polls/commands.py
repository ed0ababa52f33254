"""`/poll "Question?" "A" "B" … [multi] [anonymous] [remind] [closes in 2d]`, `/poll close`."""

from __future__ import annotations

from dataclasses import dataclass

from facilitator.commands.forms import Choice, FieldSpec, FormInput, FormSpec
from facilitator.commands.spec import Arg, ArgKind, ArgumentError, CommandSpec, Needs, Topic, sub
from facilitator.context import CommandContext
from facilitator.domain.model import Role
from facilitator.features.polls.domain import PollDraft
from facilitator.features.polls.parsing import (
    MAX_OPTION,
    MAX_OPTIONS,
    MAX_QUESTION,
    build_poll,
    closing_on,
    doubtful_flags,
    parse_poll,
    rewritten,
)
from facilitator.features.polls.ports import PollRepository
from facilitator.features.polls.service import Polls
from facilitator.markup import FieldKind, OutboundMessage

SETTINGS = ("multiple", "anonymous", "remind")


@dataclass(frozen=True)
class PollText:
    poll: str


# `/poll`'s arguments: the text as typed, or the poll its form built (and checked) already.
PollArgs = PollText | PollDraft


@dataclass(frozen=True)
class PollCloseArgs:
    id: int | None


def polls(ctx: CommandContext) -> Polls:
    found = ctx.services.feature(Polls)
    assert isinstance(found, Polls)
    return found


async def create(ctx: CommandContext, args: PollArgs) -> None:
    if isinstance(args, PollDraft):
        draft = args
    else:
        words = ctx.services.words
        try:
            draft = parse_poll(args.poll, ctx.services.clock.now(), ctx.here.timezone, words)
        except ArgumentError as error:
            body = ctx.rich(error.key, **ctx.argument_values(error.values)) + ctx.rich(
                "errors.usage", usage=ctx.t("commands.poll.usage")
            )
            ctx.reply(OutboundMessage(body, ephemeral=True), private=True)
            return
        if _doubted(ctx, args.poll):
            return
    poll = await polls(ctx).create(ctx, draft)
    ctx.say("polls.created", id=poll.id, private=True)


async def close(ctx: CommandContext, args: PollCloseArgs) -> None:
    community = ctx.here
    if args.id is None:
        poll = await ctx.uow.repo(PollRepository).latest_open(community.id)
    else:
        poll = await ctx.uow.repo(PollRepository).get(args.id)
    if poll is None or poll.community_id != community.id:
        ctx.say("polls.close.none", private=True)
        return
    if not poll.is_open:
        # Already closed (by its timer or someone else): its results, again, privately.
        results = polls(ctx).results_message(poll, community, ctx.locale)
        body = ctx.rich("polls.close.already", id=poll.id, question=poll.question)
        ctx.reply(OutboundMessage(body + results.body, ephemeral=True), private=True)
        return
    if poll.created_by != ctx.member.person_id and ctx.role < Role.MODERATOR:
        ctx.say("polls.close.not_yours", id=poll.id, private=True)
        return
    await polls(ctx).close_now(ctx.uow, poll, community)
    ctx.say("polls.close.done", id=poll.id, question=poll.question, private=True)


def _doubted(ctx: CommandContext, raw: str) -> bool:
    """A poll whose last unquoted words look like misspelt flags is not posted: its author is
    told, privately, the two ways to send it (the flag fixed, or the word quoted as an option),
    each ready to copy, as group bots do when a command is ambiguous."""
    doubts = doubtful_flags(raw, ctx.services.words)
    if not doubts:
        return False
    typed = [d.token.text for d in doubts]
    fixed = rewritten(raw, doubts, [ctx.word(d.flag) for d in doubts])
    quoted = rewritten(raw, doubts, [f"“{t}”" if '"' in t else f'"{t}"' for t in typed])
    ctx.say(
        "polls.doubtful",
        count=len(doubts),
        typed=", ".join(typed),
        flags=", ".join(ctx.word(d.flag) for d in doubts),
        fixed=f"/poll {fixed}",
        quoted=f"/poll {quoted}",
        private=True,
    )
    return True


def from_form(form: FormInput) -> PollDraft:
    """The poll form's fields -> the poll, checked as `/poll`'s text is."""
    if not form.text("question"):
        raise ArgumentError("polls.errors.no_question")
    day, hour = form.text("closes_on"), form.text("closes_at")
    if hour and not day:
        raise ArgumentError("polls.errors.bad_close", value=hour[:20])
    closes_at = closing_on(day, hour or None, form.now, form.timezone) if day else None
    return build_poll(
        form.text("question"),
        form.lines("options"),
        form.chosen("settings") & set(SETTINGS),
        closes_at,
    )


FORM: FormSpec[PollArgs] = FormSpec(
    title_key="forms.poll.title",
    submit_key="forms.poll.submit",
    fields=(
        FieldSpec("question", "forms.poll.question", max_length=MAX_QUESTION),
        FieldSpec(
            "options",
            "forms.poll.options",
            FieldKind.OPTIONS,
            max_length=MAX_OPTIONS * (MAX_OPTION + 1),
            hint_key="forms.poll.options_hint",
        ),
        FieldSpec("closes_on", "forms.poll.closes_on", FieldKind.DATE, required=False),
        FieldSpec("closes_at", "forms.poll.closes_at", FieldKind.TIME, required=False),
        FieldSpec(
            "settings",
            "forms.poll.settings",
            FieldKind.CHECKBOX,
            required=False,
            choices=(
                Choice("multiple", "forms.poll.multiple"),
                Choice("anonymous", "forms.poll.anonymous"),
                Choice("remind", "forms.poll.remind"),
            ),
        ),
    ),
    convert=from_form,
)

COMMANDS = (
    CommandSpec(
        "poll",
        create,
        PollText,
        args=(Arg("poll", ArgKind.TEXT, max_length=2500),),
        needs=Needs.GROUP,
        form=FORM,
        subcommands=(
            sub(
                "poll",
                CommandSpec(
                    "close",
                    close,
                    PollCloseArgs,
                    args=(Arg("id", ArgKind.INT, required=False),),
                    needs=Needs.COMMUNITY,
                ),
            ),
        ),
        topic=Topic.TAKE_PART,
    ),
)
