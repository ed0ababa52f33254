"""Prometheus metrics: what the core reports, and the queues' backlogs read when scraped.

Counters live in the process that counts them. Under `serve --workers N` each worker is a
process of its own, so with `PROMETHEUS_MULTIPROC_DIR` set (before prometheus_client is
imported, which `facilitator serve` does for you) every worker writes its counters to files in
that directory and a scrape of any worker adds them all up. Backlogs (inbox and outbox rows by
status, the age of the oldest) are read from the database at each scrape, so they are right
whichever worker answers.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from facilitator.domain.errors import StorageUnavailable
from facilitator.domain.events import InboundEvent
from facilitator.domain.model import Platform
from facilitator.ports import (
    Backlog,
    DeliveryOutcome,
    InboundOutcome,
    LookupOutcome,
    ReplyOutcome,
    UnitOfWorkFactory,
)

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# Lookups take a few milliseconds (docs/benchmarks.md); the upper buckets catch trouble.
LOOKUP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def event_kind(event: InboundEvent) -> str:
    """`MessageReceived` -> `message_received`."""
    return _CAMEL.sub("_", type(event).__name__).lower()


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


@dataclass(frozen=True)
class Backlogs:
    inbox: Backlog
    outbox: Backlog
    now: datetime


async def read_backlogs(uow_factory: UnitOfWorkFactory, now: datetime) -> Backlogs | None:
    """The queues as the database has them now; None when it cannot be read."""
    try:
        async with uow_factory() as uow:
            return Backlogs(await uow.inbox.backlog(), await uow.outbox.backlog(now), now)
    except StorageUnavailable as error:  # a scrape still reports this process's counters
        log.warning("backlogs not read for metrics: %s", error)
        return None
    except Exception:
        log.warning("backlogs not read for metrics", exc_info=True)
        return None


class PrometheusMetrics:
    """The `Metrics` port for Prometheus; one per process, in a registry of its own."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir()
        self.registry = CollectorRegistry()
        registry = self.registry
        self._inbound = Counter(
            "facilitator_inbound_events",
            "Inbound events handled, by kind and outcome (done, rejected, retry, failed).",
            ["kind", "outcome"],
            registry=registry,
        )
        self._replies = Counter(
            "facilitator_replies",
            "Replies to inbound events, by platform and outcome (sent, failed, rate_limited).",
            ["platform", "outcome"],
            registry=registry,
        )
        self._lookups = Counter(
            "facilitator_knowledge_lookups",
            "Knowledge lookups, by outcome (answered, choices, gap).",
            ["outcome"],
            registry=registry,
        )
        self._lookup_seconds = Histogram(
            "facilitator_knowledge_lookup_seconds",
            "Time to rank the repository for one lookup.",
            buckets=LOOKUP_BUCKETS,
            registry=registry,
        )
        self._deliveries = Counter(
            "facilitator_outbox_deliveries",
            "Outbox send attempts, by platform and outcome "
            "(sent, retry, failed, unreachable, skipped).",
            ["platform", "outcome"],
            registry=registry,
        )
        self._recovered = Counter(
            "facilitator_outbox_recovered",
            "Outbox rows left by a stopped dispatcher: requeued (claimed, not started) or "
            "uncertain (interrupted mid-send, never repeated).",
            ["outcome"],
            registry=registry,
        )
        self._rate_limited = Counter(
            "facilitator_rate_limited",
            "Messages a platform's rate limit (HTTP 429) postponed or dropped, by platform.",
            ["platform"],
            registry=registry,
        )
        self._errors = Counter(
            "facilitator_log_errors",
            "Log records at ERROR or above, by logger.",
            ["logger"],
            registry=registry,
        )

    # -- the Metrics port -----------------------------------------------------------------------

    def inbound(self, events: Sequence[InboundEvent], outcome: InboundOutcome) -> None:
        if not events:
            self._inbound.labels("none", outcome).inc()
        for event in events:
            self._inbound.labels(event_kind(event), outcome).inc()

    def reply(self, platform: Platform, outcome: ReplyOutcome) -> None:
        self._replies.labels(platform.value, outcome).inc()

    def lookup(self, outcome: LookupOutcome, seconds: float) -> None:
        self._lookups.labels(outcome).inc()
        self._lookup_seconds.observe(seconds)

    def delivery(self, platform: Platform, outcome: DeliveryOutcome) -> None:
        self._deliveries.labels(platform.value, outcome).inc()

    def outbox_recovered(self, requeued: int, uncertain: int) -> None:
        if requeued:
            self._recovered.labels("requeued").inc(requeued)
        if uncertain:
            self._recovered.labels("uncertain").inc(uncertain)

    def rate_limited(self, platform: Platform) -> None:
        self._rate_limited.labels(platform.value).inc()

    # -- errors and exposition ------------------------------------------------------------------

    def error_counter(self) -> logging.Handler:
        """A logging handler that counts errors; the runtime adds it to the root logger."""
        return _ErrorCounter(self._errors)

    def exposition(self, backlogs: Backlogs | None) -> bytes:
        """The text format: every worker's counters, and the backlogs just read."""
        counters: Collector = self.registry
        if self.multiprocess is not None:
            path = str(self.multiprocess)
            counters = MultiProcessCollector(None, path=path)  # type: ignore[no-untyped-call]
        return generate_latest(_Scrape(counters, backlogs))


class _ErrorCounter(logging.Handler):
    def __init__(self, counter: Counter) -> None:
        super().__init__(logging.ERROR)
        self._counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        self._counter.labels(record.name).inc()


class _Scrape:
    """One scrape: the counters, then gauges of the backlogs (absent if unreadable)."""

    def __init__(self, counters: Collector, backlogs: Backlogs | None) -> None:
        self._counters = counters
        self._backlogs = backlogs

    def collect(self) -> Iterable[Metric]:
        yield from self._counters.collect()
        up = GaugeMetricFamily(
            "facilitator_database_up", "1 if this scrape could read the queues' backlogs."
        )
        up.add_metric([], 0 if self._backlogs is None else 1)
        yield up
        if self._backlogs is None:
            return
        now = self._backlogs.now
        yield from _queue(
            "inbox",
            "Inbound rows waiting, being processed, waiting for a retry, or given up.",
            "Seconds since the oldest inbound row still to process arrived.",
            self._backlogs.inbox,
            now,
        )
        yield from _queue(
            "outbox",
            "Outbox rows by status: waiting (held, pending, claimed, sending, unreachable) "
            "or needing a moderator's eye (uncertain, failed).",
            "Seconds since the oldest pending outbox row that is due now fell due.",
            self._backlogs.outbox,
            now,
        )


def _queue(
    name: str, rows_help: str, age_help: str, backlog: Backlog, now: datetime
) -> Iterable[Metric]:
    rows = GaugeMetricFamily(f"facilitator_{name}_rows", rows_help, labels=["status"])
    for status, count in sorted(backlog.counts.items()):
        rows.add_metric([status], count)
    yield rows
    age = GaugeMetricFamily(f"facilitator_{name}_oldest_seconds", age_help)
    waited = 0.0 if backlog.oldest is None else (now - backlog.oldest).total_seconds()
    age.add_metric([], max(waited, 0.0))
    yield age
