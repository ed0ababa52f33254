"""Local time: the zones of communities and members, and the one reading of the dates, times,
spans and time zones that members write in commands, forms and settings.

What members write is ISO 8601 (`2026-12-03`, `15:00`) and short spans (`2d`): the same in en,
es and pt, since no command takes a month or weekday name, so nothing here depends on the
language. Each reader returns None for text that is not what it reads, and the command says
what to fix with its own prompt. Written out rather than with python-dateutil, whose parser
guesses (the day or the month first, missing parts taken from today): a command must read
exactly what was meant or refuse it. Digits are ASCII only, as `datetime.fromisoformat` reads
them.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_SPAN = re.compile(r"([0-9]{1,4})(m|min|h|d|w)")
_SPAN_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_HOURS = re.compile(r"([0-9]{1,2})(?::([0-9]{2}))?-([0-9]{1,2})(?::([0-9]{2}))?")


@lru_cache(maxsize=512)
def zone(name: str | None) -> ZoneInfo:
    """The named zone; UTC for an empty or unknown name (logged once per name)."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone, using UTC", extra={"timezone": name[:64]})
        return ZoneInfo("UTC")


def is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local(moment: datetime, zone_name: str | None) -> datetime:
    return moment.astimezone(zone(zone_name))


def show(moment: datetime, zone_name: str | None) -> str:
    """`2026-12-03 15:00` in that zone: the same in every language."""
    return local(moment, zone_name).strftime("%Y-%m-%d %H:%M")


def to_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def parse_date(text: str) -> date | None:
    """`2026-12-03` -> that day; None for any other text or a day the calendar lacks."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_clock(text: str) -> time | None:
    """A time of day, `15:00` or `9:30` (24-hour) -> that time; None for anything else."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        return None
    return _clock(match.group(1), match.group(2))


def parse_duration(text: str) -> timedelta | None:
    """`30m` (or `30min`), `3h`, `2d`, `1w`: up to four digits and a unit, in either case."""
    match = _SPAN.fullmatch(text.strip().lower())
    if match is None:
        return None
    return timedelta(**{_SPAN_UNITS[match.group(2)]: int(match.group(1))})


def parse_hours(text: str) -> tuple[time, time] | None:
    """A daily window, `21-8` or `22:30-7:15` -> (start, end), across midnight when the end is
    earlier; None when malformed or empty (the same start and end)."""
    match = _HOURS.fullmatch(text.strip())
    if match is None:
        return None
    start = _clock(match.group(1), match.group(2) or "0")
    end = _clock(match.group(3), match.group(4) or "0")
    if start is None or end is None or start == end:
        return None
    return start, end


def looks_like_date(word: str) -> bool:
    """Whether a word in a command is written as a date (`2026-12-03`), valid or not: a command
    takes it as its date and refuses it if the calendar lacks that day."""
    return _DATE.fullmatch(word.strip()) is not None


def looks_like_clock(word: str) -> bool:
    """Whether a word in a command is written as a time of day (`15:00`), valid or not."""
    return _CLOCK.fullmatch(word.strip()) is not None


def looks_like_zone(word: str) -> bool:
    """Whether a word in a command is meant as a time zone (`America/Santiago`, `UTC`) rather
    than a name or a link; `is_zone` then says whether it is one tzdata knows."""
    lowered = word.lower()
    if lowered.startswith(("http://", "https://")):
        return False
    return "/" in word or word.upper() == "UTC"


def wall_time(day: date, clock: time, zone_name: str | None) -> datetime:
    """The moment a clock in that zone shows `clock` on `day` (the earlier one when the clock
    shows it twice; `zone` says which zone an unknown name means)."""
    return datetime.combine(day, clock, tzinfo=zone(zone_name))


def _clock(hours: str, minutes: str) -> time | None:
    hour, minute = int(hours), int(minutes)
    return time(hour, minute) if hour <= 23 and minute <= 59 else None


# Offered first when a form asks for a time zone (the community's own zone comes first).
COMMON_ZONES = (
    "UTC",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Mexico_City",
    "America/Guatemala",
    "America/Bogota",
    "America/Lima",
    "America/Caracas",
    "America/La_Paz",
    "America/Santiago",
    "America/Asuncion",
    "America/Argentina/Buenos_Aires",
    "America/Montevideo",
    "America/Sao_Paulo",
    "Atlantic/Azores",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Madrid",
    "Europe/Paris",
    "Europe/Berlin",
    "Africa/Lagos",
    "Africa/Luanda",
    "Africa/Maputo",
    "Africa/Nairobi",
    "Asia/Kolkata",
    "Asia/Jakarta",
    "Asia/Manila",
    "Asia/Tokyo",
    "Australia/Sydney",
)
