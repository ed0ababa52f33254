"""Random activity histories: every figure of the weekly and the network summary equals its
recount from the stored rows (tests/unit/figures_recount.py), and no share is over 100%.

A history is played through the real core in two communities of different time zones:
messages, questions and answers, reactions, poll votes, joins, leaves and returns, webinar
sign-ups and attendance and unanswered lookups (written as those features write them), some
members opting out, and some whose membership the bot stored "today", after the activity it
then learns of (the demo seeded before `seed-activity`, a bot added to a group late).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facilitator.domain.events import (
    CommandInvoked,
    InboundEvent,
    MemberJoined,
    MemberLeft,
    MessageReceived,
    Origin,
    PollVoteCast,
    ReactionChanged,
    ReplyTarget,
)
from facilitator.domain.model import (
    Community,
    LedgerEntry,
    ParticipationKind,
    Platform,
    PlatformUser,
)
from facilitator.features.knowledge.domain import GapStatus, KnowledgeGap
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.participation.service import Participation
from facilitator.features.participation.summary import IsoWeek, network_summary, weekly_summary
from facilitator.storage.engine import create_engine
from tests.conftest import FrozenClock, Harness, harness_on, sqlite_with_tables
from tests.unit.figures_recount import (
    assert_figures_match,
    read_stored,
    recount,
)

# Four weeks of history, from Monday 2026-10-26 (UTC).
HISTORY_START = datetime(2026, 10, 26, 3, 0, tzinfo=UTC)
HISTORY_MINUTES = 28 * 24 * 60
TODAY = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
# Each summary also holds the week before: W45 to W47 are all checked.
WEEKS = (IsoWeek(2026, 46), IsoWeek(2026, 47))
PEOPLE = ("ana", "beto", "cira", "dani", "eva", "fede")
ZONES = {"a": "America/Santiago", "b": "Asia/Tokyo"}
ACTIONS = (
    "message",
    "question",
    "answer",
    "react",
    "vote",
    "join",
    "leave",
    "rsvp",
    "attend",
    "gap",
    "close",
    "optout",
)

step = st.tuples(
    st.integers(0, HISTORY_MINUTES - 1),
    st.sampled_from(sorted(ZONES)),
    st.sampled_from(PEOPLE),
    st.sampled_from(ACTIONS),
)
HISTORIES = st.tuples(
    st.lists(step, min_size=1, max_size=35),
    # Memberships the bot stores before playing, without an event: "today" (None: after the
    # activity it then learns of) or at a minute of the history (seeded, set by a role).
    st.dictionaries(
        st.tuples(st.sampled_from(sorted(ZONES)), st.sampled_from(PEOPLE)),
        st.none() | st.integers(0, HISTORY_MINUTES - 1),
        max_size=6,
    ),
)


@dataclass
class Player:
    """Plays one history in communities of its own (an example's people are its own too)."""

    harness: Harness
    example: int
    communities: dict[str, Community]
    seq: itertools.count[int]

    def user(self, who: str) -> PlatformUser:
        return PlatformUser(Platform.CONSOLE, f"{self.example}-{who}", who.title(), "en")

    def origin(self, chat: str, who: str, at: datetime) -> Origin:
        n = next(self.seq)
        return Origin(
            platform=Platform.CONSOLE,
            event_id=f"h{self.example}:{n}",
            chat_id=self.communities[chat].chat_id,
            user=self.user(who),
            occurred_at=at,
            chat_title=chat,
            message_id=f"h{self.example}:{n}",
        )


async def _communities(harness: Harness, example: int) -> dict[str, Community]:
    found = {}
    async with harness.app.uow_factory() as uow:
        for name, zone in ZONES.items():
            found[name] = await uow.communities.add(
                key=f"h{example}{name}",
                platform=Platform.CONSOLE,
                chat_id=f"h{example}{name}",
                title=f"History {example} {name}",
                timezone=zone,
                language="en",
                settings={},
                now=HISTORY_START,
            )
        await uow.commit()
    return found


async def play(
    harness: Harness,
    example: int,
    steps: list[tuple[int, str, str, str]],
    stored: dict[tuple[str, str], int | None],
) -> dict[str, Community]:
    player = Player(harness, example, await _communities(harness, example), itertools.count())
    harness.clock.current = TODAY
    async with harness.app.uow_factory() as uow:
        for (chat, who), minute in sorted(stored.items()):
            at = TODAY if minute is None else HISTORY_START + timedelta(minutes=minute)
            member = await uow.members.ensure(player.user(who), at)
            await uow.members.join(member.person_id, player.communities[chat].id, at)
        await uow.commit()
    questions: dict[str, list[tuple[str, str]]] = {chat: [] for chat in ZONES}
    posted: dict[str, list[tuple[str, str]]] = {chat: [] for chat in ZONES}
    for minute, chat, who, action in sorted(steps):
        at = HISTORY_START + timedelta(minutes=minute)
        harness.clock.current = at
        origin = player.origin(chat, who, at)
        event: InboundEvent | None = None
        if action == "message":
            event = MessageReceived(origin, "Notes from our last field visit.")
            posted[chat].append((origin.event_id, who))
        elif action == "question":
            event = MessageReceived(origin, "How do you measure the impact of a programme?")
            questions[chat].append((origin.event_id, who))
            posted[chat].append((origin.event_id, who))
        elif action == "answer":
            others = [q for q in questions[chat] if q[1] != who]
            target = (
                ReplyTarget(others[-1][0], player.user(others[-1][1]).user_id) if others else None
            )
            event = MessageReceived(origin, "We count answers and resources each week.", target)
            posted[chat].append((origin.event_id, who))
        elif action == "react" and posted[chat]:
            message, author = posted[chat][-1]
            event = ReactionChanged(origin, "👍", message, player.user(author).user_id, True)
        elif action == "vote":
            event = PollVoteCast(origin, f"h{example}-poll-{minute % 2}", (0,))
        elif action == "join":
            event = MemberJoined(origin, player.user(who))
        elif action == "leave":
            event = MemberLeft(origin, player.user(who))
        elif action == "optout":
            event = CommandInvoked(origin, "optout", "tracking")
        if event is not None:
            await harness.dispatch(event)
            continue
        await _feature_step(player, chat, who, action, at)
    harness.clock.current = TODAY
    return player.communities


async def _feature_step(player: Player, chat: str, who: str, action: str, at: datetime) -> None:
    """What the webinar and knowledge features write themselves."""
    community = player.communities[chat]
    async with player.harness.app.uow_factory() as uow:
        member = await uow.members.ensure(player.user(who), at)
        knowledge = uow.repo(KnowledgeRepository)
        if action in ("rsvp", "attend"):
            kind = (
                ParticipationKind.WEBINAR_RSVP
                if action == "rsvp"
                else ParticipationKind.WEBINAR_ATTENDED
            )
            await uow.ledger.record(
                LedgerEntry(
                    community_id=community.id,
                    person_id=member.person_id,
                    identity_id=member.identity_id,
                    kind=kind,
                    occurred_at=at,
                    source_event_id=f"webinar:{at.isoformat()}:{kind.value}:{member.person_id}",
                )
            )
        elif action == "gap":
            await knowledge.add_gap(
                KnowledgeGap(community.id, "impact indicators", "en", at, member.person_id)
            )
        elif action == "close":
            gaps = await knowledge.open_gaps(community.id)
            if gaps and gaps[0].id is not None:
                await knowledge.settle_gaps([gaps[0].id], GapStatus.CLOSED, at)
        await uow.commit()


async def check(harness: Harness, communities: dict[str, Community], url: str) -> None:
    service = harness.app.services.feature(Participation)
    assert isinstance(service, Participation)
    engine = create_engine(url)
    try:
        stored = await read_stored(engine)
    finally:
        await engine.dispose()
    async with harness.app.uow_factory() as uow:
        for week in WEEKS:
            for name, community in communities.items():
                summary = await weekly_summary(uow, community, week, service.config_for(community))
                expected = recount(stored, community.id, community.timezone, week.year, week.week)
                where = f"{name} {week}"
                assert_figures_match(summary.figures, expected, where)
                before = week.previous()
                assert_figures_match(
                    summary.previous,
                    recount(stored, community.id, community.timezone, before.year, before.week),
                    f"{where} (the week before)",
                )
                days = [(d.day, d.messages, d.active) for d in summary.days]
                assert days == expected["days"], where
            network = await network_summary(uow, list(communities.values()), week)
            recounted = {
                line.community.id: recount(
                    stored, line.community.id, line.community.timezone, week.year, week.week
                )
                for line in network.lines
            }
            for line in network.lines:
                assert_figures_match(line.figures, recounted[line.community.id], f"network {week}")
            sets = [found["active_people"] for found in recounted.values()]
            several = {p for p in set().union(*sets) if sum(p in s for s in sets) > 1}
            assert network.in_several == len(several), f"network {week}"
            assert network.in_several <= min(
                network.totals.active_members, *(len(s) for s in sets)
            )
            for name in ("known_members", "active_members", "poll_voters", "messages"):
                total = sum(found[name] for found in recounted.values())
                assert getattr(network.totals, name) == total, f"network {week}: {name}"
            share = network.totals.active_share
            assert share is None or share <= 1


@dataclass
class Session:
    loop: asyncio.AbstractEventLoop
    harness: Harness
    url: str


@contextlib.contextmanager
def _session(tmp_path: Path) -> Iterator[Session]:
    loop = asyncio.new_event_loop()
    url = sqlite_with_tables(tmp_path / "histories.db")
    manager = harness_on(url, FrozenClock(TODAY))
    harness = loop.run_until_complete(manager.__aenter__())
    try:
        yield Session(loop, harness, url)
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()


def test_every_summary_figure_equals_its_recount_from_the_stored_rows(tmp_path: Path) -> None:
    examples = itertools.count()
    with _session(tmp_path) as session:

        @settings(
            max_examples=40,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(HISTORIES)
        def run(
            history: tuple[list[tuple[int, str, str, str]], dict[tuple[str, str], int | None]],
        ) -> None:
            steps, stored = history
            n = next(examples)

            async def one() -> None:
                communities = await play(session.harness, n, steps, stored)
                await check(session.harness, communities, session.url)

            session.loop.run_until_complete(one())

        run()
