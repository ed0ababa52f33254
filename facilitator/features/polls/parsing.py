"""`/poll "Question?" "Option A" "Option B" … [multi] [anonymous] [remind] [closes in 2d]`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

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
_FLAGS = {
    "multi": "multiple",
    "multiple": "multiple",
    "anonymous": "anonymous",
    "anon": "anonymous",
}


def parse_poll(raw: str, now: datetime, zone_name: str) -> PollDraft:
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
        word = token.text.strip().lower()
        quoted = raw[token.start] in _QUOTES
        if not quoted and word in _FLAGS:
            flags.add(_FLAGS[word])
        elif not quoted and word == "remind":
            flags.add("remind")
        elif not quoted and word == "closes":
            closes_at, used = _closing(rest[i + 1 : i + 3], now, zone_name)
            i += used
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


def _closing(tokens: Sequence[Token], now: datetime, zone_name: str) -> tuple[datetime, int]:
    """`in 2d` | `in 3h` | `2026-12-03` | `2026-12-03 15:00` -> (UTC moment, tokens used)."""
    words = [t.text.strip().lower() for t in tokens]
    if len(words) >= 2 and words[0] == "in":
        span = parse_duration(words[1])
        if span is None:
            raise ArgumentError("polls.errors.bad_close", value=words[1][:20])
        return _checked(now + span, now), 2
    if words and looks_like_date(words[0]):
        has_time = len(words) > 1 and looks_like_clock(words[1])
        hour = words[1] if has_time else None
        return closing_on(words[0], hour, now, zone_name), 2 if has_time else 1
    raise ArgumentError("polls.errors.bad_close", value=" ".join(words)[:20])
