"""Quiet hours: a nudge due in someone's night waits for their morning."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from facilitator.localtime import local, to_utc


def in_window(moment: time, start: time, end: time) -> bool:
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end  # across midnight: 21:00-08:00


def after_quiet_hours(
    moment: datetime, zone_name: str | None, window: tuple[time, time] | None
) -> datetime:
    """`moment`, or the end of the quiet hours it falls in, in that time zone (UTC out)."""
    if window is None:
        return moment
    start, end = window
    here = local(moment, zone_name)
    if not in_window(here.time(), start, end):
        return moment
    wake = here.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if wake <= here:
        wake += timedelta(days=1)
    # `replace` keeps the wall time: a daylight-saving change overnight is accounted for by
    # converting the local wall time, not by adding hours.
    return to_utc(wake.replace(tzinfo=here.tzinfo))
