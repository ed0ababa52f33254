"""`/webinar add "Title" 2026-12-03 15:00 [Area/City] [link] [speaker] [#theme]`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from facilitator.commands.spec import ArgumentError, Token, is_web_url, tokenize
from facilitator.features.webinars.domain import WebinarDraft
from facilitator.localtime import (
    is_zone,
    looks_like_clock,
    looks_like_date,
    looks_like_zone,
    parse_clock,
    parse_date,
    wall_time,
)

MAX_TITLE = 200
MAX_SPEAKER = 100


def parse_when(tokens: Sequence[Token], default_zone: str) -> tuple[datetime, str, int]:
    """`2026-12-03 15:00 [Area/City]` -> (aware moment, zone, tokens used)."""
    words = [t.text.strip() for t in tokens]
    if len(words) < 2:
        raise ArgumentError("webinars.errors.when")
    used, zone_name = 2, default_zone
    if len(words) > 2 and looks_like_zone(words[2]):
        zone_name, used = words[2], 3
    return local_moment(words[0], words[1], zone_name), zone_name, used


def local_moment(day: str, hour: str, zone_name: str) -> datetime:
    """`2026-12-03`, `15:00` and a zone -> the aware moment; errors name what to fix."""
    if not looks_like_date(day) or not looks_like_clock(hour):
        raise ArgumentError("webinars.errors.when")
    if not is_zone(zone_name):
        raise ArgumentError("community.set.bad_timezone", value=zone_name[:64])
    on, at = parse_date(day), parse_clock(hour)
    if on is None or at is None:
        raise ArgumentError("webinars.errors.when")
    return wall_time(on, at, zone_name)


def parse_webinar(raw: str, now: datetime, default_zone: str) -> WebinarDraft:
    tokens = tokenize(raw)
    title = tokens[0].text.strip() if tokens else ""
    if not title:
        raise ArgumentError("webinars.errors.title")
    starts_at, zone_name, used = parse_when(tokens[1:], default_zone)
    link: str | None = None
    theme = ""
    speaker: list[str] = []
    for token in tokens[1 + used :]:
        word = token.text.strip()
        if word.startswith("#") and len(word) > 1:
            theme = word[1:]
        elif word.lower().startswith(("http://", "https://")):
            link = word
        elif word:
            speaker.append(word)
    return build_webinar(title, starts_at, zone_name, link, " ".join(speaker), theme, now)


def build_webinar(
    title: str,
    starts_at: datetime,
    zone_name: str,
    link: str | None,
    speaker: str,
    theme: str,
    now: datetime,
) -> WebinarDraft:
    """A webinar from its parts, however they were given (a command's text or a form)."""
    if not title:
        raise ArgumentError("webinars.errors.title")
    if len(title) > MAX_TITLE:
        raise ArgumentError("webinars.errors.title_too_long", limit=MAX_TITLE)
    if starts_at <= now:
        raise ArgumentError("webinars.errors.past")
    if link and not is_web_url(link):
        raise ArgumentError("errors.not_a_url", value=link[:40])
    if len(speaker) > MAX_SPEAKER:
        raise ArgumentError("webinars.errors.speaker_too_long", limit=MAX_SPEAKER)
    return WebinarDraft(
        title=title,
        starts_at=starts_at.astimezone(now.tzinfo),
        timezone=zone_name,
        link=link or None,
        speaker=speaker or None,
        theme=theme.lstrip("#").lower()[:64],
    )
