"""`/metrics` of the `serve` app: what happened, counted, and the queues read from the database."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from facilitator.bootstrap import repositories
from facilitator.domain.model import Platform
from facilitator.domain.outbox import OutboxEntry
from facilitator.features.knowledge.domain import ItemType, KnowledgeItem
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.markup import Destination, OutboundMessage, RichText
from facilitator.metrics import PrometheusMetrics
from facilitator.runtime import create_asgi_app
from facilitator.storage import migrate
from facilitator.storage.database import Storage
from tests.adapters.fakes.slack_api import DEFAULT_TOKEN, FakeSlackAPI
from tests.adapters.slack_support import SIGNING_SECRET, signed_headers
from tests.conftest import make_settings

CHANNEL = "C0METRICS"
LIMITED = "C0LIMITED"
TOKEN = "scrape-token-5be1"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, keyed by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def prepare_database(url: str) -> None:
    """A migrated database with an FAQ and rows waiting in both queues."""
    await migrate.upgrade_async(url)
    storage = Storage(url, repositories=repositories())
    now = datetime.now(UTC)
    faq = KnowledgeItem(
        key="password",
        type=ItemType.FAQ,
        title="How do I reset my password?",
        body="Open the settings page and choose 'reset password'.",
        lang="en",
        alternates=("I forgot my password",),
    )
    telegram = Destination(Platform.TELEGRAM, "-100")
    try:
        async with storage.uow_factory() as uow:
            await uow.repo(KnowledgeRepository).upsert(faq, None, now)
            # No Telegram adapter runs here: this row waits, due for an hour.
            await uow.outbox.add(message("late", telegram, now - timedelta(hours=1)), now)
            await uow.outbox.add(
                message("held", Destination(Platform.SLACK, CHANNEL), now, held=True), now
            )
            await uow.outbox.add(message("news", Destination(Platform.SLACK, CHANNEL), now), now)
            await uow.outbox.add(message("busy", Destination(Platform.SLACK, LIMITED), now), now)
            # An inbound event that failed two hours ago and waits for its retry.
            arrived = now - timedelta(hours=2)
            await uow.inbox.add(Platform.TELEGRAM, "tg:1", "-100", "{}", arrived)
            [row] = await uow.inbox.claim(arrived, 60, 1)
            await uow.inbox.mark_failed(row.id, "boom", now + timedelta(hours=1))
            await uow.commit()
    finally:
        await storage.dispose()


def message(key: str, to: Destination, due: datetime, *, held: bool = False) -> OutboxEntry:
    body = OutboundMessage(RichText.of(f"outbox message {key}"))
    return OutboxEntry(
        dedup_key=key, kind="test", destination=to, message=body, due_at=due, held=held
    )


@pytest.fixture
async def client(fake_slack: FakeSlackAPI, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}"
    await prepare_database(url)
    settings = make_settings(
        url,
        slack_bot_token=DEFAULT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_base_url=fake_slack.base_url,
        metrics_token=TOKEN,
    )
    asgi = create_asgi_app(settings)
    transport = httpx.ASGITransport(app=asgi)
    async with (
        asgi.router.lifespan_context(asgi),
        httpx.AsyncClient(transport=transport, base_url="http://bot") as http,
    ):
        yield http


async def post_event(
    http: httpx.AsyncClient, event_id: str, event: dict[str, object], retry: int = 0
) -> None:
    body = json.dumps({"type": "event_callback", "event_id": event_id, "event": event})
    headers = signed_headers(body, "application/json")
    if retry:
        headers["x-slack-retry-num"] = str(retry)
    response = await http.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 200


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def scrape_until(
    http: httpx.AsyncClient, name: str, expected: float, **labels: str
) -> Samples:
    async with asyncio.timeout(30):
        while True:
            samples = await scrape(http)
            if value(samples, name, **labels) >= expected:
                return samples
            await asyncio.sleep(0.05)


async def test_metrics_count_what_happened_and_read_the_backlogs(
    client: httpx.AsyncClient, fake_slack: FakeSlackAPI
) -> None:
    bot = fake_slack.bot_user_id
    fake_slack.set_channel(CHANNEL, name="metrics", members=[bot])
    fake_slack.set_channel(LIMITED, name="busy", members=[bot])
    fake_slack.set_user("U0CARLA", name="carla")
    # Longer than the adapter waits out by itself: the send is postponed.
    fake_slack.fail_next("chat.postMessage", retry_after=120, channel=LIMITED)

    await post_event(
        client,
        "Ev01",
        {"type": "member_joined_channel", "user": bot, "channel": CHANNEL, "inviter": "U0CARLA"},
    )
    question = {
        "type": "message",
        "channel": CHANNEL,
        "channel_type": "channel",
        "user": "U0CARLA",
        "text": f"<@{bot}> how do I reset my password?",
        "ts": "1767000000.000001",
    }
    await post_event(client, "Ev02", question)
    await post_event(client, "Ev02", question, retry=1)  # Slack's retry: counted once
    await post_event(
        client,
        "Ev03",
        {**question, "text": f"<@{bot}> zorblax quintessa vlorp?", "ts": "1767000000.000002"},
    )
    await post_event(client, "Ev04", {"type": "message", "user": "U0CARLA"})  # no channel
    samples = await scrape_until(
        client, "facilitator_inbound_events_total", 2, kind="message_received", outcome="done"
    )
    samples = await scrape_until(
        client, "facilitator_outbox_deliveries_total", 1, platform="slack", outcome="retry"
    )
    samples = await scrape_until(
        client, "facilitator_outbox_deliveries_total", 1, platform="slack", outcome="sent"
    )
    # The welcome, the answer and the admission (replies are sent after the commit).
    samples = await scrape_until(
        client, "facilitator_replies_total", 3, platform="slack", outcome="sent"
    )

    inbound = "facilitator_inbound_events_total"
    assert value(samples, inbound, kind="bot_added", outcome="done") == 1
    assert value(samples, inbound, kind="message_received", outcome="done") == 2
    assert value(samples, inbound, kind="none", outcome="rejected") == 1
    lookups = "facilitator_knowledge_lookups_total"
    assert value(samples, lookups, outcome="answered") == 1
    assert value(samples, lookups, outcome="gap") == 1
    assert value(samples, lookups, outcome="choices") == 0
    assert value(samples, "facilitator_knowledge_lookup_seconds_count") == 2
    assert value(samples, "facilitator_knowledge_lookup_seconds_bucket", le="+Inf") == 2

    posted = [c for c in fake_slack.calls_to("chat.postMessage") if c.error is None]
    replies = [c for c in posted if not str(c.params.get("text")).startswith("outbox message")]
    assert value(samples, "facilitator_replies_total", platform="slack", outcome="sent") == len(
        replies
    )
    assert value(samples, "facilitator_rate_limited_total", platform="slack") == 1

    # The backlogs, read from the database at the scrape.
    assert value(samples, "facilitator_database_up") == 1
    assert value(samples, "facilitator_outbox_rows", status="held") == 1
    # The Telegram row, and the postponed one (pending again, due in two minutes).
    assert value(samples, "facilitator_outbox_rows", status="pending") == 2
    assert value(samples, "facilitator_outbox_rows", status="failed") == 0
    assert 3600 <= value(samples, "facilitator_outbox_oldest_seconds") < 3600 + 120
    assert value(samples, "facilitator_inbox_rows", status="retry") == 1
    assert value(samples, "facilitator_inbox_rows", status="pending") == 0
    assert 7200 <= value(samples, "facilitator_inbox_oldest_seconds") < 7200 + 120


async def test_metrics_need_the_configured_token(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/metrics")
    wrong = await client.get("/metrics", headers={"authorization": "Bearer nope"})
    right = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert anonymous.status_code == wrong.status_code == 401
    assert TOKEN not in anonymous.text
    assert right.status_code == 200 and "facilitator_database_up 1.0" in right.text


@pytest.mark.expected_errors
def test_errors_logged_anywhere_are_counted_by_logger() -> None:
    metrics = PrometheusMetrics()
    counter = metrics.error_counter()
    logger = logging.getLogger("facilitator.metrics_test")
    logger.addHandler(counter)
    try:
        logger.warning("a warning is not an error")
        logger.error("an error")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("a failure")
    finally:
        logger.removeHandler(counter)
    samples = parse(metrics.exposition(None).decode())
    assert value(samples, "facilitator_log_errors_total", logger="facilitator.metrics_test") == 2
    assert value(samples, "facilitator_database_up") == 0
    assert not any(name.startswith("facilitator_inbox_rows") for name, _ in samples)
