"""`/poll "Question?" "Option A" "Option B" … [multi] [anonymous] [remind] [closes in 2d]`.

The flags may be written in any of our languages (`anónima`, `cierra en 2d`, `fecha em 2d`:
`prompts/*/words.toml`); an unquoted word that is nearly a flag is not taken for an option
without asking (`doubtful_flags`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from rapidfuzz import fuzz

from facilitator.commands.arguments import CANONICAL_ONLY, Words, fold
from facilitator.commands.spec import ArgumentError, Token, tokenize
from facilitator.features.polls.domain import PollDraft
from facilitator.localtime import (
    looks_like_clock,
    looks_like_date,
    parse_clock,
    parse_date,
    parse_duration,
    wall_time,
)

MIN_OPTIONS, MAX_OPTIONS = 2, 10
# Telegram's own limits for native polls; the same everywhere, so a poll works on any platform.
MAX_QUESTION, MAX_OPTION = 300, 100
MIN_OPEN = timedelta(minutes=5)
MAX_OPEN = timedelta(days=90)
# A poll closing on a day without a time closes at the end of that day.
END_OF_DAY = time(23, 59)
_QUOTES = "\"“«'"
FLAGS = ("multiple", "anonymous", "remind")
CLOSES = "closes"
# How alike (rapidfuzz's ratio, 0-100) an unquoted option must be to a flag's word, in any
# language, to be taken for a misspelt flag: `anonima` for `anónima` is one (and accepted as
# is, accents aside), `anonimus` one letter off, `cierrra` for `cierra`.
DOUBTFUL_RATIO = 80
# Shorter words are too often real options ("Sí", "No", "En") to be doubted.
DOUBTFUL_LENGTH = 4


def parse_poll(
    raw: str, now: datetime, zone_name: str, words: Words = CANONICAL_ONLY
) -> PollDraft:
    """Raises ArgumentError naming a `polls.errors.*` prompt that says what to fix."""
    tokens = tokenize(raw)
    question = tokens[0].text.strip() if tokens else ""
    if not question:
        raise ArgumentError("polls.errors.no_question")
    options: list[str] = []
    flags: set[str] = set()
    closes_at: datetime | None = None
    rest = tokens[1:]
    i = 0
    while i < len(rest):
        token = rest[i]
        word = token.text.strip()
        quoted = raw[token.start] in _QUOTES
        flag = None if quoted else words.canonical((*FLAGS, CLOSES), word)
        if flag == CLOSES:
            closes_at, used = _closing(rest[i + 1 : i + 3], now, zone_name, words)
            i += used
        elif flag is not None:
            flags.add(flag)
        else:
            options.append(token.text.strip())
        i += 1
    return build_poll(question, options, flags, closes_at)


def build_poll(
    question: str, options: Sequence[str], flags: set[str], closes_at: datetime | None
) -> PollDraft:
    """A poll from its parts, however they were given (a command's text or a form)."""
    if not question:
        raise ArgumentError("polls.errors.no_question")
    if len(question) > MAX_QUESTION:
        raise ArgumentError("polls.errors.question_too_long", limit=MAX_QUESTION)
    if any(not option for option in options):
        raise ArgumentError("polls.errors.empty_option")
    if len(options) < MIN_OPTIONS:
        raise ArgumentError("polls.errors.too_few", count=len(options), minimum=MIN_OPTIONS)
    if len(options) > MAX_OPTIONS:
        raise ArgumentError("polls.errors.too_many", count=len(options), maximum=MAX_OPTIONS)
    for option in options:
        if len(option) > MAX_OPTION:
            raise ArgumentError(
                "polls.errors.option_too_long", option=option[:30] + "…", limit=MAX_OPTION
            )
    folded = [option.casefold() for option in options]
    if len(set(folded)) < len(folded):
        twice = next(o for o in options if folded.count(o.casefold()) > 1)
        raise ArgumentError("polls.errors.duplicate_option", option=twice[:40])
    if "remind" in flags and closes_at is None:
        raise ArgumentError("polls.errors.remind_needs_close")
    return PollDraft(
        question=question,
        options=tuple(options),
        multiple="multiple" in flags,
        anonymous="anonymous" in flags,
        remind="remind" in flags and "anonymous" not in flags,
        closes_at=closes_at,
    )


def closing_on(day: str, hour: str | None, now: datetime, zone_name: str) -> datetime:
    """`2026-12-03` and an optional `15:00` (else 23:59) in the zone -> the UTC closing time."""
    on = parse_date(day)
    at = END_OF_DAY if hour is None else parse_clock(hour)
    if on is None or at is None:
        raise ArgumentError("polls.errors.bad_close", value=f"{day} {hour or ''}".strip()[:20])
    return _checked(wall_time(on, at, zone_name), now)


def _checked(moment: datetime, now: datetime) -> datetime:
    if moment <= now:
        raise ArgumentError("polls.errors.in_the_past")
    if moment - now < MIN_OPEN:
        raise ArgumentError("polls.errors.too_soon")
    if moment - now > MAX_OPEN:
        raise ArgumentError("polls.errors.too_far", days=MAX_OPEN.days)
    return moment.astimezone(now.tzinfo)


def _closing(
    tokens: Sequence[Token], now: datetime, zone_name: str, words: Words
) -> tuple[datetime, int]:
    """`in 2d` | `in 3h` | `2026-12-03` | `2026-12-03 15:00` -> (UTC moment, tokens used)."""
    typed = [t.text.strip().lower() for t in tokens]
    if len(typed) >= 2 and words.canonical(("in",), typed[0]):
        span = parse_duration(typed[1])
        if span is None:
            raise ArgumentError("polls.errors.bad_close", value=typed[1][:20])
        return _checked(now + span, now), 2
    if typed and looks_like_date(typed[0]):
        has_time = len(typed) > 1 and looks_like_clock(typed[1])
        hour = typed[1] if has_time else None
        return closing_on(typed[0], hour, now, zone_name), 2 if has_time else 1
    raise ArgumentError("polls.errors.bad_close", value=" ".join(typed)[:20])


@dataclass(frozen=True)
class Doubt:
    """An unquoted option that is nearly a flag's word: what was typed, where, and the flag."""

    token: Token
    flag: str


def doubtful_flags(raw: str, words: Words) -> tuple[Doubt, ...]:
    """The trailing unquoted words of a poll (after its last quoted phrase) that read as a
    misspelt flag in any of our languages. A poll with any is not posted as it stands: its
    author confirms by quoting the word, or fixes the flag."""
    tokens = tokenize(raw)[1:]
    last_quoted = max((i for i, t in enumerate(tokens) if raw[t.start] in _QUOTES), default=-1)
    doubts = []
    for token in tokens[last_quoted + 1 :]:
        typed = fold(token.text)
        if len(typed) < DOUBTFUL_LENGTH or words.canonical((*FLAGS, CLOSES, "in"), typed):
            continue
        best = max(
            (
                (fuzz.ratio(typed, spelling), flag)
                for flag in (*FLAGS, CLOSES)
                for spelling in words.spellings(flag)
            ),
            default=(0.0, ""),
        )
        if best[0] >= DOUBTFUL_RATIO:
            doubts.append(Doubt(token, best[1]))
    return tuple(doubts)


def rewritten(raw: str, doubts: Sequence[Doubt], replace_with: Sequence[str]) -> str:
    """The poll's text with each doubtful word replaced (its flag's word, or itself quoted)."""
    text = raw
    for doubt, new in sorted(
        zip(doubts, replace_with, strict=True), key=lambda d: -d[0].token.start
    ):
        text = text[: doubt.token.start] + new + text[doubt.token.end :]
    return text
