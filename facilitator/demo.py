"""The demo's clock: `/wait 2d` moves it and runs what the scheduler would have run meanwhile."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from functools import cache

from babel.dates import format_date, get_day_names

from facilitator.domain.outbox import OutboxStatus
from facilitator.i18n import SUPPORTED_LOCALES
from facilitator.localtime import (
    local,
    parse_clock,
    parse_date,
    parse_duration,
    wall_time,
)
from facilitator.ports import Clock, UnitOfWorkFactory
from facilitator.scheduling import CronSource, IntervalJob, fire_times
from facilitator.text import fold

log = logging.getLogger(__name__)

# Longer waits would run the jobs of weeks on end; a month shows every schedule there is.
MAX_WAIT = timedelta(days=31)
# The jobs run about this many times over a wait, never more often than every few minutes and
# never less than four times a day (the weekly summary's slot is twelve hours wide).
TICKS_PER_WAIT = 24
MIN_TICK = timedelta(minutes=5)
MAX_TICK = timedelta(hours=6)
# Rows a session start looks at; the demo community never has nearly as many waiting.
MAX_SKIPPED = 10_000
_SPAN = re.compile(r"([0-9]{1,4}) ?([a-z]+)")
_SPANS = re.compile(r"[0-9]{1,4} ?[a-z]+( [0-9]{1,4} ?[a-z]+)*")
# The units of `/wait`, short or spelled out in en, es or pt (accents folded).
UNIT_WORDS = {
    **dict.fromkeys(("w", "week", "weeks", "semana", "semanas"), "w"),
    **dict.fromkeys(("d", "day", "days", "dia", "dias"), "d"),
    **dict.fromkeys(("h", "hour", "hours", "hora", "horas"), "h"),
    **dict.fromkeys(("m", "min", "minute", "minutes", "minuto", "minutos"), "m"),
}
UNTIL_WORDS = frozenset({"until", "hasta", "ate"})
# "until monday" with no time: the morning, when nudges and summaries go out.
DEFAULT_CLOCK = time(9, 0)


class DemoClock:
    """The system clock moved forward by `offset`; `pin` holds it at one moment while the
    jobs of a wait run."""

    def __init__(self, base: Clock, offset: timedelta = timedelta(0)) -> None:
        self._base = base
        self.offset = offset
        self._pinned: datetime | None = None

    def now(self) -> datetime:
        return self._pinned if self._pinned is not None else self._base.now() + self.offset

    def pin(self, moment: datetime | None) -> None:
        self._pinned = moment

    def move_to(self, moment: datetime) -> None:
        """Go on from `moment`, as the system clock goes on."""
        self._pinned = None
        self.offset = moment - self._base.now()


class BadWait(ValueError):
    """`/wait` words that say no moment after now (or one too far)."""


def wait_target(words: str, now: datetime, timezone: str) -> datetime:
    """The moment `/wait WORDS` means: spans (`2d`, `3h`, `30m`, `1w`, `1d 3h`) after `now`,
    or `until [WEEKDAY|DATE] [HH:MM]` (the next such moment, in `timezone`; a weekday in en, es
    or pt). Raises BadWait for anything else, or a moment not in (now, now + MAX_WAIT]."""
    tokens = fold(words).split()
    if not tokens:
        raise BadWait(words)
    if tokens[0] in UNTIL_WORDS:
        target = _until(tokens[1:], now, timezone)
    else:
        target = now + _spans(" ".join(tokens))
    if not now < target <= now + MAX_WAIT:
        raise BadWait(words)
    return target


def _spans(text: str) -> timedelta:
    """`2d`, `1d 3h`, `2 days`, `3 horas`, `30 minutos`: numbers each with a unit."""
    if _SPANS.fullmatch(text) is None:
        raise BadWait(text)
    total = timedelta(0)
    for number, word in _SPAN.findall(text):
        unit = UNIT_WORDS.get(word)
        span = parse_duration(f"{number}{unit}") if unit else None
        if span is None:
            raise BadWait(text)
        total += span
    return total


def _until(tokens: list[str], now: datetime, timezone: str) -> datetime:
    if not 1 <= len(tokens) <= 2:
        raise BadWait(" ".join(tokens))
    clock = parse_clock(tokens[-1])
    if clock is None and len(tokens) == 2:  # a day and something that is no time of day
        raise BadWait(tokens[-1])
    day_words = tokens[:-1] if clock is not None else tokens
    today = local(now, timezone).date()
    if not day_words:  # `until 09:00`: today's, or tomorrow's if it has passed
        assert clock is not None
        moment = wall_time(today, clock, timezone)
        return moment if moment > now else wall_time(today + timedelta(days=1), clock, timezone)
    day_word = day_words[0]
    chosen = parse_date(day_word)
    if chosen is not None:
        return wall_time(chosen, clock or DEFAULT_CLOCK, timezone)
    weekday = _weekday(day_word)
    if weekday is None:
        raise BadWait(day_word)
    for ahead in range(8):  # the next such day whose moment is still to come
        day = today + timedelta(days=ahead)
        moment = wall_time(day, clock or DEFAULT_CLOCK, timezone)
        if day.weekday() == weekday and moment > now:
            return moment
    raise BadWait(day_word)  # unreachable: one of eight days is that weekday after now


def _weekday(word: str) -> int | None:
    """Monday = 0, from a weekday's name or its start (three letters at least: "mon",
    "lunes", "segunda") in en, es or pt; None when it names no day or several."""
    if len(word) < 3:
        return None
    found = {day for name, day in _weekday_names() if name.startswith(word)}
    return found.pop() if len(found) == 1 else None


@cache
def _weekday_names() -> tuple[tuple[str, int], ...]:
    return tuple(
        (fold(name), day)
        for locale in SUPPORTED_LOCALES
        for day, name in get_day_names("wide", locale=locale).items()
    )


def ticks(start: datetime, until: datetime) -> list[datetime]:
    """The moments in (start, until] at which a wait runs the interval jobs; `until` last."""
    step = min(max((until - start) / TICKS_PER_WAIT, MIN_TICK), MAX_TICK)
    found = []
    moment = start + step
    while moment < until:
        found.append(moment)
        moment += step
    found.append(until)
    return found


@dataclass
class TimeMachine:
    """Moves a DemoClock forward and, at each moment on the way, does what the scheduler of
    `facilitator run` would have done by then: the interval jobs (each at most once a tick,
    and only when its own interval has passed since it last ran), the per-community schedules
    at their exact times, and the outbox's sends that fell due."""

    clock: DemoClock
    jobs: Sequence[IntervalJob]
    schedules: Sequence[CronSource]
    dispatch: Callable[[], Awaitable[int]]
    # Told each moment before its work runs (the console prints it above what is sent).
    at_moment: Callable[[datetime], None] = lambda _: None

    async def advance(self, until: datetime) -> int:
        """Run everything due up to `until`, then go on from there; returns what was sent."""
        start = self.clock.now()
        interval_times = set(ticks(start, until))
        cron_runs: dict[datetime, list[tuple[str, Callable[[datetime], Awaitable[object]]]]] = {}
        for source in self.schedules:
            for scheduled in await source.jobs():
                try:
                    fires = fire_times(scheduled.cron, scheduled.timezone, start, until)
                except ValueError:
                    log.warning(
                        "job with a malformed schedule skipped", extra={"job": scheduled.job_id}
                    )
                    continue
                for fire in fires:
                    cron_runs.setdefault(fire, []).append((scheduled.job_id, scheduled.run))
        last_run = dict.fromkeys((job.job_id for job in self.jobs), start)
        sent = 0
        try:
            for moment in sorted(interval_times | cron_runs.keys()):
                self.clock.pin(moment)
                self.at_moment(moment)
                for job_id, run in cron_runs.get(moment, []):
                    await self._run(job_id, run, moment)
                if moment in interval_times:
                    for job in self.jobs:
                        if (moment - last_run[job.job_id]).total_seconds() >= job.seconds:
                            last_run[job.job_id] = moment
                            await self._run(job.job_id, job.run, moment)
                sent += await self.dispatch()
        finally:
            self.clock.move_to(until)
        return sent

    async def _run(
        self, job_id: str, run: Callable[[datetime], Awaitable[object]], moment: datetime
    ) -> None:
        try:
            await run(moment)
        except Exception:  # as the scheduler does: logged, and the demo goes on
            log.exception("job failed", extra={"job": job_id})


# Where the demo community keeps how far its clock was moved, so the next session goes on from
# there instead of going back in time.
OFFSET_SETTING = "demo_clock_offset_seconds"
Note = tuple[str, dict[str, object]]


def shown(moment: datetime, timezone: str, locale: str) -> str:
    """`Monday, December 14, 2026, 09:00 (America/Santiago)`, in the locale's words."""
    there = local(moment, timezone)
    day = format_date(there.date(), "full", locale=locale)
    return f"{day}, {there:%H:%M} ({timezone})"


@dataclass
class DemoWaits:
    """`/wait WORDS` in the demo chat. Moving time is for the demo alone: refused on a
    database that holds any community but the demo's, so that it can never move the clock of
    a real installation's jobs."""

    machine: TimeMachine
    uow_factory: UnitOfWorkFactory
    community_key: str
    locale: str

    async def restore(self) -> None:
        """Go on from where the last session's `/wait` left the clock."""
        async with self.uow_factory() as uow:
            community = await uow.communities.by_key(self.community_key)
        if community is None:
            return
        seconds = community.setting(OFFSET_SETTING, 0)
        if isinstance(seconds, int | float) and seconds > 0:
            self.machine.clock.offset = timedelta(seconds=seconds)

    async def __call__(self, words: str) -> Note:
        async with self.uow_factory() as uow:
            communities = await uow.communities.all()
        if any(c.key != self.community_key for c in communities):
            log.warning("demo clock not moved: the database holds other communities")
            return "console.wait.refused", {}
        community = next((c for c in communities if c.key == self.community_key), None)
        if community is None:
            return "console.wait.refused", {}
        try:
            target = wait_target(words, self.machine.clock.now(), community.timezone)
        except BadWait:
            return "console.wait.usage", {}
        sent = await self.machine.advance(target)
        async with self.uow_factory() as uow:
            current = await uow.communities.by_key(self.community_key)
            if current is not None:
                offset = round(self.machine.clock.offset.total_seconds())
                await uow.communities.update(
                    replace(current, settings={**current.settings, OFFSET_SETTING: offset})
                )
                await uow.commit()
        log.info("demo clock moved", extra={"until": target.isoformat(), "sent": sent})
        return "console.wait.done", {
            "when": shown(target, community.timezone, self.locale),
            "count": sent,
        }


async def skip_unsent(uow_factory: UnitOfWorkFactory, community_key: str, before: datetime) -> int:
    """Mark skipped the demo community's messages that were due before this session began
    and never went out (the welcomes of a month `seed-activity` played weeks ago, what an
    earlier session left): a session shows only what happens while it runs."""
    async with uow_factory() as uow:
        community = await uow.communities.by_key(community_key)
        if community is None:
            return 0
        waiting = await uow.outbox.listing(community.id, [OutboxStatus.PENDING], MAX_SKIPPED)
        skipped = 0
        for row in waiting:
            if row.due_at <= before:
                skipped += await uow.outbox.transition(
                    row.id, [OutboxStatus.PENDING], OutboxStatus.SKIPPED, before
                )
        await uow.commit()
    if skipped:
        log.info("old demo messages skipped", extra={"count": skipped})
    return skipped
