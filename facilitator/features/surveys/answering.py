"""Answering a survey: question by question with buttons in a private chat (Telegram, the
demo), a free-text answer taken from the member's next private message, or all at once in a
form (a Slack modal). Both end in `complete`, which stores the answers once.

Button data comes from the member's client: every press is checked against the survey (it
exists and is open), the member (still in its community, not answered yet), their draft (the
question they are on) and the question (a value it allows); a refusal is one log line."""

from __future__ import annotations

import logging
import secrets

from facilitator.commands.forms import submitted_context, submitted_values
from facilitator.commands.spec import parse_id
from facilitator.context import CommandContext
from facilitator.domain.events import MessageReceived, Origin
from facilitator.domain.model import Member, Platform
from facilitator.features.knowledge.domain import KnowledgeGap
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.render import clip
from facilitator.features.knowledge.service import KnowledgeBase
from facilitator.features.surveys.domain import (
    NPS,
    SCALE,
    Answer,
    Draft,
    Question,
    QuestionKind,
    Survey,
)
from facilitator.features.surveys.ports import SurveyRepository
from facilitator.features.surveys.results import numbers, question_text, survey_title
from facilitator.markup import Button, FieldKind, FieldOption, Form, FormField, OutboundMessage

log = logging.getLogger(__name__)

PICK_ACTION = "survey_pick"
DONE_ACTION = "survey_done"
SUBMIT_ACTION = "survey_submit"
MAX_ANSWER = 1000
MAX_GAP = 500


def counts_as_private(origin: Origin) -> bool:
    """A private chat, or the demo's one chat, where every line is spoken to the bot and only
    the person at the terminal reads the answers."""
    return origin.is_direct or origin.platform is Platform.CONSOLE


def _refuse(ctx: CommandContext, reason: str, key: str = "errors.stale_button") -> None:
    log.warning("survey answer refused", extra={"reason": reason})
    ctx.say(key, private=True)


async def _answerable(ctx: CommandContext, survey_id: int | None) -> Survey | None:
    """The survey, if this member may answer it now; otherwise they are told why."""
    repo = ctx.uow.repo(SurveyRepository)
    survey = await repo.get(survey_id) if survey_id is not None else None
    if survey is None or survey.id is None:
        _refuse(ctx, "unknown survey")
        return None
    now = ctx.services.clock.now()
    if not survey.is_open or (survey.deadline is not None and survey.deadline <= now):
        _refuse(ctx, "survey not open", "surveys.answer.closed")
        return None
    held = await ctx.uow.members.membership(ctx.member.person_id, survey.community_id)
    if held is None or held.left_at is not None:
        _refuse(ctx, "not a member of the survey's community", "surveys.answer.not_member")
        return None
    if await repo.has_answered(survey.id, ctx.member.person_id):
        _refuse(ctx, "answered already", "surveys.answer.already")
        return None
    return survey


def allowed(question: Question, value: int) -> bool:
    if question.kind is QuestionKind.SCALE:
        return value in SCALE
    if question.kind is QuestionKind.NPS:
        return value in NPS
    if question.kind.has_options:
        return 0 <= value < len(question.options)
    return False


def question_message(ctx: CommandContext, survey: Survey, draft: Draft) -> OutboundMessage:
    """The question the member is on, with its buttons (none for free text: they write)."""
    assert survey.id is not None
    index = draft.position
    question = survey.questions[index]
    body = ctx.rich(
        "surveys.answer.question",
        number=index + 1,
        total=len(survey.questions),
        question=question_text(question, ctx.t),
    ) + ctx.rich(f"surveys.answer.hint.{question.kind.value}")
    prefix = f"{survey.id}:{index}:"
    kind = question.kind
    rows: list[tuple[Button, ...]] = []
    if kind is QuestionKind.SCALE:
        rows.append(tuple(Button(str(p), PICK_ACTION, f"{prefix}{p}") for p in SCALE))
    elif kind is QuestionKind.NPS:
        rows.append(tuple(Button(str(p), PICK_ACTION, f"{prefix}{p}") for p in NPS[:6]))
        rows.append(tuple(Button(str(p), PICK_ACTION, f"{prefix}{p}") for p in NPS[6:]))
    elif kind.has_options:
        chosen = set(numbers(draft.values.get(index, "")))
        for i, option in enumerate(question.options):
            mark = "✓ " if kind is QuestionKind.MULTIPLE and i in chosen else ""
            rows.append((Button(mark + option, PICK_ACTION, f"{prefix}{i}"),))
        if kind is QuestionKind.MULTIPLE:
            rows.append(
                (Button(ctx.t("surveys.answer.done"), DONE_ACTION, f"{survey.id}:{index}"),)
            )
    return OutboundMessage(body, buttons=tuple(rows), ephemeral=True)


def survey_form(ctx: CommandContext, survey: Survey) -> Form:
    """Every question as one field of a form (a Slack modal)."""
    fields = []
    for index, question in enumerate(survey.questions):
        label = f"{index + 1}. {question_text(question, ctx.t)}"
        kind = question.kind
        if kind is QuestionKind.TEXT:
            fields.append(
                FormField(f"q{index}", FieldKind.LONG_TEXT, label, max_length=MAX_ANSWER)
            )
            continue
        if kind is QuestionKind.SCALE or kind is QuestionKind.NPS:
            points = SCALE if kind is QuestionKind.SCALE else NPS
            options = tuple(FieldOption(str(p), str(p)) for p in points)
        else:
            options = tuple(FieldOption(str(i), o) for i, o in enumerate(question.options))
        fields.append(
            FormField(
                f"q{index}",
                FieldKind.CHECKBOX if kind is QuestionKind.MULTIPLE else FieldKind.CHOICE,
                label,
                required=kind is not QuestionKind.MULTIPLE,
                options=options,
                hint=ctx.t(f"surveys.answer.hint.{kind.value}"),
            )
        )
    return Form(
        form_id=SUBMIT_ACTION,
        title=ctx.t("surveys.form.title"),
        submit=ctx.t("surveys.form.submit"),
        fields=tuple(fields),
        conversation=ctx.origin.chat_id,
        context=str(survey.id),
    )


async def start_button(ctx: CommandContext, value: str) -> None:
    """The survey's "Answer" button: the first question (and, where the platform draws
    forms, the whole survey as one). Pressed again halfway, it goes on from the question the
    member is on: the answers so far are kept."""
    survey = await _answerable(ctx, parse_id(value))
    if survey is None or survey.id is None:
        return
    repo = ctx.uow.repo(SurveyRepository)
    draft = await repo.draft(survey.id, ctx.member.person_id)
    if draft is None or draft.position >= len(survey.questions):
        draft = Draft(survey.id, ctx.member.person_id, 0, {})
        await repo.save_draft(draft, ctx.services.clock.now())
    first = question_message(ctx, survey, draft)
    intro = ctx.rich(
        "surveys.answer.intro",
        title=survey_title(survey, ctx.t),
        count=len(survey.questions),
    )
    log.info("survey started", extra={"survey": survey.id})
    ctx.reply(
        OutboundMessage(
            intro + first.body,
            buttons=first.buttons,
            ephemeral=True,
            form=survey_form(ctx, survey),
        ),
        private=True,
    )


async def _current(
    ctx: CommandContext, survey_id: int | None, index: int | None
) -> tuple[Survey, Draft] | None:
    survey = await _answerable(ctx, survey_id)
    if survey is None or survey.id is None:
        return None
    draft = await ctx.uow.repo(SurveyRepository).draft(survey.id, ctx.member.person_id)
    if draft is None or index is None or draft.position != index:
        _refuse(ctx, "not the question the member is on")
        return None
    return survey, draft


async def pick_button(ctx: CommandContext, value: str) -> None:
    """An answer button: `survey:question:value`."""
    parts = value.split(":")
    ids = [parse_id(p) for p in parts] if len(parts) == 3 else []
    if len(ids) != 3 or None in ids:
        _refuse(ctx, "malformed button")
        return
    survey_id, index, chosen = ids
    found = await _current(ctx, survey_id, index)
    if found is None:
        return
    survey, draft = found
    assert index is not None and chosen is not None
    question = survey.questions[index]
    if not allowed(question, chosen):
        _refuse(ctx, "value out of range")
        return
    values = dict(draft.values)
    if question.kind is QuestionKind.MULTIPLE:
        picked = set(numbers(values.get(index, "")))
        picked ^= {chosen}
        values[index] = ",".join(str(p) for p in sorted(picked))
        toggled = Draft(draft.survey_id, draft.person_id, index, values)
        await ctx.uow.repo(SurveyRepository).save_draft(toggled, ctx.services.clock.now())
        ctx.reply(question_message(ctx, survey, toggled), private=True)
        return
    values[index] = str(chosen)
    await _advance(ctx, survey, Draft(draft.survey_id, draft.person_id, index, values))


async def done_button(ctx: CommandContext, value: str) -> None:
    """A multiple-choice question's "Done": `survey:question`."""
    parts = value.split(":")
    ids = [parse_id(p) for p in parts] if len(parts) == 2 else []
    if len(ids) != 2 or None in ids:
        _refuse(ctx, "malformed button")
        return
    found = await _current(ctx, ids[0], ids[1])
    if found is None:
        return
    survey, draft = found
    question = survey.questions[draft.position]
    if question.kind is not QuestionKind.MULTIPLE:
        _refuse(ctx, "done on a question that is not multiple choice")
        return
    if not numbers(draft.values.get(draft.position, "")):
        ctx.say("surveys.answer.pick_one", private=True)
        return
    await _advance(ctx, survey, draft)


async def take_text(ctx: CommandContext, event: MessageReceived) -> bool:
    """A private message while the member is on a free-text question is its answer (and is
    not looked up as a question). The demo's one chat counts as private: every line there is
    spoken to the bot."""
    if not counts_as_private(ctx.origin):
        return False
    repo = ctx.uow.repo(SurveyRepository)
    draft = await repo.pending_draft(ctx.member.person_id)
    if draft is None:
        return False
    survey = await repo.get(draft.survey_id)
    if (
        survey is None
        or draft.position >= len(survey.questions)
        or survey.questions[draft.position].kind is not QuestionKind.TEXT
    ):
        return False
    if await _answerable(ctx, survey.id) is None:
        await repo.drop_draft(draft.survey_id, draft.person_id)
        return True
    text = event.text.strip()
    if not text:
        return False
    if len(text) > MAX_ANSWER:
        ctx.say("surveys.answer.too_long", limit=MAX_ANSWER, private=True)
        return True
    values = dict(draft.values)
    values[draft.position] = text
    await _advance(ctx, survey, Draft(draft.survey_id, draft.person_id, draft.position, values))
    return True


async def _advance(ctx: CommandContext, survey: Survey, draft: Draft) -> None:
    assert survey.id is not None
    following = draft.position + 1
    if following < len(survey.questions):
        moved = Draft(draft.survey_id, draft.person_id, following, draft.values)
        await ctx.uow.repo(SurveyRepository).save_draft(moved, ctx.services.clock.now())
        ctx.reply(question_message(ctx, survey, moved), private=True)
        return
    await _finish(ctx, survey, draft.values)


async def _finish(ctx: CommandContext, survey: Survey, values: dict[int, str]) -> None:
    if await complete(ctx, survey, ctx.member, values):
        log.info("survey answered", extra={"survey": survey.id})
        ctx.say("surveys.answer.thanks", title=survey_title(survey, ctx.t), private=True)
    else:
        _refuse(ctx, "answered already", "surveys.answer.already")


async def submit_button(ctx: CommandContext, value: str) -> None:
    """The survey's form came back (a Slack modal): every answer checked, then stored."""
    survey = await _answerable(ctx, parse_id(submitted_context(value)))
    if survey is None:
        return
    fields = submitted_values(value)
    values: dict[int, str] = {}
    for index, question in enumerate(survey.questions):
        raw = fields.get(f"q{index}")
        if question.kind is QuestionKind.TEXT:
            text = raw.strip() if isinstance(raw, str) else ""
            if not text or len(text) > MAX_ANSWER:
                _refuse(ctx, "form text missing or too long", "surveys.answer.invalid")
                return
            values[index] = text
        elif question.kind is QuestionKind.MULTIPLE:
            chosen = [parse_id(v) for v in raw] if isinstance(raw, list) else []
            if any(c is None or not allowed(question, c) for c in chosen):
                _refuse(ctx, "form option out of range", "surveys.answer.invalid")
                return
            if chosen:
                values[index] = ",".join(
                    str(c) for c in sorted({c for c in chosen if c is not None})
                )
        else:
            picked = parse_id(raw) if isinstance(raw, str) else None
            if picked is None or not allowed(question, picked):
                _refuse(ctx, "form value out of range", "surveys.answer.invalid")
                return
            values[index] = str(picked)
    await _finish(ctx, survey, values)


async def complete(
    ctx: CommandContext, survey: Survey, member: Member, values: dict[int, str]
) -> bool:
    """Store one member's answers, once. An anonymous survey's answers carry no person and
    no time; the member joins the set of respondents either way. A template's "what do you
    need" answers become knowledge gaps of the survey's community."""
    assert survey.id is not None
    now = ctx.services.clock.now()
    response = secrets.token_hex(8)
    named = not survey.anonymous
    answers = [
        Answer(
            response,
            index,
            value,
            member.person_id if named else None,
            now if named else None,
        )
        for index, value in sorted(values.items())
        if value
    ]
    repo = ctx.uow.repo(SurveyRepository)
    if not await repo.respond(survey.id, member.person_id, answers):
        return False
    await repo.drop_draft(survey.id, member.person_id)
    await _gaps(ctx, survey, member, values)
    return True


async def _gaps(
    ctx: CommandContext, survey: Survey, member: Member, values: dict[int, str]
) -> None:
    if ctx.services.optional(KnowledgeBase) is None:
        return  # no knowledge feature here: nothing records gaps
    guess = ctx.services.guess_language
    for index, question in enumerate(survey.questions):
        text = values.get(index, "").strip()
        if not question.gaps or not text:
            continue
        await ctx.uow.repo(KnowledgeRepository).add_gap(
            KnowledgeGap(
                community_id=survey.community_id,
                query=clip(text, MAX_GAP),
                lang=guess(text, ctx.locale) if guess is not None else ctx.locale,
                # An anonymous answer's gap names nobody and takes the survey's time.
                created_at=(survey.sent_at or survey.created_at)
                if survey.anonymous
                else ctx.services.clock.now(),
                person_id=None if survey.anonymous else member.person_id,
                is_direct=True,
            )
        )
