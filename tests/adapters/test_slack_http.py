"""The Slack HTTP route: signed requests stored once before the acknowledgement, others refused."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text

from adapters.slack.adapter import SlackStartError
from facilitator.domain.model import Platform
from tests.adapters.fakes.slack_api import FakeSlackAPI, dm_channel_id
from tests.adapters.slack_support import (
    CHANNEL,
    SlackHarness,
    slack_harness,
    slack_payload,
    texts,
)
from tests.conftest import FrozenClock

INBOUND_PAYLOADS = [
    "slack_bolt_event_app_mention.json",
    "slack_bolt_event_member_joined_channel.json",
    "slack_bolt_event_message_channel_blocks.json",
    "slack_bolt_event_message_channel_counter_text.json",
    "slack_bolt_event_message_channel_ticket_ids.json",
    "slack_bolt_event_reaction_added.json",
    "slack_bolt_event_url_verification.json",
    "slack_bolt_interactive_block_actions.json",
    "slack_bolt_interactive_view_submission.json",
    "slack_bolt_slash_command_form.json",
]


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        yield harness


def _wire(name: str) -> tuple[str, str]:
    """The body as Slack puts it on the wire, and its content type."""
    data = json.loads(slack_payload(name))
    if name.startswith("slack_bolt_slash_command"):
        return data["raw_body"], data["content_type"]
    if name.startswith("slack_bolt_interactive"):
        from urllib.parse import urlencode

        return urlencode({"payload": json.dumps(data)}), "application/x-www-form-urlencoded"
    return json.dumps(data), "application/json"


def test_every_inbound_payload_file_is_covered() -> None:
    from tests.adapters.fakes import payloads_dir

    files = sorted(p.name for p in (payloads_dir() / "slack").glob("slack_bolt_*.json"))
    inbound = [f for f in files if "mockapi" not in f]
    assert sorted(INBOUND_PAYLOADS) == inbound


@pytest.mark.parametrize("name", INBOUND_PAYLOADS)
async def test_each_recorded_payload_is_acknowledged_stored_and_handled_cleanly(
    slack: SlackHarness, name: str
) -> None:
    body, content_type = _wire(name)

    response = await slack.post(body, content_type)
    await slack.process()

    assert response.status_code == 200
    counts = await slack.inbox()
    if name.endswith("url_verification.json"):
        assert response.json() == {"challenge": json.loads(body)["challenge"]}
        assert counts == {}
        return
    assert response.content == b""
    assert counts == {"done": 1}, counts
    assert not [c for c in slack.api.calls if c.status >= 500]


async def test_recorded_payloads_reach_the_core_as_expected(slack: SlackHarness) -> None:
    for name in INBOUND_PAYLOADS:
        body, content_type = _wire(name)
        assert (await slack.post(body, content_type)).status_code == 200
    await slack.process()

    # The slash command /hello-world is not one of ours: answered privately, in the channel.
    unknown = [c for c in slack.ephemerals("W111") if "hello-world" in str(c.params["text"])]
    assert unknown and unknown[0].params["channel"] == "C111"
    # The button "a" and the modal "view-id" mean nothing to the core: "stale button".
    stale = [t for t in texts(slack.ephemerals("W111")) if "no longer does anything" in t]
    assert len(stale) == 1
    dm = [c for c in slack.posted() if "no longer does anything" in str(c.params["text"])]
    assert dm and dm[0].params["channel"] == dm_channel_id("W111")  # no channel: a DM
    # Stored once each: the three channel messages share one ts (one message), and the
    # recorded member_joined_channel and reaction_added envelopes share the event_id "Ev111"
    # (Slack's ids are unique, these fixtures reuse one), so the second counts as a retry.
    counts = await slack.inbox()
    assert counts == {"done": 6}, counts


async def test_url_verification_answers_the_challenge_only_when_signed(
    slack: SlackHarness,
) -> None:
    body = slack_payload("slack_bolt_event_url_verification.json")

    good = await slack.post(body, "application/json")
    bad = await slack.post(body, "application/json", secret="wrong-secret")

    assert good.status_code == 200
    assert good.json()["challenge"] == json.loads(body)["challenge"]
    assert bad.status_code == 401
    assert "challenge" not in bad.text


async def test_a_bad_signature_is_refused_with_401_and_nothing_is_stored(
    slack: SlackHarness,
) -> None:
    body = slack_payload("slack_bolt_event_app_mention.json")

    response = await slack.post(body, "application/json", secret="not-the-secret")
    await slack.process()

    assert response.status_code == 401
    assert await slack.inbox() == {}
    assert [c.method for c in slack.api.calls] == ["auth.test"]  # the adapter's start-up


async def test_a_timestamp_older_than_five_minutes_is_refused_with_401(
    slack: SlackHarness,
) -> None:
    body = slack_payload("slack_bolt_event_app_mention.json")
    six_minutes_ago = int(time.time()) - 360

    response = await slack.post(body, "application/json", timestamp=six_minutes_ago)

    assert response.status_code == 401
    assert await slack.inbox() == {}


DEEP = '{"type": "event_callback", "event": ' + "[" * 3000 + "]" * 3000 + "}"


async def test_deeply_nested_json_is_refused_before_it_is_parsed(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    # Unsigned: refused on the signature, the body never parsed.
    unsigned = await slack.http.post(
        slack.url, content=DEEP, headers={"content-type": "application/json"}
    )
    bad = await slack.post(DEEP, "application/json", secret="not-the-secret")
    # Signed (Slack never sends this): a 400, one line.
    signed = await slack.post(DEEP, "application/json")
    await slack.process()

    assert (unsigned.status_code, bad.status_code, signed.status_code) == (401, 401, 400)
    assert await slack.inbox() == {}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refused == [
        "slack request with a bad signature or stale timestamp refused",
        "slack request with a bad signature or stale timestamp refused",
        "slack request nested too deeply refused",
    ]


async def test_an_unsigned_request_is_refused(slack: SlackHarness) -> None:
    body = slack_payload("slack_bolt_event_app_mention.json")

    response = await slack.http.post(
        slack.url, content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 401
    assert await slack.inbox() == {}


async def test_a_retried_event_is_stored_and_processed_once(slack: SlackHarness) -> None:
    slack.api.set_user("U0MARIA", name="maria")
    event = {"type": "member_joined_channel", "user": "U0MARIA", "channel": CHANNEL}

    first = await slack.event(event, event_id="Ev0RETRY01")
    again = await slack.event(
        event,
        event_id="Ev0RETRY01",
        headers={"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"},
    )
    await slack.process()

    assert first.status_code == again.status_code == 200
    assert await slack.inbox() == {"done": 1}
    welcomes = [t for t in texts(slack.posted(CHANNEL)) if "Welcome" in t]
    assert len(welcomes) == 1


async def test_a_message_and_its_app_mention_are_stored_once(slack: SlackHarness) -> None:
    slack.api.set_user("U0CARLA", name="carla")
    ts = slack.next_ts()
    text = f"<@{slack.api.bot_user_id}> where are the slides?"
    message = {
        "type": "message",
        "channel": CHANNEL,
        "channel_type": "channel",
        "user": "U0CARLA",
        "text": text,
        "ts": ts,
    }
    mention = {
        "type": "app_mention",
        "channel": CHANNEL,
        "user": "U0CARLA",
        "text": text,
        "ts": ts,
    }

    await slack.event(message)
    await slack.event(mention)
    await slack.process()

    assert await slack.inbox() == {"done": 1}
    assert await slack.ledger("message_posted") == 1


async def test_a_slash_command_whose_text_says_payload_is_not_lost(slack: SlackHarness) -> None:
    slack.api.set_user("U0CARLA", name="carla")

    response = await slack.command("/facilitator", "whoami payload", user="U0CARLA")
    await slack.process()

    assert response.status_code == 200
    # "payload" is an unexpected argument of whoami: the core explains it privately.
    [answer] = slack.ephemerals("U0CARLA")
    assert "payload" in str(answer.params["text"])


async def test_an_oversized_request_is_refused_without_reading_it(slack: SlackHarness) -> None:
    body = json.dumps({"type": "event_callback", "pad": "x" * 1_100_000})

    response = await slack.post(body, "application/json")

    assert response.status_code == 413
    assert await slack.inbox() == {}


async def test_only_post_is_accepted(slack: SlackHarness) -> None:
    response = await slack.http.get(slack.url)

    assert response.status_code == 405


async def test_with_the_recorded_auth_test_the_recorded_join_is_the_bot_being_added(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> None:
    # bolt's recorded auth.test names the bot W23456789: the user who joins in the recorded
    # member_joined_channel, invited by U222.
    fake_slack.respond_with(
        "auth.test", json.loads(slack_payload("slack_bolt_mockapi_auth.test_bot_ok.json"))
    )
    async with slack_harness(fake_slack, tmp_path, clock) as slack:
        body, content_type = _wire("slack_bolt_event_member_joined_channel.json")

        await slack.post(body, content_type)
        await slack.process()
        async with slack.app.uow_factory() as uow:
            adder = await uow.members.identity(Platform.SLACK, "U222")

    [hello] = slack.posted("C111")
    assert hello.params["text"].startswith("Hello! I am now the facilitator of *c111*.")
    assert adder is not None


@pytest.mark.expected_errors
async def test_a_refused_bot_token_stops_start_up_with_a_clear_error(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> None:
    fake_slack.respond_with(
        "auth.test", json.loads(slack_payload("slack_bolt_mockapi_invalid_auth_error.json"))
    )

    with pytest.raises(SlackStartError, match="invalid_auth"):
        async with slack_harness(fake_slack, tmp_path, clock):
            pass


async def test_a_lone_surrogate_in_an_event_is_dropped_and_the_event_handled(
    slack: SlackHarness,
) -> None:
    """JSON may escape half of an emoji's surrogate pair (`\\ud83d` alone): Python decodes it
    to a code point that no UTF-8 database, log file or terminal can encode."""
    slack.api.set_user("U0CARLA", name="carla")
    message = {
        "type": "message",
        "channel": CHANNEL,
        "channel_type": "channel",
        "user": "U0CARLA",
        "text": "where are the slides? \ud83d",  # json.dumps sends it as the escape
        "ts": slack.next_ts(),
    }

    response = await slack.event(message)
    await slack.process()

    assert response.status_code == 200
    assert await slack.inbox() == {"done": 1}
    async with slack.app.storage.engine.connect() as conn:
        questions = (await conn.execute(text("select text from questions"))).scalars().all()
    assert questions == ["where are the slides? "]
