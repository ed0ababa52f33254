"""Logs hold no credentials and no message bodies: the scanner every test runs under finds
them wherever a record carries them, and a database error does not carry the values of its
statement (message bodies, names) into the logs."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError

from facilitator.domain.events import CommandInvoked, InboundEvent, Origin
from facilitator.domain.model import Platform, PlatformUser
from facilitator.storage.models import CommunityRow
from tests.conftest import Database, Harness
from tests.fake_credentials import KNOWN_SECRETS, SLACK_BOT_TOKEN, TELEGRAM_TOKEN, secrets_in
from tests.log_scan import LogScan, record_text


def _record(level: int, msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("probe", level, __file__, 1, msg, args or None, None)
    record.__dict__.update(extra)
    return record


def _failure(text: str) -> logging.LogRecord:
    try:
        raise RuntimeError(text)
    except RuntimeError:
        return logging.LogRecord(
            "probe", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )


@pytest.mark.parametrize(
    "record",
    [
        _record(logging.DEBUG, f"base url https://api.telegram.org/bot{TELEGRAM_TOKEN}/"),
        _record(logging.INFO, "calling %s", f"Bearer {SLACK_BOT_TOKEN}"),
        _record(logging.WARNING, "refused", headers={"authorization": SLACK_BOT_TOKEN}),
        _failure(f"POST /bot{TELEGRAM_TOKEN.split(':')[1]}/sendMessage failed"),
    ],
    ids=["message", "argument", "extra", "exception"],
)
def test_a_credential_anywhere_in_a_record_is_found(record: logging.LogRecord) -> None:
    scan = LogScan()

    scan.handle(record)

    found = secrets_in(record_text(record))
    assert found
    assert scan.problems() == [f"probe logged a credential ({s[:6]}…)" for s in found]


def test_a_declared_body_may_be_logged_at_debug_only() -> None:
    scan = LogScan()
    scan.forbid_at_info("canary-7f3a")

    scan.handle(_record(logging.DEBUG, "text %s", "canary-7f3a"))
    assert scan.problems() == []
    scan.handle(_record(logging.INFO, "handled", text="canary-7f3a and more"))
    assert scan.problems() == ["probe logged a message body ('canary-7f3a'…)"]


def test_every_known_secret_is_long_enough_not_to_match_by_chance() -> None:
    assert all(len(secret) >= 7 for secret in KNOWN_SECRETS)


async def test_a_database_error_does_not_carry_the_values_of_its_statement(
    database: Database,
) -> None:
    row = {
        "key": "canary-key-7f3a",
        "platform": "telegram",
        "chat_id": "-1001",
        "title": "canary-title-7f3a",
        "timezone": "UTC",
        "language": "en",
        "settings": {},
        "active": True,
        "created_at": datetime(2026, 11, 2, tzinfo=UTC),
    }
    async with database.engine.begin() as conn:
        await conn.execute(insert(CommunityRow).values(**row))

    with pytest.raises(DBAPIError) as raised:
        async with database.engine.begin() as conn:
            await conn.execute(insert(CommunityRow).values(**row))  # the same key again

    assert "canary" not in str(raised.value)
    assert "hidden" in str(raised.value)


async def test_an_unknown_command_logs_only_a_name_that_could_be_a_command(
    harness: Harness, log_scan: LogScan
) -> None:
    """Slack's `/facilitator <word>` takes any first word as the command's name."""
    await harness.community()
    origin = Origin(
        platform=Platform.CONSOLE,
        event_id="e1",
        chat_id="demo",
        user=PlatformUser(Platform.CONSOLE, "carla", "Carla"),
        occurred_at=harness.clock.now(),
    )
    log_scan.forbid_at_info("canary7q")

    await harness.dispatch(CommandInvoked(origin, "mi-clave:canary7q,ok", ""))
    await harness.dispatch(CommandInvoked(origin, "hepl", ""))

    logged = [s.text for s in log_scan.seen if "unknown command" in s.text]
    assert len(logged) == 2
    assert "(not a command name)" in logged[0] and "hepl" in logged[1]


class QuotingDecoder:
    """A decoder whose error quotes the payload, as parsers' errors often do."""

    async def decode(self, payload: str) -> list[InboundEvent]:
        raise ValueError(f"unexpected value in {payload!r}")


async def test_a_rejected_payload_logs_the_error_type_and_delivery_id_only(
    harness: Harness, log_scan: LogScan
) -> None:
    harness.app.inbox.register(Platform.TELEGRAM, QuotingDecoder())
    log_scan.forbid_at_info("canary7q")

    await harness.app.inbox.accept(Platform.TELEGRAM, "4711", '{"text": "canary7q"}', "-100")
    await harness.app.inbox.process_pending()

    [line] = [s for s in log_scan.seen if "inbound payload rejected" in s.text]
    assert line.level == logging.WARNING
    assert "ValueError" in line.text and "4711" in line.text
    async with harness.app.uow_factory() as uow:
        assert await uow.inbox.counts() == {"rejected": 1}
