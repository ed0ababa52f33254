"""Fair under a flood and a flood wait: what one member or one chat does never stalls the rest.

`facilitator serve` as it runs (uvicorn, its lifespan: the inbox worker, the dispatcher, the
real flood limiter), Telegram's webhook and Slack's events over real HTTP, the fake Bot API
and Web API answering. Order is asserted, not time: time only bounds a hang."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from facilitator.runtime import create_asgi_app
from tests.adapters.fakes.slack_api import DEFAULT_TOKEN as SLACK_TOKEN
from tests.adapters.fakes.slack_api import FakeSlackAPI
from tests.adapters.fakes.telegram_api import (
    DEFAULT_TOKEN as TELEGRAM_TOKEN,
)
from tests.adapters.fakes.telegram_api import (
    FakeTelegramAPI,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.slack_support import SIGNING_SECRET, signed_headers
from tests.adapters.telegram_support import WEBHOOK_SECRET, post_update, query, wait_until
from tests.adapters.test_database_outage import serving
from tests.conftest import make_settings
from tests.log_scan import LogScan

FLOODED = supergroup_chat(-1009000001, "Flooded group")
QUIET = supergroup_chat(-1009000002, "Quiet group")
FLOODER = user(9001, "Flo")
IN_PRIVATE = [user(9101 + n, f"Private {n}") for n in range(3)]
IN_QUIET = [user(9201 + n, f"Quiet {n}") for n in range(3)]
SLACK_CHANNEL = "C0FAIRNESS"


@contextlib.asynccontextmanager
async def serve(
    tmp_path: Path, telegram: FakeTelegramAPI, slack: FakeSlackAPI, **settings: object
) -> AsyncIterator[httpx.AsyncClient]:
    configured = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'fair.db'}",
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_webhook_secret=WEBHOOK_SECRET,
        telegram_api_base_url=telegram.base_url,
        telegram_publish_commands_on_start=False,
        slack_bot_token=SLACK_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_base_url=slack.base_url,
        **settings,
    )
    async with serving(create_asgi_app(configured)) as client:
        yield client


class Updates:
    """Numbered updates sent now (the budget counts by the platform's timestamps)."""

    def __init__(self) -> None:
        self.next_id = 1

    def help(self, sender: dict[str, Any], chat: dict[str, Any]) -> str:
        update_id, self.next_id = self.next_id, self.next_id + 1
        update = text_update(
            "/help",
            from_user=sender,
            chat=chat,
            message_id=update_id,
            update_id=update_id,
            date=int(time.time()),
        )
        return json.dumps(update)


def done(database: Path) -> int:
    rows = query(database, "select count(*) from inbox where status = 'done'")
    return int(rows[0][0]) if rows else 0


def answered(api: FakeTelegramAPI, chat_id: int) -> int:
    return sum(1 for c in api.calls_to("sendMessage") if c.ok and c.params["chat_id"] == chat_id)


def answers_to(api: FakeTelegramAPI, chat_id: int) -> list[str]:
    return [
        str(c.result["text"])
        for c in api.calls_to("sendMessage")
        if c.ok and c.params["chat_id"] == chat_id
    ]


async def post_mention(client: httpx.AsyncClient, bot: str, event_id: str) -> None:
    event = {
        "type": "app_mention",
        "channel": SLACK_CHANNEL,
        "user": "U0SLACKER",
        "text": f"<@{bot}> how do other communities measure engagement?",
        "ts": f"1767000000.{event_id[-6:]}",
    }
    body = json.dumps({"type": "event_callback", "event_id": event_id, "event": event})
    response = await client.post(
        "/slack/events", content=body, headers=signed_headers(body, "application/json")
    )
    assert response.status_code == 200


def slack_answers(api: FakeSlackAPI) -> int:
    return sum(
        1
        for c in api.calls_to("chat.postMessage")
        if c.error is None and c.params.get("channel") == SLACK_CHANNEL
    )


async def test_one_member_flooding_a_group_does_not_hold_back_anyone_else(
    tmp_path: Path, fake_telegram: FakeTelegramAPI, fake_slack: FakeSlackAPI
) -> None:
    """1,000 /help from one member in one group; six others, three in private and three in
    another group, are each answered before the flood's tenth reply. The flooding member
    gets ten answers and one notice; every event is stored and done."""
    updates = Updates()
    async with serve(tmp_path, fake_telegram, fake_slack, member_budget_per_minute=10) as client:
        gate = asyncio.Semaphore(16)
        posted: list[str] = []

        async def post(body: str, gate: asyncio.Semaphore = gate) -> None:
            async with gate:
                reply = await post_update(client, "/telegram/webhook", body)
                assert reply.status_code == 200
                posted.append(body)

        flood = [updates.help(FLOODER, FLOODED) for _ in range(1000)]
        others = [updates.help(p, private_chat(p)) for p in IN_PRIVATE]
        others += [updates.help(p, QUIET) for p in IN_QUIET]
        # The six write while the flood is arriving: after its first hundred updates.
        flooding = asyncio.gather(*(post(body) for body in flood))
        await wait_until(lambda: len(posted) >= 100, 60, "the flood to begin")
        await asyncio.gather(*(post(body, asyncio.Semaphore(1)) for body in others))
        await flooding

        def everyone_answered() -> bool:
            return all(answered(fake_telegram, p["id"]) >= 1 for p in IN_PRIVATE) and answered(
                fake_telegram, QUIET["id"]
            ) >= len(IN_QUIET)

        await wait_until(everyone_answered, 60, "the six others to be answered")
        database = tmp_path / "fair.db"
        await wait_until(lambda: done(database) == 1006, 120, "every update to be done")
        await wait_until(
            lambda: answered(fake_telegram, FLOODED["id"]) >= 11, 60, "the flood's replies"
        )
        ready = (await client.get("/readyz")).json()

    sends = [c.params["chat_id"] for c in fake_telegram.calls_to("sendMessage") if c.ok]
    tenth_flood_reply = [n for n, chat in enumerate(sends) if chat == FLOODED["id"]][9]
    for person in IN_PRIVATE:
        assert sends.index(person["id"]) < tenth_flood_reply
    quiet = [n for n, chat in enumerate(sends) if chat == QUIET["id"]]
    assert len(quiet) == len(IN_QUIET) and max(quiet) < tenth_flood_reply
    # Ten answers and one notice (quoting the member: Telegram has no private replies in a
    # group); the 989 others were stored and done without a reply.
    assert ready["replies_waiting"] == 0
    flood_replies = answers_to(fake_telegram, FLOODED["id"])
    assert len(flood_replies) == 11
    assert all("What you can do here" in text for text in flood_replies[:10])
    assert "at most 10 a minute" in flood_replies[10]
    statuses = query(database, "select status, count(*) from inbox group by status")
    assert statuses == [("done", 1006)]


async def test_a_long_flood_wait_in_one_chat_stops_nothing_else(
    tmp_path: Path, fake_telegram: FakeTelegramAPI, fake_slack: FakeSlackAPI, log_scan: LogScan
) -> None:
    """Telegram answers 429 with retry_after 123456 in one group: that chat is held (no second
    call to Telegram, the reply dropped with a log line), while a private chat and Slack are
    answered; /readyz stays 200 and shows the flood wait."""
    bot = fake_slack.bot_user_id
    fake_slack.set_channel(SLACK_CHANNEL, name="fair", members=[bot])
    fake_slack.set_user("U0SLACKER", name="slacker")
    fake_telegram.fail_next(
        "sendMessage", 429, retry_after=123456, times=None, chat_id=FLOODED["id"]
    )
    updates = Updates()
    async with serve(tmp_path, fake_telegram, fake_slack) as client:
        held = FLOODED
        await post_update(client, "/telegram/webhook", updates.help(FLOODER, held))
        await wait_until(
            lambda: len(fake_telegram.calls_to("sendMessage")) >= 1, 30, "the 429 answer"
        )
        # Again in the held chat, then elsewhere on both platforms.
        await post_update(client, "/telegram/webhook", updates.help(FLOODER, held))
        person = IN_PRIVATE[0]
        await post_update(client, "/telegram/webhook", updates.help(person, private_chat(person)))
        await post_mention(client, bot, "Ev0000001")

        await wait_until(
            lambda: answered(fake_telegram, person["id"]) == 1 and slack_answers(fake_slack) >= 1,
            30,
            "the private chat and Slack to be answered",
        )
        database = tmp_path / "fair.db"
        await wait_until(
            lambda: done(database) == 4,
            30,
            "every event to be done",
        )
        ready = await client.get("/readyz")

    to_held = [
        c for c in fake_telegram.calls_to("sendMessage") if c.params["chat_id"] == held["id"]
    ]
    assert len(to_held) == 1 and not to_held[0].ok  # asked once; the second reply never tried
    assert ready.status_code == 200
    waits = ready.json()["flood_waits"]["telegram"]
    assert waits["conversations"] == 1 and waits["longest_seconds"] > 100_000
    dropped = [s for s in log_scan.seen if "reply not delivered" in s.text]
    assert len(dropped) == 2


@pytest.mark.parametrize("retry_after", [3])
async def test_a_short_flood_wait_is_waited_out_by_its_chat_alone(
    tmp_path: Path, fake_telegram: FakeTelegramAPI, fake_slack: FakeSlackAPI, retry_after: int
) -> None:
    """A wait short enough to sleep in line: the held chat's reply is sent after it, and a
    private chat and Slack, asked later, are answered before that retry."""
    bot = fake_slack.bot_user_id
    fake_slack.set_channel(SLACK_CHANNEL, name="fair", members=[bot])
    fake_slack.set_user("U0SLACKER", name="slacker")
    fake_telegram.fail_next("sendMessage", 429, retry_after=retry_after, chat_id=FLOODED["id"])
    updates = Updates()
    async with serve(tmp_path, fake_telegram, fake_slack) as client:
        await post_update(client, "/telegram/webhook", updates.help(FLOODER, FLOODED))
        await wait_until(
            lambda: len(fake_telegram.calls_to("sendMessage")) >= 1, 30, "the 429 answer"
        )
        person = IN_PRIVATE[0]
        await post_update(client, "/telegram/webhook", updates.help(person, private_chat(person)))
        await post_mention(client, bot, "Ev0000002")
        await wait_until(
            lambda: answered(fake_telegram, person["id"]) == 1 and slack_answers(fake_slack) >= 1,
            30,
            "the private chat and Slack to be answered",
        )
        retried_before_the_others = answered(fake_telegram, FLOODED["id"])
        await wait_until(
            lambda: answered(fake_telegram, FLOODED["id"]) == 1, 30, "the held chat's retry"
        )

    assert retried_before_the_others == 0
