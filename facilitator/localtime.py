"""Time zones of communities and members: local times shown, quiet hours, local schedules."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)


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
