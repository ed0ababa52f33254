"""One reading of the dates, times, spans and zones members write, shared by every command."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from facilitator.commands.spec import ArgumentError
from facilitator.features.nudges.config import NudgeConfig
from facilitator.features.polls.parsing import closing_on
from facilitator.features.webinars.parsing import local_moment
from facilitator.localtime import (
    looks_like_clock,
    looks_like_date,
    looks_like_zone,
    parse_clock,
    parse_date,
    parse_duration,
    parse_hours,
    wall_time,
)

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-03", date(2026, 12, 3)),
        (" 2028-02-29 ", date(2028, 2, 29)),
        ("2026-02-30", None),  # written as a date, but the calendar lacks it
        ("2026-12-3", None),
        ("20261203", None),
        ("2026-W49-1", None),
        ("03/12/2026", None),
        ("２０２６-１２-０３", None),  # full-width digits
        ("tomorrow", None),
        ("", None),
    ],
)
def test_a_date_is_written_year_month_day(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15:00", time(15, 0)),
        ("9:30", time(9, 30)),
        ("09:30", time(9, 30)),
        ("0:00", time(0, 0)),
        ("23:59", time(23, 59)),
        ("24:00", None),
        ("12:60", None),
        ("9:5", None),
        ("15h", None),
        ("3pm", None),
        ("", None),
    ],
)
def test_a_time_of_day_is_hours_and_minutes_on_a_24_hour_clock(
    text: str, expected: time | None
) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("30min", timedelta(minutes=30)),
        ("3h", timedelta(hours=3)),
        ("2d", timedelta(days=2)),
        ("2D", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("9999d", timedelta(days=9999)),
        ("12345d", None),
        ("2y", None),
        ("d", None),
        ("2 d", None),
        ("soon", None),
    ],
)
def test_a_span_is_a_number_and_a_unit(text: str, expected: timedelta | None) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21-8", (time(21, 0), time(8, 0))),
        ("22:30-7:15", (time(22, 30), time(7, 15))),
        ("9-17", (time(9, 0), time(17, 0))),
        ("8-8", None),
        ("25-8", None),
        ("21-8:75", None),
        ("21 - 8", None),
        ("off", None),
    ],
)
def test_a_window_of_hours_may_cross_midnight(
    text: str, expected: tuple[time, time] | None
) -> None:
    assert parse_hours(text) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("America/Santiago", True),
        ("America/Argentina/Buenos_Aires", True),
        ("UTC", True),
        ("utc", True),
        ("Mars/Base", True),  # meant as a zone; `is_zone` then refuses it
        ("https://meet.example.org/w", False),
        ("Ana", False),
        ("#water", False),
    ],
)
def test_a_word_with_a_slash_or_utc_is_meant_as_a_time_zone(word: str, expected: bool) -> None:
    assert looks_like_zone(word) is expected


def test_the_shape_of_a_date_or_time_is_told_apart_from_its_validity() -> None:
    assert looks_like_date("2026-02-30") and parse_date("2026-02-30") is None
    assert looks_like_clock("25:00") and parse_clock("25:00") is None
    assert not looks_like_date("tomorrow") and not looks_like_clock("3pm")


def test_a_wall_time_is_read_in_its_zone_and_an_unknown_zone_means_utc() -> None:
    santiago = wall_time(date(2026, 12, 3), time(15, 0), "America/Santiago")
    assert santiago == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    assert wall_time(date(2026, 12, 3), time(15, 0), "Nowhere/Land") == datetime(
        2026, 12, 3, 15, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("day", "clock"),
    [("2026-12-03", "15:00"), ("2026-12-03", "9:30"), ("2027-01-31", "00:00")],
)
@pytest.mark.parametrize("zone", ["America/Santiago", "America/Sao_Paulo", "Europe/Madrid", "UTC"])
def test_polls_and_webinars_read_a_date_and_time_alike(day: str, clock: str, zone: str) -> None:
    expected = datetime.combine(date.fromisoformat(day), parse_clock(clock) or time())
    poll_closes = closing_on(day, clock, NOW, zone)
    webinar_starts = local_moment(day, clock, zone)
    assert poll_closes == webinar_starts
    assert webinar_starts.replace(tzinfo=None) == expected
    assert poll_closes.tzinfo == UTC


@pytest.mark.parametrize(
    ("day", "clock"),
    [("2026-02-30", "15:00"), ("2026-12-03", "24:00"), ("2026-12-3", "15:00"), ("x", "15:00")],
)
def test_polls_and_webinars_refuse_the_same_dates_and_times(day: str, clock: str) -> None:
    with pytest.raises(ArgumentError) as poll:
        closing_on(day, clock, NOW, "UTC")
    with pytest.raises(ArgumentError) as webinar:
        local_moment(day, clock, "UTC")
    assert poll.value.key == "polls.errors.bad_close"
    assert webinar.value.key == "webinars.errors.when"


def test_nudge_settings_read_times_and_windows_as_commands_do() -> None:
    config = NudgeConfig().with_value("quiet_hours", "22:30-7").with_value("scan_at", "9:30")
    assert config.quiet == (time(22, 30), time(7, 0))
    assert config.scan_cron == "30 9 * * *"
    for name, bad in (("quiet_hours", "22-22"), ("scan_at", "24:00"), ("scan_at", "9:5")):
        with pytest.raises(ValueError):
            NudgeConfig().with_value(name, bad)
