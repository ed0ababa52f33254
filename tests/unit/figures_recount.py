"""The weekly summary's figures recounted from the stored rows, by this file's own rules.

The rules are the README's and docs/architecture.md's words, written again here rather than
imported, so that a summary that drifts from them fails:

- A week is Monday 00:00 to the next Monday 00:00 in the community's time zone.
- Someone who opted out of tracking is in no figure at all.
- Active in a week: did something in the community that week (wrote, asked, answered,
  shared, reacted, voted, signed up for, attended or presented a webinar, contributed or
  approved an item, welcomed a newcomer); being thanked or reacted to is not doing something.
- A member in a week: in the community at some moment of it. A membership starts at a sign
  of the member (a join, the membership the bot stored, or any event of theirs in the
  ledger) and ends at a leave (a `member_left` event, or the membership's leave date) until
  the next sign; a leave at the same moment as a sign ends it.
- Newcomers: joined that week. Questions: asked that week, answered if the first answer came
  before the week's end. Unanswered lookups: the gaps asked that week; of those, closed: the
  ones closed by the week's end; gaps closed: closed that week, whenever asked.
- Items overdue: published items whose review date is before the day after the week.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

DID_SOMETHING = frozenset(
    {
        "message_posted",
        "question_asked",
        "answer_given",
        "resource_shared",
        "reaction_given",
        "poll_vote",
        "webinar_rsvp",
        "webinar_attended",
        "webinar_presented",
        "knowledge_contributed",
        "knowledge_approved",
        "newcomer_welcomed",
    }
)
LEAVE = "member_left"


def moment(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite returns naive UTC text)."""
    found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


@dataclass
class Stored:
    """Every row the figures come from, read with plain SQL."""

    ledger: list[tuple[int, int, str, datetime, str | None]]
    memberships: list[tuple[int, int, datetime, datetime | None]]
    opted_out: set[int]
    questions: list[tuple[int, int, datetime, datetime | None]]
    gaps: list[tuple[int, datetime, datetime | None, str]]
    items: list[tuple[int, str, date | None]]


async def read_stored(engine: AsyncEngine) -> Stored:
    async with engine.connect() as conn:

        async def rows(sql: str) -> list[Any]:
            return list((await conn.execute(text(sql))).all())

        ledger = [
            (int(c), int(p), str(k), moment(at), ref)
            for c, p, k, at, ref in await rows(
                "SELECT community_id, person_id, kind, occurred_at, ref FROM ledger"
            )
        ]
        memberships = [
            (int(c), int(p), moment(j), moment(left) if left is not None else None)
            for c, p, j, left in await rows(
                "SELECT community_id, person_id, joined_at, left_at FROM memberships"
            )
        ]
        opted_out = {
            int(p) for p, flag in await rows("SELECT id, opted_out_tracking FROM persons") if flag
        }
        questions = [
            (int(c), int(p), moment(a), moment(b) if b is not None else None)
            for c, p, a, b in await rows(
                "SELECT community_id, person_id, asked_at, answered_at FROM questions"
            )
        ]
        gaps = [
            (int(c), moment(a), moment(b) if b is not None else None, str(s))
            for c, a, b, s in await rows(
                "SELECT community_id, created_at, closed_at, status FROM knowledge_gaps"
            )
        ]
        items = [
            (int(c), str(s), r if isinstance(r, date) or r is None else date.fromisoformat(r))
            for c, s, r in await rows(
                "SELECT community_id, status, review_by FROM knowledge_items"
            )
        ]
    return Stored(ledger, memberships, opted_out, questions, gaps, items)


def bounds(year: int, week: int, timezone: str) -> tuple[datetime, datetime]:
    monday = date.fromisocalendar(year, week, 1)
    zone = ZoneInfo(timezone)
    start = datetime.combine(monday, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def members_in(stored: Stored, community: int, start: datetime, end: datetime) -> set[int]:
    """Who was in the community at some moment of [start, end): every sign and leave of each
    person in time order, a leave after a sign of the same moment."""
    marks: dict[int, list[tuple[datetime, int]]] = defaultdict(list)  # 0 a sign, 1 a leave
    for c, person, kind, at, _ in stored.ledger:
        if c == community:
            marks[person].append((at, 1 if kind == LEAVE else 0))
    for c, person, joined, left in stored.memberships:
        if c == community:
            marks[person].append((joined, 0))
            if left is not None:
                marks[person].append((left, 1))
    found = set()
    for person, events in marks.items():
        if person in stored.opted_out:
            continue
        inside = False
        for at, mark in sorted(events):
            if at >= end:
                break
            if at < start:
                inside = mark == 0
            elif mark == 0:
                inside = True
                break
        if inside:
            found.add(person)
    return found


def recount(stored: Stored, community: int, timezone: str, year: int, week: int) -> dict[str, Any]:
    """Every figure of the week, and each day's messages and active members."""
    start, end = bounds(year, week, timezone)
    zone = ZoneInfo(timezone)
    entries = [
        (person, kind, at, ref)
        for c, person, kind, at, ref in stored.ledger
        if c == community and start <= at < end and person not in stored.opted_out
    ]

    def people(*kinds: str) -> set[int]:
        return {person for person, kind, _, _ in entries if kind in kinds}

    def count(kind: str) -> int:
        return sum(1 for _, k, _, _ in entries if k == kind)

    active = people(*DID_SOMETHING)
    newcomers = people("member_joined")
    asked = [
        (a, b)
        for c, person, a, b in stored.questions
        if c == community and start <= a < end and person not in stored.opted_out
    ]
    answered = [(a, b) for a, b in asked if b is not None and b < end]
    waits = [(b - a).total_seconds() / 60 for a, b in answered if b is not None]
    lookups = [(a, b, s) for c, a, b, s in stored.gaps if c == community and start <= a < end]
    closings = [
        (b - a).total_seconds() / 3600
        for c, a, b, s in stored.gaps
        if c == community and s == "closed" and b is not None and start <= b < end
    ]
    next_day = end.astimezone(zone).date()
    days = []
    for n in range(7):
        day = date.fromisocalendar(year, week, 1) + timedelta(days=n)
        on_day = [e for e in entries if e[2].astimezone(zone).date() == day]
        days.append(
            (
                day,
                sum(1 for e in on_day if e[1] == "message_posted"),
                len({e[0] for e in on_day if e[1] in DID_SOMETHING}),
            )
        )
    return {
        "known_members": len(members_in(stored, community, start, end)),
        "active_members": len(active),
        "newcomers": len(newcomers),
        "newcomers_active": len(newcomers & active),
        "messages": count("message_posted"),
        "questions_asked": len(asked),
        "questions_answered": len(answered),
        "questions_unanswered": len(asked) - len(answered),
        "median_answer_minutes": statistics.median(waits) if waits else None,
        "poll_votes": count("poll_vote"),
        "poll_voters": len(people("poll_vote")),
        "polls": len({ref for _, kind, _, ref in entries if kind == "poll_vote"}),
        "webinar_rsvps": count("webinar_rsvp"),
        "webinar_attended": count("webinar_attended"),
        "unanswered_lookups": len(lookups),
        "gaps_closed": len(closings),
        "median_gap_close_hours": statistics.median(closings) if closings else None,
        "lookups_closed": sum(
            1 for _, b, s in lookups if s == "closed" and b is not None and b < end
        ),
        "items_overdue": sum(
            1
            for c, s, review in stored.items
            if c == community and s == "published" and review is not None and review < next_day
        ),
        "days": days,
        "active_people": active,
    }


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def figures_of(found: object) -> dict[str, Any]:
    """A summary's figures as a dict, every field of them."""
    return {f.name: getattr(found, f.name) for f in fields(found)}  # type: ignore[arg-type]


def assert_figures_match(figures: object, expected: dict[str, Any], where: str) -> None:
    """Every figure equals its recount, and every share is of a population that holds its
    part (so none is over 100%)."""
    got = figures_of(figures)
    assert set(got) <= set(expected), f"{where}: figures not recounted: {set(got) - set(expected)}"
    for name, value in got.items():
        want = expected[name]
        if isinstance(want, float):
            assert value == pytest.approx(want), f"{where}: {name} {value} != {want}"
        else:
            assert value == want, f"{where}: {name} {value} != {want}"
    pairs = (
        ("active_members", "known_members"),
        ("poll_voters", "known_members"),
        ("newcomers", "known_members"),
        ("newcomers_active", "newcomers"),
        ("questions_answered", "questions_asked"),
        ("lookups_closed", "unanswered_lookups"),
    )
    for part, whole in pairs:
        assert got[part] <= got[whole], f"{where}: {part} {got[part]} > {whole} {got[whole]}"
    for name, part, whole in (
        ("active_share", "active_members", "known_members"),
        ("voters_share", "poll_voters", "known_members"),
        ("lookups_closed_share", "lookups_closed", "unanswered_lookups"),
    ):
        value = getattr(figures, name)
        assert value == share(expected[part], expected[whole]), f"{where}: {name}"
        assert value is None or 0 <= value <= 1, f"{where}: {name} {value}"
