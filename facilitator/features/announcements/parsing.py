"""`/announce [to:key,key|to:network] [at WHEN] [pin] text`, with versions per language.

The words before the text may come in any order and in any of our languages
(`prompts/*/words.toml`: `para:`, `el mañana 09:00`, `fixar`). WHEN is `[today|tomorrow|
YYYY-MM-DD] HH:MM` in the community's time zone; a day and a time need no `at` in front
(`/announce tomorrow 09:00 …`), a time alone does. Text before any language mark is in the
community's language; a line starting `es:`, `pt:` or `en:` starts that language's version."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from facilitator.commands.arguments import CANONICAL_ONLY, Words
from facilitator.commands.spec import ArgumentError
from facilitator.features.announcements.domain import LANGUAGES, AnnouncementDraft
from facilitator.localtime import (
    local,
    looks_like_clock,
    looks_like_date,
    parse_clock,
    parse_date,
    wall_time,
)

MAX_VERSION = 3000
MAX_TARGETS = 20
MAX_AHEAD = timedelta(days=366)
NETWORK = "network"
_MARK = re.compile(r"^\s*(" + "|".join(LANGUAGES) + r")\s*:\s?", re.IGNORECASE)
_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_DAYS = ("today", "tomorrow")


def parse_announcement(
    raw: str, now: datetime, zone_name: str, language: str, words: Words = CANONICAL_ONLY
) -> AnnouncementDraft:
    """Raises ArgumentError naming an `announcements.errors.*` prompt that says what to fix."""
    first, _, later = raw.strip().partition("\n")
    typed = first.split()
    targets: tuple[str, ...] = ()
    when: datetime | None = None
    pin = False
    used = 0
    while used < len(typed):
        word = typed[used]
        head, colon, tail = word.partition(":")
        if colon and words.canonical(("to",), head) and not targets:
            targets = parse_targets(tail, words)
            used += 1
        elif words.canonical(("pin",), word) and not pin:
            pin, used = True, used + 1
        elif when is None and (found := _when(typed[used:], now, zone_name, words)) is not None:
            when, taken = found
            used += taken
        else:
            break
    rest = first.split(None, used)[used] if used < len(typed) else ""
    versions = split_versions("\n".join(part for part in (rest, later) if part), language)
    return build_announcement(versions, when, pin, targets, now)


def parse_targets(text: str, words: Words = CANONICAL_ONLY) -> tuple[str, ...]:
    """`key,key` or `network` -> the community keys (or `network` alone)."""
    keys = tuple(dict.fromkeys(k.strip().lower() for k in text.split(",") if k.strip()))
    if len(keys) == 1 and words.canonical((NETWORK,), keys[0]):
        return (NETWORK,)
    if not keys or len(keys) > MAX_TARGETS or any(not _KEY.match(k) for k in keys):
        raise ArgumentError("announcements.errors.targets", limit=MAX_TARGETS)
    return keys


def _when(
    typed: Sequence[str], now: datetime, zone_name: str, words: Words
) -> tuple[datetime, int] | None:
    """The moment the words at the start of `typed` name, and how many words it took; None
    when they name none (they are then the announcement's text). A time that is there but
    wrong is an error, not text."""
    at = 1 if typed and words.canonical(("at",), typed[0]) else 0
    if at and len(typed) > 1 and words.canonical(("hour_article",), typed[1]):
        at = 2  # `a las 09:00`: the article Spanish puts before an hour
    rest = [w.strip() for w in typed[at : at + 2]]
    day: date | None = None
    took = 0
    if rest and (which := words.canonical(_DAYS, rest[0])) is not None:
        day = local(now, zone_name).date() + timedelta(days=_DAYS.index(which))
        took = 1
    elif rest and looks_like_date(rest[0]):
        day = parse_date(rest[0])
        if day is None:
            raise ArgumentError("announcements.errors.when", value=rest[0][:20])
        took = 1
    if day is None and not at:
        return None  # a time alone needs `at`: "10:00 sharp, everyone!" is a text
    clock_word = rest[took] if len(rest) > took else ""
    if not looks_like_clock(clock_word):
        if at and took:  # `at tomorrow` without its time
            raise ArgumentError("announcements.errors.when", value=" ".join(rest)[:20])
        return None
    clock = parse_clock(clock_word)
    if clock is None:
        raise ArgumentError("announcements.errors.when", value=clock_word[:20])
    if day is None:  # `at 09:00`: today's, or tomorrow's once it has passed
        today = local(now, zone_name).date()
        moment = wall_time(today, clock, zone_name)
        if moment <= now:
            moment = wall_time(today + timedelta(days=1), clock, zone_name)
    else:
        moment = wall_time(day, clock, zone_name)
    return moment.astimezone(now.tzinfo), at + took + 1


def split_versions(text: str, language: str) -> dict[str, str]:
    """The text before any language mark is `language`'s; each `xx:` line starts xx's."""
    versions: dict[str, list[str]] = {}
    current = language
    for line in text.split("\n"):
        mark = _MARK.match(line)
        if mark:
            current = mark.group(1).lower()
            if current in versions and "".join(versions[current]).strip():
                raise ArgumentError("announcements.errors.twice", language=current)
            versions[current] = [line[mark.end() :]]
        else:
            versions.setdefault(current, []).append(line)
    joined = {lang: "\n".join(lines).strip() for lang, lines in versions.items()}
    return {lang: body for lang, body in joined.items() if body}


def build_announcement(
    versions: Mapping[str, str],
    when: datetime | None,
    pin: bool,
    targets: tuple[str, ...],
    now: datetime,
) -> AnnouncementDraft:
    """An announcement from its parts, however they were given (a command's text or a form)."""
    if not versions:
        raise ArgumentError("announcements.errors.empty")
    for lang, body in versions.items():
        if lang not in LANGUAGES:
            raise ArgumentError("announcements.errors.language", language=lang[:8])
        if len(body) > MAX_VERSION:
            raise ArgumentError("announcements.errors.too_long", limit=MAX_VERSION)
    if when is not None:
        if when <= now:
            raise ArgumentError("announcements.errors.past")
        if when - now > MAX_AHEAD:
            raise ArgumentError("announcements.errors.too_far", days=MAX_AHEAD.days)
    return AnnouncementDraft(dict(versions), when, pin, targets)
