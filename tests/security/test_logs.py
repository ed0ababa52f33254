"""Logs hold no credentials and no message bodies: the scanner every test runs under finds
them wherever a record carries them."""

from __future__ import annotations

import logging
import sys

import pytest

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
