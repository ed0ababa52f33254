"""Recurring jobs on APScheduler 3, each taking `now` from the injected clock.

APScheduler 3 cannot share a job store between processes, so every process declares the same
jobs from configuration; the jobs themselves claim their work in the database, which makes
their effects happen once however many processes run them.

Jobs are either intervals or crontab lines in a time zone (a community's daily scan at 10:00
in America/Santiago fires at 10:00 there on both sides of a daylight-saving change). Per
community jobs come from a `CronSource`, read again every few minutes, so a community added or
reconfigured in any process gets its jobs everywhere; their ids are stable
(`<prefix><community key>`), so refreshing replaces them instead of adding copies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from facilitator.domain.errors import StorageUnavailable
from facilitator.ports import Clock

log = logging.getLogger(__name__)

JobFunction = Callable[[datetime], Awaitable[object]]
# Well above APScheduler's one-second default: a busy process still runs a late job.
MISFIRE_GRACE_SECONDS = 300
SOURCE_REFRESH_SECONDS = 300


@dataclass(frozen=True)
class IntervalJob:
    job_id: str
    seconds: float
    run: JobFunction
    # Seconds after start-up of the first run (None: one interval after).
    first_after: float | None = None


@dataclass(frozen=True)
class CronJob:
    """`cron` is a crontab line (minute hour day month weekday) read in `timezone`."""

    job_id: str
    cron: str
    timezone: str
    run: JobFunction


@dataclass(frozen=True)
class CronSource:
    """Jobs computed from the database (one per community); `prefix` starts every job id."""

    prefix: str
    jobs: Callable[[], Awaitable[Sequence[CronJob]]]


def cron_trigger(cron: str, timezone: str) -> CronTrigger:
    """Raises ValueError for a malformed line or an unknown zone."""
    try:
        zone = ZoneInfo(timezone)
    except Exception as error:  # ZoneInfoNotFoundError, or a malformed key
        raise ValueError(f"unknown time zone {timezone!r}") from error
    return CronTrigger.from_crontab(cron, timezone=zone)


def fire_times(cron: str, timezone: str, after: datetime, until: datetime) -> list[datetime]:
    """When a cron job fires in (after, until], in UTC: what the scheduler would do, for
    simulations and tests that move a frozen clock instead of waiting."""
    trigger = cron_trigger(cron, timezone)
    found: list[datetime] = []
    previous: datetime | None = None
    moment = after + timedelta(microseconds=1)
    while True:
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None or fire > until:
            return found
        found.append(fire.astimezone(UTC))
        previous, moment = fire, fire + timedelta(microseconds=1)


class Scheduler:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
        )

    def add(self, job: IntervalJob) -> None:
        async def tick() -> None:
            try:
                await job.run(self._clock.now())
            except StorageUnavailable as error:  # an outage: its traceback says nothing
                log.warning("job failed: %s", error, extra={"job": job.job_id})
            except Exception:  # a failing job is logged and tried again at its next run
                log.exception("job failed", extra={"job": job.job_id})

        first = (
            {"next_run_time": datetime.now(UTC) + timedelta(seconds=job.first_after)}
            if job.first_after is not None
            else {}
        )
        self._scheduler.add_job(
            tick,
            IntervalTrigger(seconds=job.seconds),
            id=job.job_id,
            replace_existing=True,
            **first,
        )

    def add_cron(self, job: CronJob) -> None:
        self._scheduler.add_job(
            self._tick(job.job_id, job.run),
            cron_trigger(job.cron, job.timezone),
            id=job.job_id,
            replace_existing=True,
        )

    def replace_group(self, prefix: str, jobs: Sequence[CronJob]) -> None:
        """Make the jobs whose id starts with `prefix` exactly these (added, updated, removed)."""
        wanted = {job.job_id for job in jobs}
        for existing in self._scheduler.get_jobs():
            if existing.id.startswith(prefix) and existing.id not in wanted:
                existing.remove()
        for job in jobs:
            if not job.job_id.startswith(prefix):
                raise ValueError(f"job {job.job_id} outside its group {prefix}")
            try:
                self.add_cron(job)
            except ValueError:
                log.warning("job with a malformed schedule skipped", extra={"job": job.job_id})

    def add_source(self, source: CronSource) -> None:
        """Declare the source's jobs now and refresh them every few minutes."""

        async def refresh(now: datetime) -> None:
            self.replace_group(source.prefix, await source.jobs())

        self._scheduler.add_job(
            self._tick(f"{source.prefix}refresh", refresh),
            IntervalTrigger(seconds=SOURCE_REFRESH_SECONDS),
            id=f"{source.prefix}refresh",
            replace_existing=True,
            next_run_time=datetime.now(UTC),
        )

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    def _tick(self, job_id: str, run: JobFunction) -> Callable[[], Awaitable[None]]:
        async def tick() -> None:
            try:
                await run(self._clock.now())
            except StorageUnavailable as error:  # an outage: its traceback says nothing
                log.warning("job failed: %s", error, extra={"job": job_id})
            except Exception:  # a failing job is logged and tried again at its next run
                log.exception("job failed", extra={"job": job_id})

        return tick

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
