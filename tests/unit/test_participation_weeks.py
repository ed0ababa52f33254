"""ISO weeks in a community's zone, and when the weekly summary is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from facilitator.features.participation.config import ParticipationConfig
from facilitator.features.participation.summary import IsoWeek
from facilitator.features.participation.weekly import due_week

W47 = IsoWeek(2026, 47)


def test_iso_weeks_parse_and_bound_in_local_time() -> None:
    week = IsoWeek.parse("2026-W47")
    assert str(week) == "2026-W47" and str(week.previous()) == "2026-W46"
    start, end = week.bounds("America/Santiago")
    assert start == datetime(2026, 11, 16, 3, 0, tzinfo=UTC)
    assert end - start == timedelta(days=7)
    with pytest.raises(ValueError):
        IsoWeek.parse("2026-W54")
    with pytest.raises(ValueError):
        IsoWeek.parse("last week")


def test_the_summary_is_due_in_its_local_slot_only() -> None:
    config = ParticipationConfig()  # Monday 09:00
    monday_nine = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 09:00 in Santiago
    assert due_week(monday_nine, "America/Santiago", config) == W47
    assert due_week(monday_nine - timedelta(minutes=1), "America/Santiago", config) is None
    assert due_week(monday_nine + timedelta(hours=13), "America/Santiago", config) is None
    friday = config.overridden({"summary_day": "fri", "summary_time": "17:30"})
    at = datetime(2026, 11, 27, 20, 45, tzinfo=UTC)
    assert due_week(at, "America/Santiago", friday) == W47
