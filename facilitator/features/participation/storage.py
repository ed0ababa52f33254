"""Participation queries over the ledger: aggregated in SQL, by the community's local day."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    String,
    case,
    delete,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.domain.model import DataSubject, Member, ParticipationKind, Platform
from facilitator.features.knowledge.storage import (
    KnowledgeGapRow,
    KnowledgeItemRow,
    KnowledgeVoteRow,
)
from facilitator.features.participation.domain import (
    DailyCount,
    MemberFacts,
    MessageAuthor,
    ScoreState,
)
from facilitator.storage.memo import LedgerAuthor, MessageAuthors, memo_of
from facilitator.storage.models import (
    Base,
    CommunityRow,
    IdentityRow,
    LedgerRow,
    MembershipRow,
    PersonRow,
    QuestionRow,
    RoleGrantRow,
)
from facilitator.storage.personal import erase, json_value
from facilitator.storage.repositories import _member, insert_ignoring_conflicts

# -- tables ----------------------------------------------------------------------------------


class ParticipationScoreRow(Base):
    """Each member's points, rolled up to a day (`participation_score_state.as_of`) so that
    rankings read 10,000 rows instead of a year of ledger events (see participation/rollup)."""

    __tablename__ = "participation_scores"
    __table_args__ = (
        Index("ix_participation_scores_all", "community_id", "points_all"),
        Index("ix_participation_scores_month", "community_id", "points_month"),
        Index("ix_participation_scores_week", "community_id", "points_week"),
    )

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    # Every event before `as_of`, each day's points halved per half-life up to `as_of`.
    points_all: Mapped[float] = mapped_column(default=0.0)
    # Points of the 6 and the 29 days before `as_of` (with today: the last 7 and 30 days).
    points_week: Mapped[float] = mapped_column(default=0.0)
    points_month: Mapped[float] = mapped_column(default=0.0)


class ParticipationScoreStateRow(Base):
    """How far a community's rolled-up scores go, and with which scoring configuration."""

    __tablename__ = "participation_score_state"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date)
    config_key: Mapped[str] = mapped_column(String(64))
    rebuilt_on: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime]


class RecognitionRow(Base):
    """A badge or level a member was congratulated for, once per community: the job
    (participation/recognition.py) inserts the row first, so two workers never both send."""

    __tablename__ = "recognitions"
    __table_args__ = (Index("ix_recognitions_person", "person_id"),)

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "badge" or "level"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    recognised_at: Mapped[datetime]


# Zone transitions are months apart; probing every few hours finds each of them.
_PROBE = timedelta(hours=6)


def offset_segments(
    timezone: str, start: datetime, end: datetime
) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offsets (minutes) over [start, end): each applies before its instant."""
    zone = ZoneInfo(timezone)

    def offset(at: datetime) -> int:
        delta = at.astimezone(zone).utcoffset()
        return int(delta.total_seconds() // 60) if delta is not None else 0

    segments: list[tuple[datetime | None, int]] = []
    current = offset(start)
    probe = start
    while probe < end:
        following = min(probe + _PROBE, end)
        if offset(following) != current:
            low, high = probe, following
            while high - low > timedelta(seconds=30):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == current else (low, middle)
            segments.append((high, current))
            current = offset(following)
        probe = following
    segments.append((None, current))
    return segments


def _modifier(minutes: int) -> str:
    return f"{minutes:+d} minutes"


def local_day(
    session: AsyncSession, column: Any, timezone: str, start: datetime, end: datetime
) -> ColumnElement[Any]:
    """The local calendar day of a UTC timestamp column in `timezone`, for either dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(literal(timezone), column))
    segments = offset_segments(timezone, start, end)
    if len(segments) == 1:
        return func.date(column, _modifier(segments[0][1]))
    whens = [(column < until, _modifier(minutes)) for until, minutes in segments[:-1]]
    return func.date(column, case(*whens, else_=_modifier(segments[-1][1])))


def as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


class SqlParticipationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- crediting ---------------------------------------------------------------------------

    async def message_author(self, community_id: int, message_id: str) -> MessageAuthor | None:
        # The unit of work's memo knows the messages of its batch (`prefetch`) and those it
        # recorded itself.
        authors = memo_of(self.session.info).part(MessageAuthors)
        key = (community_id, message_id[:200])
        if key in authors.posted or community_id in authors.whole:
            posted = authors.posted.get(key)
            if posted is None:
                return None
            was_answer = (community_id, posted.source_event_id, posted.person_id) in (
                authors.answers
            )
            return MessageAuthor(
                posted.person_id, posted.identity_id, posted.source_event_id, was_answer
            )
        row = (
            await self.session.execute(
                select(LedgerRow.person_id, LedgerRow.identity_id, LedgerRow.source_event_id)
                .where(
                    LedgerRow.community_id == community_id,
                    LedgerRow.ref == message_id[:200],
                    LedgerRow.kind == ParticipationKind.MESSAGE_POSTED.value,
                )
                .limit(1)
            )
        ).first()
        if row is None:
            authors.posted[key] = None
            return None
        person_id, identity_id, source_event_id = row
        authors.posted[key] = LedgerAuthor(person_id, identity_id, source_event_id)
        answered = await self.session.scalar(
            select(
                exists().where(
                    LedgerRow.community_id == community_id,
                    LedgerRow.source_event_id == source_event_id,
                    LedgerRow.kind == ParticipationKind.ANSWER_GIVEN.value,
                    LedgerRow.person_id == person_id,
                )
            )
        )
        if answered:
            authors.answers.add((community_id, source_event_id, person_id))
        return MessageAuthor(person_id, identity_id, source_event_id, bool(answered))

    async def joined_since(self, community_id: int, person_id: int, since: datetime) -> bool:
        """Whether the person joined the community (a `member_joined` entry) since then."""
        found = await self.session.scalar(
            select(
                exists().where(
                    LedgerRow.person_id == person_id,
                    LedgerRow.community_id == community_id,
                    LedgerRow.kind == ParticipationKind.MEMBER_JOINED.value,
                    LedgerRow.occurred_at >= since,
                )
            )
        )
        return bool(found)

    # -- scores ------------------------------------------------------------------------------

    async def daily_counts(
        self,
        community_id: int,
        *,
        timezone: str,
        since: datetime | None,
        until: datetime,
        kinds: Collection[str],
        person_id: int | None = None,
        person_ids: Collection[int] | None = None,
    ) -> list[DailyCount]:
        """Events per member, kind and local day in [since, until), counted in SQL."""
        start = since
        if start is None:
            first = await self.session.scalar(
                select(func.min(LedgerRow.occurred_at)).where(
                    LedgerRow.community_id == community_id
                )
            )
            start = first or until
        day = local_day(self.session, LedgerRow.occurred_at, timezone, start, until)
        inner = select(
            LedgerRow.person_id.label("person_id"),
            LedgerRow.kind.label("kind"),
            day.label("day"),
        ).where(
            LedgerRow.community_id == community_id,
            LedgerRow.occurred_at < until,
            LedgerRow.kind.in_(list(kinds)),
        )
        if since is not None:
            inner = inner.where(LedgerRow.occurred_at >= since)
        if person_id is not None:
            inner = inner.where(LedgerRow.person_id == person_id)
        if person_ids is not None:
            inner = inner.where(LedgerRow.person_id.in_(list(person_ids)))
        sub = inner.subquery()
        result = await self.session.execute(
            select(sub.c.person_id, sub.c.kind, sub.c.day, func.count()).group_by(
                sub.c.person_id, sub.c.kind, sub.c.day
            )
        )
        return [
            DailyCount(int(person), str(kind), as_date(day), int(count))
            for person, kind, day, count in result.all()
        ]

    async def kind_counts(
        self,
        community_id: int,
        person_ids: Collection[int],
        before: datetime | None = None,
    ) -> dict[int, dict[str, int]]:
        """All-time events per kind of some members (for badges); only those that happened
        before `before` when given (what had been earned by then)."""
        if not person_ids:
            return {}
        conditions = [
            LedgerRow.community_id == community_id,
            LedgerRow.person_id.in_(list(person_ids)),
        ]
        if before is not None:
            conditions.append(LedgerRow.occurred_at < before)
        result = await self.session.execute(
            select(LedgerRow.person_id, LedgerRow.kind, func.count())
            .where(*conditions)
            .group_by(LedgerRow.person_id, LedgerRow.kind)
        )
        counts: dict[int, dict[str, int]] = {}
        for person, kind, count in result.all():
            counts.setdefault(int(person), {})[str(kind)] = int(count)
        return counts

    async def opted_out(self, community_id: int) -> set[int]:
        rows = await self.session.scalars(
            select(PersonRow.id)
            .join(MembershipRow, MembershipRow.person_id == PersonRow.id)
            .where(MembershipRow.community_id == community_id, PersonRow.opted_out_tracking)
        )
        return set(rows)

    async def staff(
        self, community_id: int, admins: Collection[tuple[Platform, str]] = ()
    ) -> set[int]:
        """People above member here: by membership, by a grant, or as configured admins."""
        found = set(
            await self.session.scalars(
                select(MembershipRow.person_id).where(
                    MembershipRow.community_id == community_id, MembershipRow.role != "member"
                )
            )
        )
        granted = await self.session.scalars(
            select(IdentityRow.person_id)
            .join(
                RoleGrantRow,
                (RoleGrantRow.platform == IdentityRow.platform)
                & (RoleGrantRow.platform_user_id == IdentityRow.platform_user_id),
            )
            .where(
                (RoleGrantRow.community_id == community_id) | RoleGrantRow.community_id.is_(None),
                RoleGrantRow.role != "member",
            )
        )
        found.update(granted)
        for platform, user_id in admins:
            person = await self.session.scalar(
                select(IdentityRow.person_id).where(
                    IdentityRow.platform == platform.value,
                    IdentityRow.platform_user_id == user_id,
                )
            )
            if person is not None:
                found.add(person)
        return found

    async def display_names(
        self, community_id: int, person_ids: Collection[int]
    ) -> dict[int, str]:
        """One name per person: the identity on the community's platform if they have one."""
        if not person_ids:
            return {}
        platform = await self.session.scalar(
            select(CommunityRow.platform).where(CommunityRow.id == community_id)
        )
        rows = await self.session.execute(
            select(IdentityRow.person_id, IdentityRow.platform, IdentityRow.display_name)
            .where(IdentityRow.person_id.in_(list(person_ids)))
            .order_by(IdentityRow.id)
        )
        names: dict[int, str] = {}
        for person, identity_platform, name in rows.all():
            if person not in names or identity_platform == platform:
                names[int(person)] = str(name)
        return names

    async def member_facts(self, community_id: int) -> list[MemberFacts]:
        names_query = (
            select(IdentityRow.display_name)
            .where(IdentityRow.person_id == MembershipRow.person_id)
            .order_by(IdentityRow.id)
            .limit(1)
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(
                MembershipRow.person_id,
                names_query,
                MembershipRow.role,
                MembershipRow.joined_at,
                MembershipRow.left_at,
                PersonRow.opted_out_tracking,
            )
            .join(PersonRow, PersonRow.id == MembershipRow.person_id)
            .where(MembershipRow.community_id == community_id)
        )
        return [
            MemberFacts(int(person), str(name or ""), str(role), joined, left, bool(opted))
            for person, name, role, joined, left, opted in rows.all()
        ]

    async def pioneers(
        self, community_id: int, before: datetime | None = None
    ) -> dict[int, list[str]]:
        """Who contributed the first item of a theme new to the community's repository
        (among the items created before `before`, when given).

        A theme is new when neither the community nor the shared library had an item in it
        before; the credit goes to the identity that contributed that first item."""
        scope = (
            KnowledgeItemRow.community_id == community_id
        ) | KnowledgeItemRow.community_id.is_(None)
        if before is not None:
            scope = scope & (KnowledgeItemRow.created_at < before)
        rows = await self.session.execute(
            select(
                KnowledgeItemRow.theme,
                KnowledgeItemRow.created_at,
                KnowledgeItemRow.id,
                IdentityRow.person_id,
                KnowledgeItemRow.status,
            )
            .outerjoin(IdentityRow, IdentityRow.id == KnowledgeItemRow.created_by)
            .where(scope, KnowledgeItemRow.theme != "")
            .order_by(KnowledgeItemRow.created_at, KnowledgeItemRow.id)
        )
        first: dict[str, int | None] = {}
        for theme, _, _, person, status in rows.all():
            if theme in first or status in ("rejected", "removed"):
                continue
            first[theme] = int(person) if person is not None else None
        found: dict[int, list[str]] = {}
        for theme, pioneer in first.items():
            if pioneer is not None:
                found.setdefault(pioneer, []).append(theme)
        return found

    # -- rolled-up scores (participation/rollup.py) -----------------------------------------

    async def score_state(self, community_id: int) -> ScoreState | None:
        row = await self.session.get(ParticipationScoreStateRow, community_id)
        if row is None:
            return None
        return ScoreState(row.as_of, row.config_key, row.rebuilt_on)

    async def claim_score_state(
        self, community_id: int, expected: ScoreState | None, new: ScoreState, now: datetime
    ) -> bool:
        """Move the state from `expected` to `new`; False when another process moved it first
        (the row lock is held until commit, so the rolled-up rows follow the state)."""
        values = {
            "as_of": new.as_of,
            "config_key": new.config_key,
            "rebuilt_on": new.rebuilt_on,
            "updated_at": now,
        }
        if expected is None:
            result = await self.session.execute(
                insert_ignoring_conflicts(self.session, ParticipationScoreStateRow).values(
                    community_id=community_id, **values
                )
            )
        else:
            result = await self.session.execute(
                update(ParticipationScoreStateRow)
                .where(
                    ParticipationScoreStateRow.community_id == community_id,
                    ParticipationScoreStateRow.as_of == expected.as_of,
                    ParticipationScoreStateRow.config_key == expected.config_key,
                )
                .values(**values)
            )
        return bool(getattr(result, "rowcount", 0))

    async def reset_scores(self, community_id: int, decay: float | None) -> None:
        """Before a roll-up: forget every row (`decay` None), or fade the all-time points by
        `decay` and clear the windows that are recomputed."""
        table = ParticipationScoreRow
        if decay is None:
            await self.session.execute(delete(table).where(table.community_id == community_id))
            return
        await self.session.execute(
            update(table)
            .where(table.community_id == community_id)
            .values(points_all=table.points_all * decay, points_week=0.0, points_month=0.0)
        )

    async def add_scores(
        self, community_id: int, rows: Sequence[tuple[int, float, float, float]]
    ) -> None:
        """(person, all-time points to add, week points, month points) for each person."""
        if not rows:
            return
        table = ParticipationScoreRow
        dialect = self.session.get_bind().dialect.name
        insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert_into(table)
        statement = statement.on_conflict_do_update(
            index_elements=[table.community_id, table.person_id],
            set_={
                "points_all": table.points_all + statement.excluded.points_all,
                "points_week": statement.excluded.points_week,
                "points_month": statement.excluded.points_month,
            },
        )
        for offset in range(0, len(rows), 5_000):
            await self.session.execute(
                statement,
                [
                    {
                        "community_id": community_id,
                        "person_id": person,
                        "points_all": all_points,
                        "points_week": week,
                        "points_month": month,
                    }
                    for person, all_points, week, month in rows[offset : offset + 5_000]
                ],
            )

    def _score_column(self, window: str) -> Any:
        columns = {
            "all": ParticipationScoreRow.points_all,
            "week": ParticipationScoreRow.points_week,
            "month": ParticipationScoreRow.points_month,
        }
        return columns[window]

    async def top_scores(
        self, community_id: int, window: str, limit: int, excluded: Collection[int]
    ) -> list[tuple[int, float]]:
        column = self._score_column(window)
        query = (
            select(ParticipationScoreRow.person_id, column)
            .where(ParticipationScoreRow.community_id == community_id, column > 0)
            .order_by(column.desc(), ParticipationScoreRow.person_id)
            .limit(limit)
        )
        if excluded:
            query = query.where(ParticipationScoreRow.person_id.not_in(list(excluded)))
        result = await self.session.execute(query)
        return [(int(person), float(points)) for person, points in result.all()]

    async def scores_of(
        self, community_id: int, window: str, person_ids: Collection[int]
    ) -> dict[int, float]:
        if not person_ids:
            return {}
        column = self._score_column(window)
        found: dict[int, float] = {}
        people = list(person_ids)
        for offset in range(0, len(people), 5_000):
            result = await self.session.execute(
                select(ParticipationScoreRow.person_id, column).where(
                    ParticipationScoreRow.community_id == community_id,
                    ParticipationScoreRow.person_id.in_(people[offset : offset + 5_000]),
                )
            )
            found.update((int(person), float(points)) for person, points in result.all())
        return found

    async def count_above(
        self, community_id: int, window: str, points: float, excluded: Collection[int]
    ) -> int:
        """How many people's rolled-up points exceed `points`, leaving `excluded` out."""
        column = self._score_column(window)
        query = select(func.count()).where(
            ParticipationScoreRow.community_id == community_id, column > points
        )
        if excluded:
            query = query.where(ParticipationScoreRow.person_id.not_in(list(excluded)))
        return int(await self.session.scalar(query) or 0)

    # -- the weekly summary ------------------------------------------------------------------

    def _tracked(self) -> ColumnElement[bool]:
        """Ledger rows of people who have not opted out (they are absent from every figure)."""
        return LedgerRow.person_id.not_in(
            select(PersonRow.id).where(PersonRow.opted_out_tracking).scalar_subquery()
        )

    def _window(self, community_id: int, start: datetime, end: datetime) -> list[Any]:
        return [
            LedgerRow.community_id == community_id,
            LedgerRow.occurred_at >= start,
            LedgerRow.occurred_at < end,
            self._tracked(),
        ]

    async def kind_totals(
        self, community_id: int, start: datetime, end: datetime
    ) -> dict[str, int]:
        result = await self.session.execute(
            select(LedgerRow.kind, func.count())
            .where(*self._window(community_id, start, end))
            .group_by(LedgerRow.kind)
        )
        return {str(kind): int(n) for kind, n in result.all()}

    async def people_with(
        self, community_id: int, start: datetime, end: datetime, kinds: Collection[str]
    ) -> set[int]:
        """Who had an event of one of `kinds` in the window."""
        rows = await self.session.scalars(
            select(LedgerRow.person_id)
            .where(*self._window(community_id, start, end), LedgerRow.kind.in_(list(kinds)))
            .distinct()
        )
        return {int(person) for person in rows}

    async def distinct_refs(
        self, community_id: int, start: datetime, end: datetime, kind: str
    ) -> int:
        """How many different things (polls, webinars) events of `kind` were about."""
        count = await self.session.scalar(
            select(func.count(func.distinct(LedgerRow.ref))).where(
                *self._window(community_id, start, end), LedgerRow.kind == kind
            )
        )
        return int(count or 0)

    async def activity_by_day(
        self,
        community_id: int,
        start: datetime,
        end: datetime,
        timezone: str,
        active_kinds: Collection[str],
    ) -> list[tuple[date, int, int]]:
        """(local day, messages, members active that day) for each day with events."""
        day = local_day(self.session, LedgerRow.occurred_at, timezone, start, end)
        inner = (
            select(
                day.label("day"),
                LedgerRow.kind.label("kind"),
                LedgerRow.person_id.label("person_id"),
            )
            .where(*self._window(community_id, start, end))
            .subquery()
        )
        messages = func.sum(
            case((inner.c.kind == ParticipationKind.MESSAGE_POSTED.value, 1), else_=0)
        )
        active = func.count(
            func.distinct(case((inner.c.kind.in_(list(active_kinds)), inner.c.person_id)))
        )
        result = await self.session.execute(
            select(inner.c.day, messages, active).group_by(inner.c.day).order_by(inner.c.day)
        )
        return [(as_date(d), int(m or 0), int(a or 0)) for d, m, a in result.all()]

    async def members_in(self, community_id: int, start: datetime, end: datetime) -> set[int]:
        """Who was a member at some moment of [start, end), among tracked people.

        A membership is dated from the member's first sign, not from when the bot stored it
        (a bot added late, or told of members after the fact, stores them "today"): a sign is
        a join or any event of theirs in the ledger; a leave (the membership's, or a
        `member_left` event) ends it until the next sign, and a leave at the same moment as
        a sign wins. So everyone who did something in the week was a member in it.
        """
        left = ParticipationKind.MEMBER_LEFT.value
        # Signs inside the week: its own rows only.
        found = {
            int(person)
            for person in await self.session.scalars(
                select(LedgerRow.person_id)
                .where(
                    LedgerRow.community_id == community_id,
                    LedgerRow.occurred_at >= start,
                    LedgerRow.occurred_at < end,
                    LedgerRow.kind != left,
                    self._tracked(),
                )
                .distinct()
            )
        }
        # Before the week: each member's last event (one seek of `ix_ledger_person`), and the
        # last leave of those who left (the rare `member_left` rows, by `ix_ledger_kind`).
        # Someone whose last event was no leave was still a member when the week began; a
        # leave at the same moment as a sign is that last event, and wins.
        last_event = (
            select(func.max(LedgerRow.occurred_at))
            .where(
                LedgerRow.person_id == PersonRow.id,
                LedgerRow.community_id == community_id,
                LedgerRow.occurred_at < start,
            )
            .correlate(PersonRow)
            .scalar_subquery()
        )
        # Everyone with a membership, or with events but none stored (what a feature recorded
        # of someone the bot never saw join): one seek each, never the whole ledger.
        rows = await self.session.execute(
            select(PersonRow.id, MembershipRow.joined_at, MembershipRow.left_at, last_event)
            .outerjoin(
                MembershipRow,
                (MembershipRow.person_id == PersonRow.id)
                & (MembershipRow.community_id == community_id),
            )
            .where(
                PersonRow.opted_out_tracking.is_(False),
                (MembershipRow.person_id.is_not(None)) | last_event.is_not(None),
            )
        )
        leaves = await self.session.execute(
            select(LedgerRow.person_id, func.max(LedgerRow.occurred_at))
            .where(
                LedgerRow.community_id == community_id,
                LedgerRow.kind == left,
                LedgerRow.occurred_at < start,
            )
            .group_by(LedgerRow.person_id)
        )
        last_leave: dict[int, datetime] = {int(p): at for p, at in leaves.all()}
        for person, joined_at, left_at, last in rows.all():
            person = int(person)
            if joined_at is not None and start <= joined_at < end:
                found.add(person)
            # The last sign before the week: the last event, or the stored join if later.
            sign = last
            if joined_at is not None and joined_at < start and (sign is None or joined_at > sign):
                sign = joined_at
            if sign is None:
                continue
            ended = last_leave.get(person)
            if left_at is not None and left_at < start and (ended is None or left_at > ended):
                ended = left_at
            if ended is None or sign > ended:
                found.add(person)
        return found

    async def question_times(
        self, community_id: int, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime | None]]:
        """(asked, first answered) of the questions asked in the window by tracked people."""
        result = await self.session.execute(
            select(QuestionRow.asked_at, QuestionRow.answered_at)
            .join(PersonRow, PersonRow.id == QuestionRow.person_id)
            .where(
                QuestionRow.community_id == community_id,
                QuestionRow.asked_at >= start,
                QuestionRow.asked_at < end,
                PersonRow.opted_out_tracking.is_(False),
            )
        )
        return [(asked, answered) for asked, answered in result.all()]

    async def gap_queries(self, community_id: int, start: datetime, end: datetime) -> list[str]:
        rows = await self.session.scalars(
            select(KnowledgeGapRow.query)
            .where(
                KnowledgeGapRow.community_id == community_id,
                KnowledgeGapRow.created_at >= start,
                KnowledgeGapRow.created_at < end,
            )
            .order_by(KnowledgeGapRow.created_at)
        )
        return [str(query) for query in rows]

    async def rated_items(
        self, community_id: int, start: datetime, end: datetime
    ) -> list[tuple[int, str, int, int]]:
        """Items voted on in [start, end): (id, title, 👍, 👎), the most disliked first."""
        up = func.sum(case((KnowledgeVoteRow.vote > 0, 1), else_=0))
        down = func.sum(case((KnowledgeVoteRow.vote < 0, 1), else_=0))
        rows = await self.session.execute(
            select(KnowledgeItemRow.id, KnowledgeItemRow.title, up, down)
            .join(KnowledgeItemRow, KnowledgeItemRow.id == KnowledgeVoteRow.item_id)
            .where(
                KnowledgeVoteRow.community_id == community_id,
                KnowledgeVoteRow.created_at >= start,
                KnowledgeVoteRow.created_at < end,
            )
            .group_by(KnowledgeItemRow.id, KnowledgeItemRow.title)
        )
        found = [(int(i), str(t), int(u or 0), int(d or 0)) for i, t, u, d in rows.all()]
        return sorted(found, key=lambda r: (-r[3], -r[2], r[0]))

    async def overdue_items(self, community_id: int, at: datetime) -> int:
        """The community's published items whose review date is before `at`'s day."""
        found = await self.session.scalar(
            select(func.count()).where(
                KnowledgeItemRow.community_id == community_id,
                KnowledgeItemRow.status == "published",
                KnowledgeItemRow.review_by.is_not(None),
                KnowledgeItemRow.review_by < at.date(),
            )
        )
        return int(found or 0)

    async def gap_closures(self, community_id: int, start: datetime, end: datetime) -> list[float]:
        """Hours from question to closing, of each gap an item closed in [start, end)."""
        rows = await self.session.execute(
            select(KnowledgeGapRow.created_at, KnowledgeGapRow.closed_at).where(
                KnowledgeGapRow.community_id == community_id,
                KnowledgeGapRow.status == "closed",
                KnowledgeGapRow.closed_at >= start,
                KnowledgeGapRow.closed_at < end,
            )
        )
        return sorted(
            (closed - asked).total_seconds() / 3600 for asked, closed in rows.all() if closed
        )

    async def gaps_asked_closed(self, community_id: int, start: datetime, end: datetime) -> int:
        """Of the gaps asked in [start, end), how many an item had closed by `end`."""
        found = await self.session.scalar(
            select(func.count()).where(
                KnowledgeGapRow.community_id == community_id,
                KnowledgeGapRow.created_at >= start,
                KnowledgeGapRow.created_at < end,
                KnowledgeGapRow.status == "closed",
                KnowledgeGapRow.closed_at < end,
            )
        )
        return int(found or 0)

    async def staff_members(
        self, community_id: int, admins: Collection[tuple[Platform, str]] = ()
    ) -> list[Member]:
        """Moderators and above here (`staff`), one identity each to write to."""
        return await self._reachable(community_id, await self.staff(community_id, admins))

    async def coordinators(self, community_id: int) -> list[Member]:
        """Who receives the community's weekly summary: coordinators and admins of it, by
        membership or by a grant (for it or for every community)."""
        people = set(
            await self.session.scalars(
                select(MembershipRow.person_id).where(
                    MembershipRow.community_id == community_id,
                    MembershipRow.role.in_(("coordinator", "admin")),
                    MembershipRow.left_at.is_(None),
                )
            )
        )
        granted = await self.session.scalars(
            select(IdentityRow.person_id)
            .join(
                RoleGrantRow,
                (RoleGrantRow.platform == IdentityRow.platform)
                & (RoleGrantRow.platform_user_id == IdentityRow.platform_user_id),
            )
            .where(
                (RoleGrantRow.community_id == community_id) | RoleGrantRow.community_id.is_(None),
                RoleGrantRow.role.in_(("coordinator", "admin")),
            )
        )
        people.update(granted)
        return await self._reachable(community_id, people)

    async def admins(self, identities: Collection[tuple[Platform, str]]) -> list[Member]:
        """Admins of the installation: configured identities and grants for every community."""
        people: set[int] = set()
        for platform, user_id in identities:
            person = await self.session.scalar(
                select(IdentityRow.person_id).where(
                    IdentityRow.platform == platform.value,
                    IdentityRow.platform_user_id == user_id,
                )
            )
            if person is not None:
                people.add(int(person))
        granted = await self.session.scalars(
            select(IdentityRow.person_id)
            .join(
                RoleGrantRow,
                (RoleGrantRow.platform == IdentityRow.platform)
                & (RoleGrantRow.platform_user_id == IdentityRow.platform_user_id),
            )
            .where(RoleGrantRow.community_id.is_(None), RoleGrantRow.role == "admin")
        )
        people.update(granted)
        return await self._reachable(None, people)

    async def _reachable(self, community_id: int | None, people: Collection[int]) -> list[Member]:
        """One identity per person to write to: on the community's platform when they have one."""
        if not people:
            return []
        platform = None
        if community_id is not None:
            platform = await self.session.scalar(
                select(CommunityRow.platform).where(CommunityRow.id == community_id)
            )
        result = await self.session.execute(
            select(IdentityRow, PersonRow)
            .join(PersonRow, PersonRow.id == IdentityRow.person_id)
            .where(IdentityRow.person_id.in_(list(people)))
            .order_by(IdentityRow.id)
        )
        chosen: dict[int, Member] = {}
        for identity, person in result.all():
            current = chosen.get(person.id)
            if current is None or (
                identity.platform == platform and current.platform.value != platform
            ):
                chosen[person.id] = _member(identity, person)
        return [chosen[person] for person in sorted(chosen)]

    # -- recognition (participation/recognition.py) ------------------------------------------

    async def recognise(
        self, community_id: int, person_id: int, kind: str, key: str, at: datetime
    ) -> bool:
        """Record a congratulation; False when this one was recorded before."""
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, RecognitionRow).values(
                community_id=community_id,
                person_id=person_id,
                kind=kind,
                key=key[:32],
                recognised_at=at,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    # -- privacy -----------------------------------------------------------------------------

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        """The person's participation events and rolled-up scores (for `/mydata`)."""
        keys = {c.id: c.key for c in await self.session.scalars(select(CommunityRow))}
        ledger = await self.session.execute(
            select(
                LedgerRow.community_id,
                LedgerRow.kind,
                LedgerRow.occurred_at,
                LedgerRow.ref,
                LedgerRow.source_event_id,
            )
            .where(LedgerRow.person_id == subject.person_id)
            .order_by(LedgerRow.occurred_at, LedgerRow.id)
        )
        scores = await self.session.scalars(
            select(ParticipationScoreRow).where(
                ParticipationScoreRow.person_id == subject.person_id
            )
        )
        recognitions = await self.session.execute(
            select(
                RecognitionRow.community_id,
                RecognitionRow.kind,
                RecognitionRow.key,
                RecognitionRow.recognised_at,
            )
            .where(RecognitionRow.person_id == subject.person_id)
            .order_by(RecognitionRow.recognised_at, RecognitionRow.kind, RecognitionRow.key)
        )
        return {
            "recognitions": [
                {
                    "community": keys.get(community, str(community)),
                    "kind": kind,
                    "key": key,
                    "at": json_value(at),
                }
                for community, kind, key, at in recognitions.all()
            ],
            "participation": [
                {
                    "community": keys.get(community, str(community)),
                    "kind": kind,
                    "at": json_value(at),
                    "ref": ref,
                    "event": event,
                }
                for community, kind, at, ref, event in ledger.all()
            ],
            "scores": [
                {
                    "community": keys.get(s.community_id, str(s.community_id)),
                    "points_all": s.points_all,
                    "points_month": s.points_month,
                    "points_week": s.points_week,
                }
                for s in scores
            ],
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        """Erase the person's participation events and scores."""
        person_id = subject.person_id
        return await erase(
            self.session,
            {
                "participation": delete(LedgerRow).where(LedgerRow.person_id == person_id),
                "scores": delete(ParticipationScoreRow).where(
                    ParticipationScoreRow.person_id == person_id
                ),
                "recognitions": delete(RecognitionRow).where(
                    RecognitionRow.person_id == person_id
                ),
            },
        )

    async def purge(self, events_before: datetime, texts_before: datetime) -> dict[str, int]:
        """The retention job: old participation events, and message texts no longer needed."""
        ledger = await self.session.execute(
            delete(LedgerRow).where(LedgerRow.occurred_at < events_before)
        )
        texts = await self.session.execute(
            update(QuestionRow)
            .where(QuestionRow.asked_at < texts_before, QuestionRow.text.is_not(None))
            .values(text=None)
        )
        gaps = await self.session.execute(
            delete(KnowledgeGapRow).where(KnowledgeGapRow.created_at < texts_before)
        )
        return {
            "participation": int(getattr(ledger, "rowcount", 0) or 0),
            "question_texts": int(getattr(texts, "rowcount", 0) or 0),
            "unanswered_lookups": int(getattr(gaps, "rowcount", 0) or 0),
        }
