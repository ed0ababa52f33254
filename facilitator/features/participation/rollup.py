"""Rolled-up scores: each member's points up to yesterday, so rankings stay fast at any size.

A community's `participation_scores` rows hold, for each member, the decayed points of every
event before the state's `as_of` day (local), and the points of the 6 and 29 days before it.
Rankings add today's events, read live from the ledger, to those rows: the result is exactly
what scoring the whole ledger gives, without reading it.

The job rolls each community forward once a local day: it fades yesterday's all-time points
by one day of decay, adds the days since, and recomputes the week and month windows from the
last 30 days. It rebuilds from the whole ledger when the scoring configuration changed, when
the rows are more than 30 days old, and every Monday (so that an event recorded late for a day
already rolled up is counted then). The state row is claimed with a conditional update, so
one process rolls a community forward and the others leave it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from facilitator.domain.model import Community
from facilitator.features.participation.config import ParticipationConfig
from facilitator.features.participation.domain import ScoreState
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.participation.scoring import decay_factor, tally
from facilitator.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

ConfigFor = Callable[[Community], ParticipationConfig]

WEEK_DAYS = 7
MONTH_DAYS = 30


def config_key(config: ParticipationConfig) -> str:
    """What the rolled-up points depend on: weights, caps and the half-life."""
    relevant = {
        "weights": sorted(config.weights.items()),
        "caps": sorted(config.daily_caps.items()),
        "half_life": config.half_life_days,
    }
    digest = hashlib.sha256(json.dumps(relevant, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()[:32]


def local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))


def local_day(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def is_current(
    state: ScoreState | None, community: Community, config: ParticipationConfig, now: datetime
) -> bool:
    return (
        state is not None
        and state.as_of == local_day(now, community.timezone)
        and state.config_key == config_key(config)
    )


async def roll_forward(
    uow: UnitOfWork, community: Community, config: ParticipationConfig, now: datetime
) -> bool:
    """Bring the community's rolled-up scores to today; False when already there (or when
    another process is doing it)."""
    repo = uow.repo(ParticipationRepository)
    key = config_key(config)
    today = local_day(now, community.timezone)
    state = await repo.score_state(community.id)
    if state is not None and state.as_of == today and state.config_key == key:
        return False
    full = (
        state is None
        or state.config_key != key
        or state.as_of > today
        or (today - state.as_of).days >= MONTH_DAYS
        or (today.weekday() == 0 and state.rebuilt_on != today)
    )
    new = ScoreState(today, key, today if full or state is None else state.rebuilt_on)
    if not await repo.claim_score_state(community.id, state, new, now):
        return False
    until = local_midnight(today, community.timezone)
    month_start = today - timedelta(days=MONTH_DAYS - 1)
    if full or state is None:
        await repo.reset_scores(community.id, None)
        since = None
        fresh_from = date.min
    else:
        await repo.reset_scores(
            community.id, decay_factor((today - state.as_of).days, config.half_life_days)
        )
        since = local_midnight(min(state.as_of, month_start), community.timezone)
        fresh_from = state.as_of
    rows = await repo.daily_counts(
        community.id,
        timezone=community.timezone,
        since=since,
        until=until,
        kinds=config.scored_kinds,
    )
    decayed = tally([r for r in rows if r.day >= fresh_from], config, today)
    month_rows = [r for r in rows if r.day >= month_start]
    month = tally(month_rows, config, today, decay=False)
    week_start = today - timedelta(days=WEEK_DAYS - 1)
    week = tally([r for r in month_rows if r.day >= week_start], config, today, decay=False)
    people = set(decayed) | set(month)
    await repo.add_scores(
        community.id,
        [
            (
                person,
                decayed[person].score if person in decayed else 0.0,
                week[person].score if person in week else 0.0,
                month[person].score if person in month else 0.0,
            )
            for person in sorted(people)
        ],
    )
    log.info(
        "participation scores rolled up",
        extra={"community": community.key, "as_of": today.isoformat(), "rebuilt": full},
    )
    return True


class ScoreRollup:
    """The job: every community's scores brought to its local today."""

    def __init__(self, uow_factory: UnitOfWorkFactory, config_for: ConfigFor) -> None:
        self._uow_factory = uow_factory
        self._config_for = config_for

    async def run(self, now: datetime) -> int:
        rolled = 0
        async with self._uow_factory() as uow:
            communities = [c for c in await uow.communities.all() if c.active]
        for community in communities:
            async with self._uow_factory() as uow:
                if await roll_forward(uow, community, self._config_for(community), now):
                    rolled += 1
                await uow.commit()
        return rolled
