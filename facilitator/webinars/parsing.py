"""`/webinar add "Title" 2026-12-03 15:00 [Area/City] [link] [speaker] [#theme]`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from facilitator.commands.spec import ArgumentError, Token, is_web_url, tokenize
from facilitator.domain.webinars import WebinarDraft
from facilitator.localtime import is_zone, zone

MAX_TITLE = 200
MAX_SPEAKER = 100
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{1,2}:\d{2}$")


def parse_when(tokens: Sequence[Token], default_zone: str) -> tuple[datetime, str, int]:
    """`2026-12-03 15:00 [Area/City]` -> (aware moment, zone, tokens used)."""
    words = [t.text.strip() for t in tokens]
    if len(words) < 2 or not _DATE.match(words[0]) or not _TIME.match(words[1]):
        raise ArgumentError("webinars.errors.when")
    used, zone_name = 2, default_zone
    candidate = words[2] if len(words) > 2 else ""
    is_link = candidate.lower().startswith(("http://", "https://"))
    if candidate and not is_link and ("/" in candidate or candidate.upper() == "UTC"):
        if not is_zone(words[2]):
            raise ArgumentError("community.set.bad_timezone", value=words[2][:64])
        zone_name, used = words[2], 3
    try:
        local = datetime.fromisoformat(f"{words[0]}T{words[1].zfill(5)}")
    except ValueError:
        raise ArgumentError("webinars.errors.when") from None
    return local.replace(tzinfo=zone(zone_name)), zone_name, used


def parse_webinar(raw: str, now: datetime, default_zone: str) -> WebinarDraft:
    tokens = tokenize(raw)
    if not tokens or not tokens[0].text.strip():
        raise ArgumentError("webinars.errors.title")
    title = tokens[0].text.strip()
    if len(title) > MAX_TITLE:
        raise ArgumentError("webinars.errors.title_too_long", limit=MAX_TITLE)
    starts_at, zone_name, used = parse_when(tokens[1:], default_zone)
    if starts_at <= now:
        raise ArgumentError("webinars.errors.past")
    link: str | None = None
    theme = ""
    speaker: list[str] = []
    for token in tokens[1 + used :]:
        word = token.text.strip()
        if word.startswith("#") and len(word) > 1:
            theme = word[1:].lower()[:64]
        elif word.lower().startswith(("http://", "https://")):
            if not is_web_url(word):
                raise ArgumentError("errors.not_a_url", value=word[:40])
            link = word
        elif word:
            speaker.append(word)
    name = " ".join(speaker)
    if len(name) > MAX_SPEAKER:
        raise ArgumentError("webinars.errors.speaker_too_long", limit=MAX_SPEAKER)
    return WebinarDraft(
        title=title,
        starts_at=starts_at.astimezone(now.tzinfo),
        timezone=zone_name,
        link=link,
        speaker=name or None,
        theme=theme,
    )
