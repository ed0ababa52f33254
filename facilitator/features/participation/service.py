"""Standings of a community's members: what `/me`, `/leaderboard` and `/aplayers` show."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from facilitator.domain.model import Community, Platform
from facilitator.features.participation.config import ParticipationConfig
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.participation.rollup import is_current
from facilitator.features.participation.scoring import (
    Standing,
    badges_for,
    next_badge,
    ranking,
    tally,
)
from facilitator.ports import UnitOfWork


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"
    ALL = "all"
    TODAY = "today"  # what rolled-up scores do not hold yet


PERIOD_DAYS = {Period.TODAY: 1, Period.WEEK: 7, Period.MONTH: 30}


@dataclass(frozen=True)
class Ranked:
    rank: int
    name: str
    standing: Standing


@dataclass
class Board:
    period: Period
    top: list[Ranked] = field(default_factory=list)
    me: Ranked | None = None


def local_today(community: Community, now: datetime) -> date:
    return now.astimezone(ZoneInfo(community.timezone)).date()


def window_start(community: Community, now: datetime, days: int) -> datetime:
    """Midnight, local time, `days - 1` days before today: the last `days` local days."""
    zone = ZoneInfo(community.timezone)
    first = local_today(community, now) - timedelta(days=days - 1)
    return datetime(first.year, first.month, first.day, tzinfo=zone)


class Participation:
    """Computes standings from the ledger with the community's configuration."""

    def __init__(
        self, config: ParticipationConfig, admins: Collection[tuple[Platform, str]] = ()
    ) -> None:
        self.config = config
        self.admins = frozenset(admins)

    def config_for(self, community: Community) -> ParticipationConfig:
        overrides = community.setting("participation")
        return self.config.overridden(overrides if isinstance(overrides, dict) else None)

    async def standings(
        self,
        uow: UnitOfWork,
        community: Community,
        now: datetime,
        period: Period = Period.ALL,
        person_id: int | None = None,
    ) -> dict[int, Standing]:
        """Decayed scores over everything kept, or points earned in the last week or month."""
        config = self.config_for(community)
        since = None
        if period is not Period.ALL:
            since = window_start(community, now, PERIOD_DAYS[period])
        rows = await uow.repo(ParticipationRepository).daily_counts(
            community.id,
            timezone=community.timezone,
            since=since,
            until=now + timedelta(seconds=1),
            kinds=config.scored_kinds,
            person_id=person_id,
        )
        return tally(rows, config, local_today(community, now), decay=period is Period.ALL)

    async def excluded(self, uow: UnitOfWork, community: Community) -> set[int]:
        """Never ranked or recognised: opted out; staff too when the community says so."""
        excluded = await uow.repo(ParticipationRepository).opted_out(community.id)
        if self.config_for(community).exclude_staff:
            excluded |= await uow.repo(ParticipationRepository).staff(community.id, self.admins)
        return excluded

    async def leaderboard(
        self,
        uow: UnitOfWork,
        community: Community,
        now: datetime,
        period: Period,
        viewer: int | None = None,
    ) -> Board:
        config = self.config_for(community)
        excluded = await self.excluded(uow, community)
        state = await uow.repo(ParticipationRepository).score_state(community.id)
        if is_current(state, community, config, now):
            return await self._rolled_up_board(uow, community, now, period, viewer, excluded)
        standings = await self.standings(uow, community, now, period)
        ranked = ranking(standings, excluded)
        shown = ranked[: config.leaderboard_size]
        mine = next((i for i, s in enumerate(ranked) if s.person_id == viewer), None)
        wanted = [s.person_id for s in shown]
        if mine is not None and mine >= len(shown):
            wanted.append(ranked[mine].person_id)
        names = await uow.repo(ParticipationRepository).display_names(community.id, wanted)
        board = Board(
            period,
            [Ranked(i + 1, names.get(s.person_id, "?"), s) for i, s in enumerate(shown)],
        )
        if mine is not None:
            board.me = Ranked(mine + 1, names.get(ranked[mine].person_id, "?"), ranked[mine])
        return board

    async def _rolled_up_board(
        self,
        uow: UnitOfWork,
        community: Community,
        now: datetime,
        period: Period,
        viewer: int | None,
        excluded: set[int],
    ) -> Board:
        """The same board from rolled-up rows plus today's events (see rollup.py): only the
        stored top and the people active today can be on it, so only they are scored."""
        config = self.config_for(community)
        repo = uow.repo(ParticipationRepository)
        today = await self.standings(uow, community, now, Period.TODAY)
        size = config.leaderboard_size
        stored = dict(await repo.top_scores(community.id, period.value, size, excluded))
        active = [p for p in today if p not in excluded]
        stored.update(await repo.scores_of(community.id, period.value, active))
        if viewer is not None and viewer not in excluded and viewer not in stored:
            stored.update(await repo.scores_of(community.id, period.value, [viewer]))
        scores = {
            person: points + (today[person].score if person in today else 0.0)
            for person, points in stored.items()
        }
        ranked = sorted(
            ((person, score) for person, score in scores.items() if score > 0),
            key=lambda pair: (-pair[1], pair[0]),
        )
        shown = ranked[:size]
        mine = None
        if viewer is not None and viewer in scores and scores[viewer] > 0:
            mine_score = scores[viewer]
            # Everyone not active today keeps their stored points: count those above mine in
            # SQL, and the people active today here.
            above = await repo.count_above(
                community.id, period.value, mine_score, excluded | set(active)
            )
            above += sum(1 for p in active if p != viewer and scores.get(p, 0.0) > mine_score)
            mine = above
        wanted = [person for person, _ in shown]
        if mine is not None and viewer not in wanted and viewer is not None:
            wanted.append(viewer)
        names = await repo.display_names(community.id, wanted)
        board = Board(
            period,
            [
                Ranked(i + 1, names.get(person, "?"), Standing(person, score=score))
                for i, (person, score) in enumerate(shown)
            ],
        )
        if mine is not None and viewer is not None:
            position = next((i for i, (p, _) in enumerate(shown) if p == viewer), None)
            rank = position + 1 if position is not None else mine + 1
            board.me = Ranked(rank, names.get(viewer, "?"), Standing(viewer, score=scores[viewer]))
        return board

    async def with_badges(
        self, uow: UnitOfWork, community: Community, standings: list[Standing]
    ) -> None:
        """Fill in each standing's badges (all-time counts, and first contributions)."""
        config = self.config_for(community)
        people = [s.person_id for s in standings]
        counts = await uow.repo(ParticipationRepository).kind_counts(community.id, people)
        pioneers = await uow.repo(ParticipationRepository).pioneers(community.id)
        for standing in standings:
            mine = counts.get(standing.person_id, {})
            standing.badges = badges_for(mine, config, pioneer=standing.person_id in pioneers)
            standing.next_badge = next_badge(mine, config, standing.badges)

    async def member(
        self, uow: UnitOfWork, community: Community, person_id: int, now: datetime
    ) -> Standing:
        standings = await self.standings(uow, community, now, Period.ALL, person_id=person_id)
        standing = standings.get(person_id) or Standing(
            person_id, level=self.config_for(community).levels[0].key
        )
        await self.with_badges(uow, community, [standing])
        return standing

    async def a_players(
        self, uow: UnitOfWork, community: Community, now: datetime
    ) -> list[Ranked]:
        config = self.config_for(community)
        standings = await self.standings(uow, community, now, Period.ALL)
        ranked = ranking(standings, await self.excluded(uow, community))
        chosen = [s for s in ranked if s.level == config.a_player_level]
        await self.with_badges(uow, community, chosen)
        names = await uow.repo(ParticipationRepository).display_names(
            community.id, [s.person_id for s in chosen]
        )
        return [Ranked(i + 1, names.get(s.person_id, "?"), s) for i, s in enumerate(chosen)]
