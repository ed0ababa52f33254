"""`/survey new|template|send|list|close|results`: moderators and coordinators write a survey,
send it privately to the members and read its results privately (text, CSV or chart)."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, replace

from facilitator.commands.arguments import IdArgs, NoArgs
from facilitator.commands.spec import Arg, ArgKind, ArgumentError, CommandSpec, Needs, Topic, sub
from facilitator.context import CommandContext
from facilitator.domain.model import Role
from facilitator.features.knowledge.gaps import tell
from facilitator.features.surveys.answering import counts_as_private
from facilitator.features.surveys.domain import (
    MIN_ANONYMOUS_RESPONSES,
    Question,
    QuestionKind,
    Survey,
    SurveyStatus,
)
from facilitator.features.surveys.parsing import parse_settings, parse_survey, survey_lines
from facilitator.features.surveys.ports import SurveyRepository
from facilitator.features.surveys.results import (
    render_results,
    results_chart,
    results_csv,
    survey_title,
    tally,
)
from facilitator.features.surveys.service import send_survey
from facilitator.localtime import show
from facilitator.markup import Attachment, OutboundMessage, RichText

log = logging.getLogger(__name__)

LISTED = 15
RESULTS_KIND = "survey.results"
FORMATS = ("csv", "chart")
TEMPLATES = ("annual",)
MAX_SURVEY_TEXT = 3500

# The annual evaluation: how useful the community is, whether they would recommend it, what
# they need (each answer a knowledge gap) and what should change. Texts in every language.
ANNUAL = (
    Question(QuestionKind.SCALE, key="surveys.templates.annual.useful"),
    Question(QuestionKind.NPS, key="surveys.templates.annual.recommend"),
    Question(QuestionKind.TEXT, key="surveys.templates.annual.need", gaps=True),
    Question(QuestionKind.TEXT, key="surveys.templates.annual.change"),
)


@dataclass(frozen=True)
class SurveyNewArgs:
    survey: str


@dataclass(frozen=True)
class SurveyTemplateArgs:
    name: str
    settings: str | None


@dataclass(frozen=True)
class SurveyResultsArgs:
    id: int
    format: str | None


def _argument_error(ctx: CommandContext, error: ArgumentError, usage: str) -> None:
    body = ctx.rich(error.key, **ctx.argument_values(error.values)) + ctx.rich(
        "errors.usage", usage=ctx.t(usage)
    )
    ctx.reply(OutboundMessage(body, ephemeral=True), private=True)


async def _created(ctx: CommandContext, survey: Survey) -> None:
    saved = await ctx.uow.repo(SurveyRepository).add(survey)
    log.info("survey created", extra={"survey": saved.id, "community": ctx.here.key})
    ctx.say(
        "surveys.created",
        id=saved.id,
        title=survey_title(saved, ctx.t),
        count=len(saved.questions),
        private=True,
    )


async def new(ctx: CommandContext, args: SurveyNewArgs) -> None:
    community = ctx.here
    try:
        draft = parse_survey(
            args.survey, ctx.services.clock.now(), community.timezone, ctx.services.words
        )
    except ArgumentError as error:
        _argument_error(ctx, error, "commands.survey.new.usage")
        return
    await _created(
        ctx,
        Survey(
            community_id=community.id,
            created_by=ctx.member.person_id,
            title=draft.title,
            questions=draft.questions,
            anonymous=draft.settings.anonymous,
            created_at=ctx.services.clock.now(),
            deadline=draft.settings.deadline,
        ),
    )


async def template(ctx: CommandContext, args: SurveyTemplateArgs) -> None:
    community = ctx.here
    lines = survey_lines(args.settings or "")
    try:
        settings, rest = parse_settings(
            lines, ctx.services.clock.now(), community.timezone, ctx.services.words
        )
        if rest:
            raise ArgumentError("surveys.errors.bad_line", value=rest[0][:40])
    except ArgumentError as error:
        _argument_error(ctx, error, "commands.survey.template.usage")
        return
    await _created(
        ctx,
        Survey(
            community_id=community.id,
            created_by=ctx.member.person_id,
            title="",
            questions=ANNUAL,
            anonymous=settings.anonymous,
            created_at=ctx.services.clock.now(),
            deadline=settings.deadline,
            template=args.name,
        ),
    )


async def _own(ctx: CommandContext, survey_id: int) -> Survey | None:
    """The survey, if it belongs to this community (each community's surveys stay its own)."""
    survey = await ctx.uow.repo(SurveyRepository).get(survey_id)
    if survey is None or survey.community_id != ctx.here.id:
        ctx.say("surveys.not_found", id=survey_id, private=True)
        return None
    return survey


async def send(ctx: CommandContext, args: IdArgs) -> None:
    survey = await _own(ctx, args.id)
    if survey is None or survey.id is None:
        return
    now = ctx.services.clock.now()
    if survey.status is SurveyStatus.CLOSED or (
        survey.deadline is not None and survey.deadline <= now
    ):
        ctx.say("surveys.send.closed", id=survey.id, private=True)
        return
    repo = ctx.uow.repo(SurveyRepository)
    await repo.set_status(survey.id, SurveyStatus.OPEN, now)
    opened = await repo.get(survey.id)
    assert opened is not None
    queued = await send_survey(ctx.uow, ctx.catalogue, opened, ctx.here, now)
    log.info("survey sent", extra={"survey": survey.id, "count": queued})
    ctx.say("surveys.send.done", id=survey.id, count=queued, private=True)


async def listing(ctx: CommandContext, args: NoArgs) -> None:
    repo = ctx.uow.repo(SurveyRepository)
    surveys = await repo.in_community(ctx.here.id, LISTED)
    if not surveys:
        ctx.say("surveys.list.none", private=True)
        return
    counts = await repo.response_counts([s.id for s in surveys if s.id is not None])
    zone = ctx.member.timezone or ctx.here.timezone
    parts = [ctx.rich("surveys.list.header", count=len(surveys))]
    for survey in surveys:
        parts.append(
            ctx.rich(
                "surveys.list.line",
                id=survey.id,
                title=survey_title(survey, ctx.t),
                status=ctx.t(f"surveys.status.{survey.status.value}"),
                count=counts.get(survey.id or 0, 0),
                deadline=show(survey.deadline, zone) if survey.deadline else "—",
            )
        )
    await _to_requester(ctx, OutboundMessage(RichText.join(parts)), "list")


async def close(ctx: CommandContext, args: IdArgs) -> None:
    survey = await _own(ctx, args.id)
    if survey is None or survey.id is None:
        return
    repo = ctx.uow.repo(SurveyRepository)
    if not await repo.set_status(survey.id, SurveyStatus.CLOSED, ctx.services.clock.now()):
        ctx.say("surveys.close.already", id=survey.id, private=True)
        return
    await repo.drop_drafts(survey.id)
    log.info("survey closed", extra={"survey": survey.id})
    ctx.say("surveys.close.done", id=survey.id, title=survey_title(survey, ctx.t), private=True)


async def results(ctx: CommandContext, args: SurveyResultsArgs) -> None:
    """The results, privately to the moderator who asks; an anonymous survey's only from
    `MIN_ANONYMOUS_RESPONSES` responses up (fewer could tell who said what)."""
    survey = await _own(ctx, args.id)
    if survey is None or survey.id is None:
        return
    repo = ctx.uow.repo(SurveyRepository)
    responses = len(await repo.respondents(survey.id))
    if survey.anonymous and responses < MIN_ANONYMOUS_RESPONSES:
        log.info("anonymous results withheld", extra={"survey": survey.id})
        ctx.say(
            "surveys.results.too_few",
            id=survey.id,
            count=responses,
            minimum=MIN_ANONYMOUS_RESPONSES,
            private=True,
        )
        return
    answers = await repo.answers(survey.id)
    tallies = tally(survey, answers)
    log.info("survey results read", extra={"survey": survey.id, "format": args.format or "text"})
    if args.format == "csv":
        names = await _names(ctx, {a.person_id for a in answers if a.person_id is not None})
        content = results_csv(survey, answers, ctx.t, names)
        attachment = Attachment(f"survey-{survey.id}.csv", content, "text/csv")
        body = ctx.rich("surveys.results.csv", id=survey.id, count=responses)
    elif args.format == "chart":
        chart = results_chart(tallies, ctx.t, ctx.locale)
        if chart is None:
            ctx.say("surveys.results.no_chart", id=survey.id, private=True)
            return
        attachment = Attachment(f"survey-{survey.id}.png", chart, "image/png")
        body = ctx.rich("surveys.results.chart", id=survey.id, count=responses)
    else:
        body = render_results(
            ctx.catalogue, ctx.locale, survey, tallies, responses, random.SystemRandom()
        )
        await _to_requester(ctx, OutboundMessage(body), f"results:{survey.id}")
        return
    message = OutboundMessage(body, attachment=attachment)
    await _to_requester(ctx, message, f"results:{survey.id}:{args.format}")


async def _to_requester(ctx: CommandContext, message: OutboundMessage, what: str) -> None:
    """Results and listings are for the moderator alone. Asked in a group, they go to their
    private chat through the outbox (a platform may have no message only one person sees
    there: a Telegram group), and the group hears only that they were sent."""
    if counts_as_private(ctx.origin):
        ctx.reply(replace(message, ephemeral=True), private=True)
        return
    now = ctx.services.clock.now()
    key = f"{RESULTS_KIND}:{ctx.member.person_id}:{what}:{now.isoformat()}"
    if await tell(ctx.uow, ctx.here, ctx.member, key, RESULTS_KIND, message, now):
        ctx.say("surveys.sent_privately", private=True)


async def _names(ctx: CommandContext, people: set[int]) -> dict[int, str]:
    names = {}
    for person in sorted(people):
        identities = await ctx.uow.members.by_person(person)
        if identities:
            names[person] = identities[0].display_name
    return names


COMMANDS = (
    CommandSpec(
        "survey",
        None,
        NoArgs,
        role=Role.MODERATOR,
        topic=Topic.MODERATION,
        subcommands=(
            sub(
                "survey",
                CommandSpec(
                    "new",
                    new,
                    SurveyNewArgs,
                    args=(Arg("survey", ArgKind.TEXT, max_length=MAX_SURVEY_TEXT),),
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                ),
            ),
            sub(
                "survey",
                CommandSpec(
                    "template",
                    template,
                    SurveyTemplateArgs,
                    args=(
                        Arg("name", ArgKind.CHOICE, choices=TEMPLATES),
                        Arg("settings", ArgKind.TEXT, required=False, max_length=300),
                    ),
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                ),
            ),
            sub(
                "survey",
                CommandSpec(
                    "send",
                    send,
                    IdArgs,
                    args=(Arg("id", ArgKind.INT),),
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                ),
            ),
            sub(
                "survey",
                CommandSpec("list", listing, NoArgs, needs=Needs.COMMUNITY, role=Role.MODERATOR),
            ),
            sub(
                "survey",
                CommandSpec(
                    "close",
                    close,
                    IdArgs,
                    args=(Arg("id", ArgKind.INT),),
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                ),
            ),
            sub(
                "survey",
                CommandSpec(
                    "results",
                    results,
                    SurveyResultsArgs,
                    args=(
                        Arg("id", ArgKind.INT),
                        Arg("format", ArgKind.CHOICE, required=False, choices=FORMATS),
                    ),
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                ),
            ),
        ),
    ),
)
