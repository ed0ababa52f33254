"""Network `/experts` on Slack, over real HTTP: two channels, two communities; a member of one
finds an expert of the other who shared their profile, and never one who did not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.adapters.fakes.slack_api import FakeSlackAPI
from tests.adapters.slack_support import SlackHarness, slack_harness, texts
from tests.conftest import FrozenClock

ANDES, PAMPA = "C0ANDES", "C0PAMPA"
ANA, PIA, PEDRO = "U0ANA", "U0PIA", "U0PEDRO"  # Ana in Andes; Pia and Pedro in Pampa


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    bot = fake_slack.bot_user_id
    fake_slack.set_channel(ANDES, name="andes-water", members=[bot, ANA])
    fake_slack.set_channel(PAMPA, name="pampa-<climate>-&-co", members=[bot, PIA, PEDRO])
    fake_slack.set_user(ANA, name="ana", locale="es-ES")
    fake_slack.set_user(PIA, name="pia", locale="en-US")
    fake_slack.set_user(PEDRO, name="pedro", locale="pt-BR")
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        for channel, adder in ((ANDES, ANA), (PAMPA, PIA)):
            await harness.event(
                {
                    "type": "member_joined_channel",
                    "user": bot,
                    "channel": channel,
                    "inviter": adder,
                }
            )
        await harness.process()
        yield harness


async def _run(slack: SlackHarness, user: str, channel: str, command: str, text: str) -> None:
    response = await slack.command(command, text, user=user, channel=channel)
    assert response.status_code == 200
    await slack.process()


async def _say(slack: SlackHarness, user: str, channel: str, text: str) -> None:
    event = {
        "type": "message",
        "channel": channel,
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": slack.next_ts(),
    }
    assert (await slack.event(event)).status_code == 200
    await slack.process()


async def test_a_member_of_one_channel_finds_a_sharing_expert_of_the_other(
    slack: SlackHarness,
) -> None:
    await _say(slack, PIA, PAMPA, "hello")
    await _say(slack, PEDRO, PAMPA, "olá")
    await _say(slack, ANA, ANDES, "hola")
    await _run(slack, PIA, PAMPA, "/intro", '"Banco Pampa" Argentina "water, rivers"')
    await _run(slack, PEDRO, PAMPA, "/intro", '"Fondo Sur" Argentina "water"')
    await _run(slack, PIA, PAMPA, "/experts", "share on")
    await _run(slack, PEDRO, PAMPA, "/experts", "share não")
    before = len(slack.ephemerals(ANA))

    await _run(slack, ANA, ANDES, "/experts", "water")

    [reply] = texts(slack.ephemerals(ANA)[before:])
    assert "Quién sabe de water en otras comunidades de la red" in reply
    # Her name, her community's title (escaped: it is text, never markup) and her expertise.
    assert "• pia, pampa-&lt;climate&gt;-&amp;-co: water, rivers" in reply.splitlines()
    assert "pedro" not in reply and "Banco Pampa" not in reply and "Fondo Sur" not in reply


async def test_an_expert_who_stops_sharing_is_no_longer_found(slack: SlackHarness) -> None:
    await _say(slack, PIA, PAMPA, "hello")
    await _say(slack, ANA, ANDES, "hola")
    await _run(slack, PIA, PAMPA, "/intro", '"Banco Pampa" Argentina "water"')
    await _run(slack, PIA, PAMPA, "/experts", "share on")
    await _run(slack, PIA, PAMPA, "/experts", "share off")
    before = len(slack.ephemerals(ANA))

    await _run(slack, ANA, ANDES, "/experts", "water")

    [reply] = texts(slack.ephemerals(ANA)[before:])
    assert not any(line.startswith("• pia") for line in reply.splitlines())
