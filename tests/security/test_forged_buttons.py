"""Forged button data, for every button the bot declares: each press is refused or answered
once, in the member's language, with no ERROR in the log and nothing retried."""

from __future__ import annotations

import json
import logging

import pytest

from facilitator.domain.model import Platform, Role
from tests.conftest import Harness

FORGED = (
    "",
    "²",
    "12345678901234567890",
    "-1",
    "poll ²",
    "poll 12345678901234567890",
    "1|2|3|4|5",
    "x" * 2000,
    '$x^$ =HYPERLINK("e") <b>',
    "\u0000\u202e",
)


async def press(harness: Harness, action: str, value: str, user: str) -> list[str]:
    harness.seq += 1
    before = len(harness.messenger.sent)
    payload = {
        "kind": "button",
        "action": action,
        "value": value,
        "id": f"f:{harness.seq}",
        "user_id": user,
        "locale": "es",
        "at": harness.clock.now().isoformat(),
    }
    await harness.app.inbox.accept(
        Platform.CONSOLE, f"f:{harness.seq}", json.dumps(payload), "demo"
    )
    await harness.app.inbox.process_pending()
    return [m.body.plain() for _, m in harness.messenger.sent[before:]]


@pytest.mark.parametrize("user", ["zoe", "bruno"])
async def test_every_button_refuses_forged_data_once_without_an_error(
    harness: Harness, caplog: pytest.LogCaptureFixture, user: str
) -> None:
    await harness.community(language="es")
    await harness.grant("bruno", Role.MODERATOR)
    await harness.say("/help", user="zoe", locale="es")
    actions = sorted(harness.app.services.buttons)
    assert len(actions) > 10
    caplog.set_level(logging.INFO)
    for action in actions:
        for value in FORGED:
            caplog.clear()
            replies = await press(harness, action, value, user)
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert errors == [], (action, value, errors[0].getMessage())
            assert len(replies) <= 2, (action, value, replies)
    async with harness.app.uow_factory() as uow:
        counts = await uow.inbox.counts()
    assert set(counts) <= {"done", "rejected"}, counts  # nothing waits to be retried


async def test_an_unknown_action_is_logged_without_what_it_carried(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.community()
    caplog.set_level(logging.INFO, logger="facilitator.core")
    [reply] = await press(harness, "token=SECRET <b>$x$</b>", "1", "zoe")
    assert reply == "Ese botón ya no hace nada. Envía el comando de nuevo."
    [record] = [r for r in caplog.records if r.getMessage() == "unknown button action"]
    assert record.__dict__["action"] == "(not an action)"


def test_the_access_log_names_paths_without_their_query_strings() -> None:
    from facilitator.observability import without_query_strings

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/readyz?token=SECRET&who=ana", "1.1", 200),
        None,
    )
    assert without_query_strings(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /readyz HTTP/1.1" 200'
