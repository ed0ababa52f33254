"""Hostile text through the real adapters, end to end: Telegram updates polled from the fake
Bot API and Slack requests signed and posted to our route, the real core, and what the fakes
recorded. Telegram parses every reply (no markup error) and shows the values literally; Slack
gets escaped mrkdwn, no broadcast or mention, and never `link_names`. A member's refusal
comes in their own language through each platform.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from adapters.slack.render import unescape
from facilitator.domain.model import Platform, Role
from facilitator.domain.text import printable
from tests.adapters.fakes.slack_api import FakeSlackAPI
from tests.adapters.fakes.telegram_api import (
    chat_member_dict,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.slack_support import CHANNEL, SlackHarness, slack_harness
from tests.adapters.telegram_support import (
    BOT_ID,
    BOT_USERNAME,
    TelegramHarness,
    member_update,
)
from tests.conftest import FrozenClock
from tests.log_scan import LogScan
from tests.security.support import SHORT_HOSTILE

GROUP = supergroup_chat(-1001700, "Safety <group> & co")
ADA = user(111, "Ada", language_code="en")  # adds the bot: a moderator
LUZ = user(222, "Luz", language_code="es")  # a member who reads Spanish
ME = user(BOT_ID, "Facilitator", username=BOT_USERNAME, is_bot=True, language_code=None)
CARLA, LUCIA = "U0CARLA", "U0LUCIA"
# What a Slack text or block may never carry from a value: broadcasts, mentions, channels.
SLACK_SPECIAL = re.compile(r"<[!@#]")


def _lines(value: str) -> list[str]:
    """How a hostile value is typed: as a question, and as the free text of two commands."""
    return [f"@{BOT_USERNAME} {value}", f"/experts {value}", f'/faq add "{value}" "An answer."']


@pytest_asyncio.fixture
async def tg(tg: TelegramHarness) -> TelegramHarness:
    """The shared harness, with the bot added to the group by Ada."""
    tg.api.add_chat(GROUP)
    await tg.poll(
        member_update(
            "my_chat_member", GROUP, ADA, chat_member_dict(ME, "left"), chat_member_dict(ME)
        )
    )
    return tg


async def test_hostile_text_on_telegram_is_parsed_and_shown_literally(
    tg: TelegramHarness, log_scan: LogScan
) -> None:
    tg.api.calls.clear()
    for hostile in SHORT_HOSTILE:
        log_scan.forbid_at_info(printable(hostile.text))
        updates = [text_update(line, from_user=ADA, chat=GROUP) for line in _lines(hostile.text)]
        await tg.poll(*updates)

    sent = tg.api.calls_to("sendMessage")
    assert sent and all(call.ok for call in sent), [c.response for c in sent if not c.ok]
    shown = "\n".join(str(call.result["text"]) for call in sent)
    for hostile in SHORT_HOSTILE:
        if '"' not in hostile.text:  # the /experts reply repeats the theme as typed
            assert printable(hostile.text).strip() in shown, hostile.name
    assert "<b>bold</b>" in shown and "<script>" in shown  # text, not markup
    assert await tg.inbox_statuses() == {"done": 1 + 3 * len(SHORT_HOSTILE)}


async def test_a_member_is_refused_in_spanish_on_telegram(tg: TelegramHarness) -> None:
    tg.api.calls.clear()
    await tg.poll(text_update('/faq add "¿Qué?" "Nada."', from_user=LUZ, chat=GROUP))

    [refusal] = [c for c in tg.api.calls_to("sendMessage") if c.ok]
    catalogue = tg.app.services.catalogue
    role = catalogue.text("es", "core.roles.moderator")
    yours = catalogue.text("es", "core.roles.member")
    expected = catalogue.render(
        "es", "errors.not_allowed", command="faq add", role=role, yours=yours
    )
    assert refusal.result["text"] == expected.plain()


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    fake_slack.set_channel(CHANNEL, name="learners", members=[fake_slack.bot_user_id, CARLA])
    fake_slack.set_user(CARLA, name="carla", locale="en-US")
    fake_slack.set_user(LUCIA, name="lucia", locale="es-ES")
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        await harness.app.roles.grant(Platform.SLACK, CARLA, Role.MODERATOR)
        yield harness


def _slack_messages(slack: SlackHarness) -> Iterator[dict[str, Any]]:
    for call in [*slack.posted(), *slack.ephemerals()]:
        yield call.params
    for _, body in slack.hooks.received:
        yield body


def _block_elements(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "type" in node:
            yield node
        for value in node.values():
            yield from _block_elements(value)
    elif isinstance(node, list):
        for value in node:
            yield from _block_elements(value)


async def test_hostile_text_on_slack_is_escaped_and_broadcasts_nobody(
    slack: SlackHarness, log_scan: LogScan
) -> None:
    for hostile in SHORT_HOSTILE:
        log_scan.forbid_at_info(printable(hostile.text))
        ts = slack.next_ts()
        await slack.event(
            {
                "type": "app_mention",
                "channel": CHANNEL,
                "user": CARLA,
                "text": f"<@{slack.api.bot_user_id}> {hostile.text}",
                "ts": ts,
            }
        )
        for line in _lines(hostile.text)[1:]:
            await slack.command("/facilitator", line.removeprefix("/"), user=CARLA)
    await slack.process()

    messages = list(_slack_messages(slack))
    # Every command is answered (a mention holding only mentions asks nothing).
    assert len(messages) >= 2 * len(SHORT_HOSTILE)
    shown = []
    for message in messages:
        text = str(message.get("text", ""))
        assert not SLACK_SPECIAL.search(text), text
        assert not message.get("link_names")
        for element in _block_elements(message.get("blocks", [])):
            assert element["type"] not in {"broadcast", "user", "usergroup", "channel", "link"}
            if element["type"] == "text":
                shown.append(str(element["text"]))
    visible = "".join(shown)
    for hostile in SHORT_HOSTILE:
        if '"' not in hostile.text:
            assert unescape(printable(hostile.text)).strip() in visible, hostile.name
    assert "<!channel>" in visible  # shown as text, broadcast to nobody
    assert await slack.inbox() == {"done": 3 * len(SHORT_HOSTILE)}


async def test_a_member_is_refused_in_spanish_on_slack(slack: SlackHarness) -> None:
    await slack.command("/facilitator", "members", user=LUCIA)
    await slack.process()

    [refusal] = slack.ephemerals(LUCIA)
    catalogue = slack.app.services.catalogue
    role = catalogue.text("es", "core.roles.moderator")
    yours = catalogue.text("es", "core.roles.member")
    expected = catalogue.render(
        "es", "errors.not_allowed", command="members", role=role, yours=yours
    )
    assert refusal.params["text"] == expected.plain()
