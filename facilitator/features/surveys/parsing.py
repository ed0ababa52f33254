"""`/survey new`'s compact text -> a survey's questions and settings.

    /survey new Spring check-in
    scale: How useful were the sessions?
    choice: Which day suits you? | Monday | Wednesday | Friday
    multi: Which topics? | water | soil | seeds
    text: What should we change?
    nps: How likely are you to recommend us to a colleague?
    deadline: 2026-12-20 18:00
    anonymous

The first line is the title; then one question or setting a line. Where a command is one line
(a Slack slash command, the demo), `;` separates them instead:

    /survey new Spring check-in; scale: How useful were the sessions?; anonymous

The kinds and settings are typed in any of our languages (`words.*`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from facilitator.commands.arguments import ArgumentError, Words
from facilitator.features.polls.parsing import closing_on
from facilitator.features.surveys.domain import Question, QuestionKind

MAX_TITLE = 200
MAX_QUESTION = 300
MAX_QUESTIONS = 12
MAX_OPTION = 75
MAX_OPTIONS = 10  # a Slack modal shows at most ten checkboxes
KINDS = tuple(k.value for k in QuestionKind)
SETTINGS = ("deadline", "anonymous")


@dataclass(frozen=True)
class SurveySettings:
    deadline: datetime | None = None
    anonymous: bool = False


@dataclass(frozen=True)
class SurveyDraft:
    title: str
    questions: tuple[Question, ...]
    settings: SurveySettings


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_settings(
    lines: list[str], now: datetime, zone: str, words: Words
) -> tuple[SurveySettings, list[str]]:
    """The settings among `lines` (`deadline: …`, `anonymous`), and the other lines."""
    deadline: datetime | None = None
    anonymous = False
    rest = []
    for line in lines:
        head, colon, tail = line.partition(":")
        if not colon and words.canonical(("anonymous",), line):
            anonymous = True
        elif colon and words.canonical(("deadline",), head.strip()):
            day, _, hour = tail.strip().partition(" ")
            if not day:
                raise ArgumentError("surveys.errors.bad_deadline", value=_clip(tail.strip()))
            try:
                deadline = closing_on(day, hour.strip() or None, now, zone)
            except ArgumentError as error:
                if error.key != "polls.errors.bad_close":
                    raise  # in the past, too soon, too far: the polls' own words fit
                raise ArgumentError(
                    "surveys.errors.bad_deadline", value=_clip(tail.strip())
                ) from error
        else:
            rest.append(line)
    return SurveySettings(deadline, anonymous), rest


def parse_question(line: str, words: Words) -> Question:
    head, colon, tail = line.partition(":")
    kind_word = words.canonical(KINDS, head.strip()) if colon else None
    if kind_word is None:
        raise ArgumentError("surveys.errors.bad_line", value=_clip(line))
    kind = QuestionKind(kind_word)
    parts = [p.strip() for p in tail.split("|")]
    text, options = parts[0], tuple(p for p in parts[1:] if p)
    if not text:
        raise ArgumentError("surveys.errors.bad_line", value=_clip(line))
    if len(text) > MAX_QUESTION:
        raise ArgumentError("surveys.errors.question_too_long", limit=MAX_QUESTION)
    if kind.has_options:
        if not 2 <= len(options) <= MAX_OPTIONS:
            raise ArgumentError("surveys.errors.options", value=_clip(text), most=MAX_OPTIONS)
        if any(len(o) > MAX_OPTION for o in options):
            raise ArgumentError("surveys.errors.option_too_long", limit=MAX_OPTION)
        if len({o.casefold() for o in options}) != len(options):
            raise ArgumentError("surveys.errors.repeated_option", value=_clip(text))
    elif options:
        raise ArgumentError("surveys.errors.no_options_here", value=_clip(text))
    return Question(kind, text, options)


def survey_lines(raw: str) -> list[str]:
    """The lines of a survey's text: its lines, or, typed on one line, its `;`-separated parts."""
    parts = raw.splitlines() if "\n" in raw.strip() else raw.split(";")
    return [part.strip() for part in parts if part.strip()]


def parse_survey(raw: str, now: datetime, zone: str, words: Words) -> SurveyDraft:
    lines = survey_lines(raw)
    if not lines:
        raise ArgumentError("surveys.errors.no_title")
    title, body = lines[0], lines[1:]
    if len(title) > MAX_TITLE:
        raise ArgumentError("surveys.errors.title_too_long", limit=MAX_TITLE)
    settings, rest = parse_settings(body, now, zone, words)
    questions = tuple(parse_question(line, words) for line in rest)
    if not questions:
        raise ArgumentError("surveys.errors.no_questions")
    if len(questions) > MAX_QUESTIONS:
        raise ArgumentError("surveys.errors.too_many", most=MAX_QUESTIONS)
    return SurveyDraft(title, questions, settings)
