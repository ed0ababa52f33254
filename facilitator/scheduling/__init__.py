"""Recurring jobs on APScheduler 3, each taking `now` from the injected clock.

APScheduler 3 cannot share a job store between processes, so every process declares the same
jobs from configuration; the jobs themselves claim their work in the database, which makes
their effects happen once however many processes run them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from facilitator.ports import Clock

log = logging.getLogger(__name__)

JobFunction = Callable[[datetime], Awaitable[object]]
# Well above APScheduler's one-second default: a busy process still runs a late job.
MISFIRE_GRACE_SECONDS = 300


@dataclass(frozen=True)
class IntervalJob:
    job_id: str
    seconds: float
    run: JobFunction


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
            except Exception:  # a failing job is logged and tried again at its next run
                log.exception("job failed", extra={"job": job.job_id})

        self._scheduler.add_job(
            tick,
            IntervalTrigger(seconds=job.seconds),
            id=job.job_id,
            replace_existing=True,
        )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
