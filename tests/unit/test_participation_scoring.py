"""The scoring engine on its own: weights, decay, daily caps, levels, badges and reasons."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from facilitator.features.participation.config import ParticipationConfig, load_config
from facilitator.features.participation.domain import DailyCount
from facilitator.features.participation.scoring import (
    badges_for,
    level_for,
    next_level,
    ranking,
    reasons,
    tally,
)

TODAY = date(2026, 11, 30)
CONFIG = ParticipationConfig()


def rows(person: int, kind: str, *days_and_counts: tuple[int, int]) -> list[DailyCount]:
    return [DailyCount(person, kind, TODAY - timedelta(days=ago), n) for ago, n in days_and_counts]


def test_an_answer_is_worth_far_more_than_a_plain_message() -> None:
    standings = tally(
        rows(1, "answer_given", (0, 1)) + rows(2, "message_posted", (0, 1)), CONFIG, TODAY
    )
    assert standings[1].score >= 5 * standings[2].score


def test_points_halve_every_half_life() -> None:
    fresh = tally(rows(1, "answer_given", (0, 1)), CONFIG, TODAY)[1].score
    old = tally(rows(1, "answer_given", (30, 1)), CONFIG, TODAY)[1].score
    older = tally(rows(1, "answer_given", (60, 1)), CONFIG, TODAY)[1].score
    assert old == pytest.approx(fresh / 2)
    assert older == pytest.approx(fresh / 4)


def test_a_configured_half_life_changes_the_decay() -> None:
    config = CONFIG.overridden({"half_life_days": 7})
    standing = tally(rows(1, "answer_given", (7, 1)), config, TODAY)[1]
    assert standing.score == pytest.approx(config.weight("answer_given") / 2)


def test_only_the_daily_cap_of_a_kind_counts_each_day() -> None:
    standing = tally(rows(1, "message_posted", (0, 45), (1, 3)), CONFIG, TODAY, decay=False)[1]
    assert standing.counts["message_posted"] == 48
    assert standing.credited["message_posted"] == 20 + 3
    assert standing.score == 23


def test_window_points_do_not_decay() -> None:
    standing = tally(rows(1, "answer_given", (6, 2)), CONFIG, TODAY, decay=False)[1]
    assert standing.score == 2 * CONFIG.weight("answer_given")


def test_kinds_without_weight_earn_nothing_but_are_counted() -> None:
    standing = tally(rows(1, "member_joined", (0, 1)), CONFIG, TODAY)[1]
    assert standing.score == 0 and standing.counts == {"member_joined": 1}
    assert ranking({1: standing}) == []


def test_levels_need_both_score_and_active_weeks() -> None:
    assert level_for(500, 1, CONFIG).key == "participant"
    assert level_for(500, 3, CONFIG).key == "a_player"
    assert level_for(50, 8, CONFIG).key == "contributor"
    assert level_for(0, 0, CONFIG).key == "newcomer"


def test_active_weeks_count_distinct_weeks_within_the_consistency_window() -> None:
    recent = rows(1, "message_posted", (1, 1), (2, 1), (8, 1), (15, 1))  # Sun, Sat: one week
    too_old = rows(1, "message_posted", (7 * 9, 1))
    standing = tally(recent + too_old, CONFIG, TODAY)[1]
    assert standing.active_weeks == 3


def test_next_level_says_what_is_missing() -> None:
    standing = tally(rows(1, "answer_given", (0, 5)), CONFIG, TODAY)[1]
    assert standing.level == "participant"
    level, points, weeks = next_level(standing, CONFIG) or (None, 0, 0)
    assert level is not None and level.key == "contributor"
    assert points == 40 - 30 and weeks == 1


def test_badges_follow_all_time_counts_and_the_pioneer_flag() -> None:
    counts = {"answer_given": 1, "answer_thanked": 5, "webinar_presented": 1}
    assert badges_for(counts, CONFIG) == ("first_answer", "helper", "presenter")
    assert badges_for({}, CONFIG, pioneer=True) == ("pioneer",)
    assert badges_for({"resource_shared": 2, "knowledge_contributed": 3}, CONFIG) == (
        "knowledge_sharer",
    )


def test_reasons_are_the_kinds_that_earned_most_with_their_counts() -> None:
    standing = tally(
        rows(1, "answer_thanked", (0, 4))
        + rows(1, "message_posted", (0, 30))
        + rows(1, "webinar_presented", (1, 1)),
        CONFIG,
        TODAY,
    )[1]
    assert reasons(standing, 2) == [("answer_thanked", 4), ("webinar_presented", 1)]


def test_ranking_leaves_out_excluded_members_and_breaks_ties_stably() -> None:
    standings = tally(
        rows(1, "answer_given", (0, 1))
        + rows(2, "answer_given", (0, 1))
        + rows(3, "poll_vote", (0, 1)),
        CONFIG,
        TODAY,
    )
    assert [s.person_id for s in ranking(standings)] == [1, 2, 3]
    assert [s.person_id for s in ranking(standings, excluded={1})] == [2, 3]


def test_configuration_file_overrides_weights_and_keeps_other_defaults(tmp_path: Path) -> None:
    path = tmp_path / "participation.toml"
    path.write_text(
        "half_life_days = 14\nexclude_staff = true\n[weights]\nmessage_posted = 0.5\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.half_life_days == 14 and config.exclude_staff
    assert config.weight("message_posted") == 0.5
    assert config.weight("answer_given") == CONFIG.weight("answer_given")


@pytest.mark.parametrize(
    "overrides",
    [{"summary_day": "someday"}, {"summary_time": "25:00"}, {"half_life_days": 0}],
)
def test_bad_configuration_is_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CONFIG.overridden(overrides)


def test_the_documented_example_configuration_loads_and_matches_the_defaults() -> None:
    example = load_config(Path(__file__).resolve().parents[2] / "docs/participation.example.toml")
    assert example.weights == CONFIG.weights
    assert example.levels == CONFIG.levels and example.badges == CONFIG.badges
