"""The demo chat: where each line goes, the seeded profiles, old messages left unsent, the
demo's clock (`/wait`) and leaving with Ctrl-C. The real process: tests/cli."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from adapters.console.adapter import ConsoleChat, ConsoleMessenger
from facilitator.demo import (
    MAX_WAIT,
    OFFSET_SETTING,
    TICKS_PER_WAIT,
    BadWait,
    DemoClock,
    DemoWaits,
    TimeMachine,
    skip_unsent,
    wait_target,
)
from facilitator.domain.model import Platform
from facilitator.domain.outbox import OutboxEntry, OutboxStatus
from facilitator.features.participation.report_cli import _played
from facilitator.markup import Destination, OutboundMessage, RichText
from facilitator.scheduling import CronJob, CronSource, IntervalJob
from facilitator.seeding import seed_demo_community
from tests.conftest import REPO_ROOT, FrozenClock, Harness, prompt_catalogue
from tests.unit.participation_support import PlayedMonth

SANTIAGO = ZoneInfo("America/Santiago")
# Sunday 6 December 2026, 22:00 in Santiago.
SUNDAY_NIGHT = datetime(2026, 12, 6, 22, 0, tzinfo=SANTIAGO).astimezone(UTC)


def santiago(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SANTIAGO).astimezone(UTC)


# -- what /wait reads -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "after"),
    [
        ("2d", timedelta(days=2)),
        ("3h", timedelta(hours=3)),
        ("30m", timedelta(minutes=30)),
        ("1w", timedelta(weeks=1)),
        ("1d 3h", timedelta(days=1, hours=3)),
        ("2 days", timedelta(days=2)),
        ("1 día 3 horas", timedelta(days=1, hours=3)),
        ("45 minutos", timedelta(minutes=45)),
        ("1 semana", timedelta(weeks=1)),
    ],
)
def test_wait_moves_the_clock_by_spans(words: str, after: timedelta) -> None:
    assert wait_target(words, SUNDAY_NIGHT, "America/Santiago") == SUNDAY_NIGHT + after


@pytest.mark.parametrize(
    ("words", "day", "hour", "minute"),
    [
        ("until monday 09:00", 7, 9, 0),
        ("hasta lunes 9:30", 7, 9, 30),
        ("até segunda 08:00", 7, 8, 0),
        ("until Wed", 9, 9, 0),  # a weekday alone: its morning
        ("until sunday 23:00", 6, 23, 0),  # still to come today
        ("until sunday 21:00", 13, 21, 0),  # passed today: next week's
        ("until 23:30", 6, 23, 30),
        ("until 07:00", 7, 7, 0),  # passed today: tomorrow's
        ("until 2026-12-10 15:00", 10, 15, 0),
    ],
)
def test_wait_until_reads_weekdays_in_every_language_and_times_in_the_community_zone(
    words: str, day: int, hour: int, minute: int
) -> None:
    target = wait_target(words, SUNDAY_NIGHT, "America/Santiago")
    assert target == santiago(day, hour, minute)


@pytest.mark.parametrize(
    "words",
    [
        "",
        "2x",
        "2",
        "d",
        "soon",
        "2d soon",
        "45d",  # beyond the longest wait
        "0m",  # no time at all
        "until",
        "until someday",
        "until mo",  # too short to name one day
        "until 2026-11-01 09:00",  # the past
        "until monday 25:00",
    ],
)
def test_wait_refuses_words_that_name_no_moment_ahead(words: str) -> None:
    with pytest.raises(BadWait):
        wait_target(words, SUNDAY_NIGHT, "America/Santiago")


def test_the_longest_wait_is_allowed() -> None:
    days = MAX_WAIT.days
    assert wait_target(f"{days}d", SUNDAY_NIGHT, "UTC") == SUNDAY_NIGHT + MAX_WAIT


# -- the time machine -------------------------------------------------------------------------


async def test_waiting_runs_each_job_by_its_period_and_each_schedule_at_its_time() -> None:
    base = FrozenClock(SUNDAY_NIGHT)
    clock = DemoClock(base)
    seen: dict[str, list[tuple[datetime, datetime]]] = {"often": [], "daily": [], "cron": []}

    def recorder(name: str) -> Callable[[datetime], Awaitable[None]]:
        async def run(now: datetime) -> None:
            seen[name].append((now, clock.now()))

        return run

    async def cron_jobs() -> list[CronJob]:
        return [CronJob("scan:demo", "0 10 * * *", "America/Santiago", recorder("cron"))]

    dispatched: list[datetime] = []

    async def dispatch() -> int:
        dispatched.append(clock.now())
        return 1

    machine = TimeMachine(
        clock,
        [
            IntervalJob("often", 60, recorder("often")),
            IntervalJob("daily", 86400, recorder("daily")),
        ],
        [CronSource("scan:", cron_jobs)],
        dispatch,
    )
    until = SUNDAY_NIGHT + timedelta(days=2)
    sent = await machine.advance(until)

    # Each job sees the moment it runs for, which is also what the clock says then.
    assert all(now == seen_now for runs in seen.values() for now, seen_now in runs)
    often = [now for now, _ in seen["often"]]
    assert len(often) == TICKS_PER_WAIT and often == sorted(often) and often[-1] == until
    assert [now for now, _ in seen["daily"]] == [SUNDAY_NIGHT + timedelta(days=1), until]
    assert [now for now, _ in seen["cron"]] == [santiago(7, 10), santiago(8, 10)]
    # The outbox is looked at after each moment's work; the clock goes on from the end.
    assert dispatched == sorted(set(often) | {santiago(7, 10), santiago(8, 10)})
    assert sent == len(dispatched)
    assert clock.now() == until
    base.advance(minutes=5)
    assert clock.now() == until + timedelta(minutes=5)


@pytest.mark.expected_errors
async def test_a_failing_job_is_logged_and_the_wait_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = DemoClock(FrozenClock(SUNDAY_NIGHT))
    ran: list[datetime] = []

    async def broken(now: datetime) -> None:
        raise RuntimeError("boom")

    async def fine(now: datetime) -> None:
        ran.append(now)

    async def nothing() -> int:
        return 0

    machine = TimeMachine(
        clock, [IntervalJob("broken", 60, broken), IntervalJob("fine", 60, fine)], [], nothing
    )
    await machine.advance(SUNDAY_NIGHT + timedelta(hours=3))
    assert len(ran) == TICKS_PER_WAIT
    failures = [r for r in caplog.records if r.getMessage() == "job failed"]
    assert len(failures) == TICKS_PER_WAIT and failures[0].job == "broken"
    assert clock.now() == SUNDAY_NIGHT + timedelta(hours=3)


# -- /wait on a database ----------------------------------------------------------------------


def _waits(harness: Harness, clock: DemoClock, sent: list[datetime]) -> DemoWaits:
    async def dispatch() -> int:
        sent.append(clock.now())
        return 0

    machine = TimeMachine(clock, [], [], dispatch)
    return DemoWaits(machine, harness.app.uow_factory, "demo", "en")


async def test_wait_moves_the_demo_clock_and_the_next_session_goes_on_from_there(
    harness: Harness,
) -> None:
    await harness.community()
    clock = DemoClock(harness.clock)
    start = clock.now()
    key, values = await _waits(harness, clock, [])("1d")
    assert key == "console.wait.done"
    assert clock.now() == start + timedelta(days=1)
    assert "(America/Santiago)" in str(values["when"])
    later = DemoClock(harness.clock)  # a new session of the demo
    await _waits(harness, later, []).restore()
    assert later.now() == start + timedelta(days=1)


async def test_wait_refuses_on_a_database_with_any_community_but_the_demos(
    harness: Harness,
) -> None:
    await harness.community()
    async with harness.app.uow_factory() as uow:
        await uow.communities.add(
            key="telegram:-100123",
            platform=Platform.TELEGRAM,
            chat_id="-100123",
            title="A real network",
            timezone="UTC",
            language="en",
            settings={},
            now=harness.clock.now(),
        )
        await uow.commit()
    clock = DemoClock(harness.clock)
    start = clock.now()
    sent: list[datetime] = []
    key, _ = await _waits(harness, clock, sent)("2d")
    assert key == "console.wait.refused"
    assert clock.now() == start and sent == []
    async with harness.app.uow_factory() as uow:
        demo = await uow.communities.by_key("demo")
    assert demo is not None and OFFSET_SETTING not in demo.settings


async def test_wait_with_words_it_cannot_read_says_how_and_moves_nothing(
    harness: Harness,
) -> None:
    await harness.community()
    clock = DemoClock(harness.clock)
    start = clock.now()
    key, _ = await _waits(harness, clock, [])("forever")
    assert key == "console.wait.usage"
    assert clock.now() == start


# -- a session starts with what is new --------------------------------------------------------


async def test_messages_due_before_a_session_are_skipped_and_later_ones_kept(
    harness: Harness,
) -> None:
    demo = await harness.community()
    now = harness.clock.now()
    async with harness.app.uow_factory() as uow:
        other = await uow.communities.add(
            key="other",
            platform=Platform.CONSOLE,
            chat_id="other",
            title="Other",
            timezone="UTC",
            language="en",
            settings={},
            now=now,
        )
        for key, community, due in (
            ("old-welcome", demo.id, now - timedelta(days=20)),
            ("reminder", demo.id, now + timedelta(hours=5)),
            ("elsewhere", other.id, now - timedelta(days=20)),
        ):
            await uow.outbox.add(
                OutboxEntry(
                    dedup_key=key,
                    kind="test",
                    destination=Destination(Platform.CONSOLE, "demo"),
                    message=OutboundMessage(RichText.of(key)),
                    due_at=due,
                    community_id=community,
                ),
                now - timedelta(days=21),
            )
        await uow.commit()
    assert await skip_unsent(harness.app.uow_factory, "demo", now) == 1
    async with harness.app.uow_factory() as uow:
        statuses = {
            key: record.status
            for key in ("old-welcome", "reminder", "elsewhere")
            if (record := await uow.outbox.by_key(key)) is not None
        }
    assert statuses == {
        "old-welcome": OutboxStatus.SKIPPED,
        "reminder": OutboxStatus.PENDING,
        "elsewhere": OutboxStatus.PENDING,
    }


# -- the seeded community ---------------------------------------------------------------------


async def test_the_seeded_members_have_their_profiles_and_time_zones(harness: Harness) -> None:
    spec = yaml.safe_load((REPO_ROOT / "data" / "demo" / "community.yaml").read_text("utf-8"))
    [ana] = [person for person in spec["members"] if person["name"] == "ana"]
    await seed_demo_community(harness.app.uow_factory, REPO_ROOT / "data", harness.clock)

    [profile] = await harness.say("/whois ana", user="carla")
    assert ana["organisation"] in profile and ana["country"] in profile
    assert all(topic in profile for topic in ana["expertise"])
    theme = ana["expertise"][0]
    [experts] = await harness.say(f"/experts {theme}", user="carla")
    knowers = [p["display_name"] for p in spec["members"] if theme in p["expertise"]]
    others = [p["display_name"] for p in spec["members"] if theme not in p["expertise"]]
    assert knowers and all(name in experts for name in knowers[:5])
    assert not any(name in experts for name in others)
    async with harness.app.uow_factory() as uow:
        member = await uow.members.identity(Platform.CONSOLE, "ana")
    assert member is not None and member.timezone == ana["timezone"]


# -- seed-activity after the demo -------------------------------------------------------------


async def test_the_demo_month_counts_as_played_only_when_its_weeks_hold_activity(
    harness: Harness, played: PlayedMonth
) -> None:
    harness.clock.current = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # after the month
    await harness.community()
    await harness.say("hello everyone, a first message in the demo", user="carla")
    async with harness.app.uow_factory() as uow:
        demo = await uow.communities.by_key("demo")
        assert demo is not None and await uow.ledger.count(demo.id) > 0
        assert not await _played(uow, demo.id)
    community = await played.community()
    async with played.app.uow_factory() as uow:
        assert await _played(uow, community.id)


# -- the console ------------------------------------------------------------------------------


async def test_each_line_says_where_it_goes() -> None:
    out = io.StringIO()
    messenger = ConsoleMessenger(out, prompt_catalogue(), "en")
    hello = OutboundMessage(RichText.of("hello"))
    await messenger.send(Destination(Platform.CONSOLE, "demo"), hello)
    await messenger.send(Destination(Platform.CONSOLE, "demo", user_id="ana"), hello)
    await messenger.send(
        Destination(Platform.CONSOLE, "ana", user_id="ana", is_direct=True), hello
    )
    assert out.getvalue().splitlines() == [
        "bot (to the group)> hello",
        "bot (to the group, only ana sees it)> hello",
        "bot (privately to ana)> hello",
    ]


class Keyboard:
    """Standard input at a terminal where nobody types: a read waits until released."""

    def __init__(self) -> None:
        self.released = threading.Event()

    def readline(self) -> str:
        self.released.wait()
        return ""

    def isatty(self) -> bool:
        return False


async def test_ctrl_c_leaves_the_chat_with_a_goodbye() -> None:
    out = io.StringIO()
    catalogue = prompt_catalogue()
    messenger = ConsoleMessenger(out, catalogue, "es")

    async def accept(*_: object) -> bool:
        return True

    async def process() -> int:
        return 0

    async def set_role(*_: object) -> None:
        return None

    chat = ConsoleChat(
        accept, process, set_role, messenger, catalogue, lambda: SUNDAY_NIGHT, locale="es"
    )
    keyboard = Keyboard()
    try:
        session = asyncio.create_task(chat.run(keyboard))
        for _ in range(10):  # let it start waiting for a line that never comes
            await asyncio.sleep(0)
        session.cancel()  # what Ctrl-C does to the demo's task
        with pytest.raises(asyncio.CancelledError):
            await session
    finally:
        keyboard.released.set()
    assert out.getvalue().splitlines() == ["(demostración cerrada: ¡hasta pronto!)"]
