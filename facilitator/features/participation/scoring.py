"""The scoring engine, pure: daily counts in, scores, levels, badges and reasons out.

A member's score is the sum over their events of `weight(kind)`, counting at most
`daily_cap(kind)` events of a kind per local day, each day's points halved every
`half_life_days`. Levels need both a score and consistency (active weeks). Everything is
computed from the ledger's counts, so the same numbers explain themselves in `/me`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from facilitator.features.participation.config import PIONEER, Level, ParticipationConfig
from facilitator.features.participation.domain import DailyCount

__all__ = [
    "DailyCount",
    "Standing",
    "badges_for",
    "level_for",
    "next_badge",
    "next_level",
    "ranking",
    "tally",
]


@dataclass
class Standing:
    """One member's score and how it is made up."""

    person_id: int
    score: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)  # every event, capped or not
    credited: dict[str, int] = field(default_factory=dict)  # events within the daily caps
    points: dict[str, float] = field(default_factory=dict)  # points per kind, decayed
    active_weeks: int = 0
    level: str = ""
    badges: tuple[str, ...] = ()
    # The closest badge not yet earned and the events it still needs (`/me`).
    next_badge: tuple[str, int] | None = None

    @property
    def rounded(self) -> int:
        return round(self.score)


def decay_factor(age_days: int, half_life_days: float) -> float:
    return float(0.5 ** (max(age_days, 0) / half_life_days))


def tally(
    rows: Iterable[DailyCount],
    config: ParticipationConfig,
    today: date,
    *,
    decay: bool = True,
) -> dict[int, Standing]:
    """Scores from daily counts; `decay=False` for points earned in a window (week, month)."""
    standings: dict[int, Standing] = {}
    weeks: dict[int, set[tuple[int, int]]] = defaultdict(set)
    first_week = today - timedelta(days=today.weekday(), weeks=config.consistency_weeks - 1)
    for row in rows:
        standing = standings.get(row.person_id)
        if standing is None:
            standing = standings[row.person_id] = Standing(row.person_id)
        standing.counts[row.kind] = standing.counts.get(row.kind, 0) + row.count
        weight = config.weight(row.kind)
        if weight <= 0 or row.count <= 0:
            continue
        cap = config.cap(row.kind)
        credited = row.count if cap is None else min(row.count, cap)
        standing.credited[row.kind] = standing.credited.get(row.kind, 0) + credited
        factor = decay_factor((today - row.day).days, config.half_life_days) if decay else 1.0
        earned = weight * credited * factor
        standing.points[row.kind] = standing.points.get(row.kind, 0.0) + earned
        standing.score += earned
        if first_week <= row.day <= today:
            weeks[row.person_id].add(row.day.isocalendar()[:2])
    for person_id, standing in standings.items():
        standing.active_weeks = len(weeks.get(person_id, ()))
        standing.level = level_for(standing.score, standing.active_weeks, config).key
    return standings


def level_for(score: float, active_weeks: int, config: ParticipationConfig) -> Level:
    reached = config.levels[0]
    for level in config.levels:
        if score >= level.min_score and active_weeks >= level.min_active_weeks:
            reached = level
    return reached


def next_level(standing: Standing, config: ParticipationConfig) -> tuple[Level, int, int] | None:
    """The next level up, with the points and active weeks still missing; None at the top."""
    keys = [level.key for level in config.levels]
    position = keys.index(standing.level) if standing.level in keys else 0
    if position + 1 >= len(config.levels):
        return None
    following = config.levels[position + 1]
    points = max(0, math.ceil(following.min_score - standing.score))
    weeks = max(0, following.min_active_weeks - standing.active_weeks)
    return following, points, weeks


def badges_for(
    counts: Mapping[str, int], config: ParticipationConfig, *, pioneer: bool = False
) -> tuple[str, ...]:
    """Badges earned from all-time counts per kind (and the pioneer flag)."""
    earned = []
    for rule in config.badges:
        if rule.key == PIONEER and not rule.kinds:
            if pioneer:
                earned.append(rule.key)
        elif sum(counts.get(kind, 0) for kind in rule.kinds) >= rule.threshold:
            earned.append(rule.key)
    return tuple(earned)


def next_badge(
    counts: Mapping[str, int], config: ParticipationConfig, earned: Collection[str]
) -> tuple[str, int] | None:
    """The badge not yet earned that the member is furthest along towards (the share of its
    threshold reached; then the fewest events missing; then the configuration's order), with
    how many events it still needs; None when every counted badge is earned. The pioneer
    badge is not counted: it comes from a first contribution in a new theme."""
    candidates: list[tuple[float, int, int, str]] = []
    for order, rule in enumerate(config.badges):
        if not rule.kinds or rule.key in earned:
            continue
        have = sum(counts.get(kind, 0) for kind in rule.kinds)
        missing = rule.threshold - have
        if missing > 0:
            candidates.append((-have / rule.threshold, missing, order, rule.key))
    if not candidates:
        return None
    _, missing, _, key = min(candidates)
    return key, missing


def reasons(standing: Standing, limit: int) -> list[tuple[str, int]]:
    """The kinds that earned the most points, with how many events of each counted."""
    ranked = sorted(
        ((kind, points) for kind, points in standing.points.items() if points > 0),
        key=lambda pair: (-pair[1], pair[0]),
    )
    return [(kind, standing.counts.get(kind, 0)) for kind, _ in ranked[:limit]]


def ranking(standings: Mapping[int, Standing], excluded: Collection[int] = ()) -> list[Standing]:
    """Members with points, best first; ties in a stable order (the rolled-up rankings of
    participation/rollup.py order them the same way)."""
    ranked = [s for s in standings.values() if s.score > 0 and s.person_id not in excluded]
    ranked.sort(key=lambda s: (-s.score, s.person_id))
    return ranked
