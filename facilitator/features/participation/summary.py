"""The coordinators' weekly summary: figures from SQL aggregates, with week-over-week change.

A week is an ISO week in the community's time zone (Monday 00:00 to Monday 00:00 local).
Members who opted out of tracking are absent from every figure and list; staff are left out
of the lists of people when the community excludes them from rankings.

Every share is taken of the population it is a part of: the members of a week are those who
were members at some moment of it, their membership dated from their first sign (see
`ParticipationRepository.members_in`), so everyone active, voting or newly joined that week is
among them, however late the bot learnt of them.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from facilitator.domain.model import Community, ParticipationKind, Platform
from facilitator.features.participation.config import ParticipationConfig
from facilitator.features.participation.domain import DailyCount
from facilitator.features.participation.network import (
    SharedQuestion,
    SharedTheme,
    names_in_several,
    shared_questions,
    shared_themes,
)
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.participation.scoring import ranking, reasons, tally
from facilitator.localtime import local
from facilitator.ports import UnitOfWork

if TYPE_CHECKING:
    from facilitator.features.knowledge.service import KnowledgeBase

K = ParticipationKind

# Active in a week: did something, rather than received something (a thanks, a reaction).
ACTIVE_KINDS = frozenset(
    {
        K.MESSAGE_POSTED,
        K.QUESTION_ASKED,
        K.ANSWER_GIVEN,
        K.RESOURCE_SHARED,
        K.REACTION_GIVEN,
        K.POLL_VOTE,
        K.WEBINAR_RSVP,
        K.WEBINAR_ATTENDED,
        K.WEBINAR_PRESENTED,
        K.KNOWLEDGE_CONTRIBUTED,
        K.KNOWLEDGE_APPROVED,
        K.NEWCOMER_WELCOMED,
    }
)
_ACTIVE = tuple(sorted(kind.value for kind in ACTIVE_KINDS))
# A rising member earned at least this many points this week, and more than three times
# their weekly average of the weeks before.
RISING_MIN_POINTS = 10
RISING_FACTOR = 3
AT_RISK_MIN_WEEKS = 2
GAPS_SHOWN = 5
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """`2026-W47` (or `2026W47`)."""
        match = _WEEK.match(text.strip())
        if match is None:
            raise ValueError(f"not an ISO week: {text!r} (write it like 2026-W47)")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{year} has no week {week}") from None
        return cls(year, week)

    @classmethod
    def containing(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @classmethod
    def last_complete(cls, now: datetime, timezone: str) -> IsoWeek:
        """The most recent week that has ended in that zone."""
        today = now.astimezone(ZoneInfo(timezone)).date()
        return cls.containing(today).previous()

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=n) for n in range(7)]

    def previous(self, weeks: int = 1) -> IsoWeek:
        return IsoWeek.containing(self.monday - timedelta(weeks=weeks))

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """Monday 00:00 to the next Monday 00:00 in that zone, as UTC."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(self.monday, time(0), tzinfo=zone).astimezone(UTC)
        end_day = self.monday + timedelta(weeks=1)
        return start, datetime.combine(end_day, time(0), tzinfo=zone).astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


@dataclass(frozen=True)
class Figures:
    """The week's numbers; each is compared with the week before."""

    known_members: int = 0
    active_members: int = 0
    newcomers: int = 0
    newcomers_active: int = 0
    messages: int = 0
    questions_asked: int = 0
    questions_answered: int = 0
    questions_unanswered: int = 0
    median_answer_minutes: float | None = None
    poll_votes: int = 0
    poll_voters: int = 0
    polls: int = 0
    webinar_rsvps: int = 0
    webinar_attended: int = 0
    unanswered_lookups: int = 0
    # Of the repository's gaps: how many an item closed this week, and the median hours from
    # the question to its answer (the demand-to-response measure).
    gaps_closed: int = 0
    median_gap_close_hours: float | None = None
    # Of this week's unanswered lookups, how many an item had closed by the week's end.
    lookups_closed: int = 0
    # Published items of the community past their review date at the end of the week.
    items_overdue: int = 0

    @property
    def active_share(self) -> float | None:
        if not self.known_members:
            return None
        return self.active_members / self.known_members

    @property
    def voters_share(self) -> float | None:
        if not self.known_members:
            return None
        return self.poll_voters / self.known_members

    @property
    def lookups_closed_share(self) -> float | None:
        if not self.unanswered_lookups:
            return None
        return self.lookups_closed / self.unanswered_lookups


# In the order they are shown (and written to the CSV).
FIGURES = (
    "active_members",
    "known_members",
    "newcomers",
    "newcomers_active",
    "messages",
    "questions_asked",
    "questions_answered",
    "questions_unanswered",
    "median_answer_minutes",
    "unanswered_lookups",
    "gaps_closed",
    "median_gap_close_hours",
    "lookups_closed",
    "items_overdue",
    "poll_votes",
    "poll_voters",
    "webinar_rsvps",
    "webinar_attended",
)
# The shares, computed from the figures above (written to the CSV after them).
SHARES = ("active_share", "voters_share", "lookups_closed_share")


@dataclass(frozen=True)
class PersonLine:
    """A member named in the summary, with what earned them the mention."""

    person_id: int
    name: str
    points: int
    reasons: tuple[tuple[str, int], ...] = ()
    previous_points: float = 0.0  # rising members: their weekly average before
    last_active: date | None = None  # members at risk
    active_weeks: int = 0  # members at risk: weeks active among those before


@dataclass(frozen=True)
class DayActivity:
    day: date
    messages: int
    active: int


@dataclass(frozen=True)
class WeeklySummary:
    community: Community
    week: IsoWeek
    figures: Figures
    previous: Figures
    days: tuple[DayActivity, ...] = ()
    gaps: tuple[tuple[str, int], ...] = ()
    # Repository items rated this week: (id, title, 👍, 👎), the most disliked first.
    rated: tuple[tuple[int, str, int, int], ...] = ()
    top: tuple[PersonLine, ...] = ()
    rising: tuple[PersonLine, ...] = ()
    at_risk: tuple[PersonLine, ...] = ()


@dataclass(frozen=True)
class NetworkLine:
    community: Community
    figures: Figures
    previous: Figures


@dataclass(frozen=True)
class NetworkSummary:
    week: IsoWeek
    lines: tuple[NetworkLine, ...] = ()
    in_several: int = 0
    in_several_previous: int = 0
    totals: Figures = field(default_factory=Figures)
    previous_totals: Figures = field(default_factory=Figures)
    # What the communities have in common (`network.py`): themes, open questions, and the
    # names of those active in several (`in_several` counts them all).
    themes: tuple[SharedTheme, ...] = ()
    questions: tuple[SharedQuestion, ...] = ()
    several_names: tuple[str, ...] = ()


async def figures_for(
    uow: UnitOfWork, community: Community, start: datetime, end: datetime
) -> Figures:
    figures, _ = await _figures_and_active(uow, community, start, end)
    return figures


async def _figures_and_active(
    uow: UnitOfWork, community: Community, start: datetime, end: datetime
) -> tuple[Figures, set[int]]:
    """The window's figures, and who was active in it (the network counts them)."""
    repo = uow.repo(ParticipationRepository)
    totals = await repo.kind_totals(community.id, start, end)
    members = await repo.members_in(community.id, start, end)
    active = await repo.people_with(community.id, start, end, _ACTIVE)
    newcomers = await repo.people_with(community.id, start, end, [K.MEMBER_JOINED.value])
    voters = await repo.people_with(community.id, start, end, [K.POLL_VOTE.value])
    questions = await repo.question_times(community.id, start, end)
    answered = [(a, b) for a, b in questions if b is not None and b < end]
    waits = [(b - a).total_seconds() / 60 for a, b in answered if b is not None]
    closures = await repo.gap_closures(community.id, start, end)
    figures = Figures(
        known_members=len(members),
        active_members=len(active),
        newcomers=len(newcomers),
        newcomers_active=len(newcomers & active),
        messages=totals.get(K.MESSAGE_POSTED, 0),
        questions_asked=len(questions),
        questions_answered=len(answered),
        questions_unanswered=len(questions) - len(answered),
        median_answer_minutes=statistics.median(waits) if waits else None,
        poll_votes=totals.get(K.POLL_VOTE, 0),
        poll_voters=len(voters),
        polls=await repo.distinct_refs(community.id, start, end, K.POLL_VOTE.value),
        webinar_rsvps=totals.get(K.WEBINAR_RSVP, 0),
        webinar_attended=totals.get(K.WEBINAR_ATTENDED, 0),
        unanswered_lookups=len(await repo.gap_queries(community.id, start, end)),
        gaps_closed=len(closures),
        median_gap_close_hours=statistics.median(closures) if closures else None,
        lookups_closed=await repo.gaps_asked_closed(community.id, start, end),
        items_overdue=await repo.overdue_items(community.id, local(end, community.timezone)),
    )
    return figures, active


async def weekly_summary(
    uow: UnitOfWork,
    community: Community,
    week: IsoWeek,
    config: ParticipationConfig,
    admins: Collection[tuple[Platform, str]] = (),
) -> WeeklySummary:
    # Imported here: it brings the lookup engine (numpy), which the command line, importing
    # this module for `facilitator report`, should not load before a command runs.
    from facilitator.features.knowledge.gaps import group_similar

    repo = uow.repo(ParticipationRepository)
    start, end = week.bounds(community.timezone)
    previous_start, _ = week.previous().bounds(community.timezone)
    history_start, _ = week.previous(config.at_risk_weeks).bounds(community.timezone)
    figures = await figures_for(uow, community, start, end)
    previous = await figures_for(uow, community, previous_start, start)
    by_day = {
        day: DayActivity(day, messages, active)
        for day, messages, active in await repo.activity_by_day(
            community.id, start, end, community.timezone, _ACTIVE
        )
    }
    days = tuple(by_day.get(day, DayActivity(day, 0, 0)) for day in week.days)
    gaps = tuple(group_similar(await repo.gap_queries(community.id, start, end))[:GAPS_SHOWN])
    rated = tuple((await repo.rated_items(community.id, start, end))[:GAPS_SHOWN])
    excluded = await repo.opted_out(community.id)
    if config.exclude_staff:
        excluded |= await repo.staff(community.id, admins)
    kinds = sorted(set(config.scored_kinds) | set(_ACTIVE))
    rows = await repo.daily_counts(
        community.id, timezone=community.timezone, since=history_start, until=end, kinds=kinds
    )
    this_week = [r for r in rows if r.day >= week.monday]
    before = [r for r in rows if r.day < week.monday]
    top, rising = _contributors(this_week, before, config, week, excluded)
    at_risk = _at_risk(this_week, before, excluded, config)
    people = {line.person_id for line in (*top, *rising, *at_risk)}
    names = await repo.display_names(community.id, people)

    def named(lines: Iterable[PersonLine]) -> tuple[PersonLine, ...]:
        return tuple(
            PersonLine(
                line.person_id,
                names.get(line.person_id, "?"),
                line.points,
                line.reasons,
                line.previous_points,
                line.last_active,
                line.active_weeks,
            )
            for line in lines
        )

    return WeeklySummary(
        community=community,
        week=week,
        figures=figures,
        previous=previous,
        days=days,
        gaps=gaps,
        rated=rated,
        top=named(top),
        rising=named(rising),
        at_risk=named(at_risk),
    )


def _contributors(
    this_week: Sequence[DailyCount],
    before: Sequence[DailyCount],
    config: ParticipationConfig,
    week: IsoWeek,
    excluded: Collection[int],
) -> tuple[list[PersonLine], list[PersonLine]]:
    last_day = week.days[-1]
    now = tally(this_week, config, last_day, decay=False)
    earlier = tally(before, config, last_day, decay=False)
    ranked = ranking(now, excluded)
    top = [
        PersonLine(s.person_id, "", s.rounded, tuple(reasons(s, config.reasons_shown)))
        for s in ranked[: config.summary_top]
    ]
    rising = []
    for standing in ranked:
        average = earlier[standing.person_id].score if standing.person_id in earlier else 0.0
        average /= config.at_risk_weeks
        if standing.score >= RISING_MIN_POINTS and standing.score > RISING_FACTOR * average:
            rising.append((standing.score - average, standing, average))
    rising.sort(key=lambda item: (-item[0], item[1].person_id))
    return top, [
        PersonLine(
            s.person_id,
            "",
            s.rounded,
            tuple(reasons(s, config.reasons_shown)),
            previous_points=average,
        )
        for _, s, average in rising[: config.summary_top]
    ]


def _at_risk(
    this_week: Sequence[DailyCount],
    before: Sequence[DailyCount],
    excluded: Collection[int],
    config: ParticipationConfig,
) -> list[PersonLine]:
    """Active in at least two of the weeks before, and not at all this week."""
    active_now = {r.person_id for r in this_week if r.kind in _ACTIVE and r.count > 0}
    weeks: dict[int, set[tuple[int, int]]] = defaultdict(set)
    last: dict[int, date] = {}
    for row in before:
        if row.kind not in _ACTIVE or row.count <= 0:
            continue
        weeks[row.person_id].add(row.day.isocalendar()[:2])
        last[row.person_id] = max(last.get(row.person_id, row.day), row.day)
    found = [
        PersonLine(person, "", 0, last_active=last[person], active_weeks=len(active))
        for person, active in weeks.items()
        if len(active) >= AT_RISK_MIN_WEEKS and person not in active_now and person not in excluded
    ]
    found.sort(key=lambda line: (-line.active_weeks, -(line.last_active or date.min).toordinal()))
    return found[: config.summary_top * 2]


async def network_summary(
    uow: UnitOfWork,
    communities: Sequence[Community],
    week: IsoWeek,
    base: KnowledgeBase | None = None,
) -> NetworkSummary:
    """Every active community's figures, who is active in more than one of them (each
    community's week in its own time zone, as on its line), and what they share; `base`
    groups the open questions by meaning, when it has a sentence encoder."""
    lines = []
    active_now: list[set[int]] = []
    active_before: list[set[int]] = []
    for community in communities:
        start, end = week.bounds(community.timezone)
        previous_start, _ = week.previous().bounds(community.timezone)
        figures, active = await _figures_and_active(uow, community, start, end)
        previous, active_earlier = await _figures_and_active(uow, community, previous_start, start)
        lines.append(NetworkLine(community, figures, previous))
        active_now.append(active)
        active_before.append(active_earlier)
    return NetworkSummary(
        week=week,
        lines=tuple(lines),
        in_several=_in_several(active_now),
        in_several_previous=_in_several(active_before),
        totals=_sum(line.figures for line in lines),
        previous_totals=_sum(line.previous for line in lines),
        themes=await shared_themes(uow, communities),
        questions=await shared_questions(uow, communities, base),
        several_names=await names_in_several(uow, communities, active_now),
    )


def _in_several(active: Iterable[set[int]]) -> int:
    """People in more than one of these sets."""
    seen: dict[int, int] = defaultdict(int)
    for people in active:
        for person in people:
            seen[person] += 1
    return sum(1 for count in seen.values() if count > 1)


def _sum(all_figures: Iterable[Figures]) -> Figures:
    listed = list(all_figures)
    medians = ("median_answer_minutes", "median_gap_close_hours")
    counted = {
        name: sum(int(getattr(f, name)) for f in listed)
        for name in Figures.__dataclass_fields__
        if name not in medians
    }

    # The median of medians: a rough figure, said as much where it is shown.
    def middle(name: str) -> float | None:
        values = [getattr(f, name) for f in listed if getattr(f, name) is not None]
        return statistics.median(values) if values else None

    return Figures(
        **counted,
        median_answer_minutes=middle("median_answer_minutes"),
        median_gap_close_hours=middle("median_gap_close_hours"),
    )
