"""/share on Slack: the "Share file to repository" message shortcut on a posted PDF, over real
HTTP. The file is found by its id through files.info and downloaded from url_private with the
bot token; the token goes to no host but the file host allowed by configuration, whatever a
payload or files.info says, and another member's shortcut on the file is refused."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.manifest import SHARE_SHORTCUT
from adapters.slack.webapi import FileRefused, SlackWeb
from facilitator.domain.model import Platform
from facilitator.features.knowledge.domain import ItemStatus, KnowledgeItem
from facilitator.features.knowledge.ports import KnowledgeRepository
from tests.adapters.fakes.slack_api import DEFAULT_TOKEN, FakeSlackAPI
from tests.adapters.slack_support import CHANNEL, SlackHarness, slack_harness, texts
from tests.conftest import FrozenClock
from tests.unit.knowledge.test_ingest import minimal_pdf

CARLA, BRUNO, EVE = "U0CARLA", "U0BRUNO", "U0EVE"  # Carla adds the bot and moderates
GUIDE_TEXT = "Budget a fixed daily allowance per person for field visits"


@pytest_asyncio.fixture
async def elsewhere() -> AsyncIterator[FakeSlackAPI]:
    """Another server on the loopback, recording any request for a file: it must see none."""
    async with FakeSlackAPI() as api:
        yield api


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    fake_slack.set_channel(
        CHANNEL, name="learners", members=[fake_slack.bot_user_id, CARLA, BRUNO, EVE]
    )
    for user in (CARLA, BRUNO, EVE):
        fake_slack.set_user(user, name=user[2:].lower(), locale="en-US")
    fake_slack.set_user(EVE, name="eve", locale="es-ES")
    # The fake stands in for files.slack.com: allowed by configuration, as an operator would.
    async with slack_harness(
        fake_slack, tmp_path, clock, slack_file_origins=[fake_slack.origin]
    ) as harness:
        bot = fake_slack.bot_user_id
        await harness.event(
            {"type": "member_joined_channel", "user": bot, "channel": CHANNEL, "inviter": CARLA}
        )
        await harness.process()
        yield harness


async def _post_file(slack: SlackHarness, user: str, file: dict[str, Any]) -> dict[str, Any]:
    """The message event of a member's file, as Slack sends it; returns the message."""
    message = {
        "type": "message",
        "subtype": "file_share",
        "channel": CHANNEL,
        "channel_type": "channel",
        "user": user,
        "text": "Our field visit guide",
        "ts": slack.next_ts(),
        "files": [file],
    }
    assert (await slack.event(message)).status_code == 200
    await slack.process()
    return message


async def _shortcut(slack: SlackHarness, user: str, message: dict[str, Any]) -> None:
    payload = {
        "type": "message_action",
        "token": "unused",
        "action_ts": slack.next_ts(),
        "team": {"id": slack.api.team_id, "domain": "test"},
        "user": {"id": user, "name": user.lower(), "team_id": slack.api.team_id},
        "channel": {"id": CHANNEL, "name": "learners"},
        "is_enterprise_install": False,
        "callback_id": SHARE_SHORTCUT,
        "trigger_id": f"{slack.next_ts()}.shortcut",
        "response_url": "https://example.invalid/not-slack",
        "message_ts": message["ts"],
        "message": {k: v for k, v in message.items() if k not in {"channel", "channel_type"}},
    }
    assert (await slack.interaction(payload)).status_code == 200
    await slack.process()


async def _proposals(slack: SlackHarness) -> list[KnowledgeItem]:
    async with slack.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.SLACK, CHANNEL)
        assert community is not None
        return await uow.repo(KnowledgeRepository).in_scope(community.id, [ItemStatus.PROPOSED])


async def test_the_poster_shares_a_pdf_found_by_id_and_another_member_is_refused(
    slack: SlackHarness,
) -> None:
    file = slack.api.post_file(BRUNO, "field-visits.pdf", minimal_pdf(GUIDE_TEXT))
    message = await _post_file(slack, BRUNO, file)

    await _shortcut(slack, EVE, message)
    assert texts(slack.ephemerals(EVE))[-1] == (
        "Solo quien publicó ese archivo, o alguien de la moderación, "
        "puede proponerlo para el repositorio."
    )
    assert slack.api.calls_to("files.info") == [] and slack.api.downloads == []

    await _shortcut(slack, BRUNO, message)
    [info] = slack.api.calls_to("files.info")
    assert info.params["file"] == file["id"]
    [download] = slack.api.downloads
    assert download.path == f"/files-pri/{file['id']}/field-visits.pdf"
    assert download.authorization == f"Bearer {DEFAULT_TOKEN}"
    said = texts(slack.posted(CHANNEL)) + texts(slack.ephemerals(BRUNO))
    assert any(
        t.startswith("Thank you! The text of field-visits.pdf (") and "not the file itself" in t
        for t in said
    ), said
    [item] = await _proposals(slack)
    assert item.body == GUIDE_TEXT and item.source == "field-visits.pdf"
    assert item.title == "field-visits"


async def test_the_token_never_goes_to_a_url_from_the_payload(
    slack: SlackHarness, elsewhere: FakeSlackAPI
) -> None:
    file = slack.api.post_file(BRUNO, "field-visits.pdf", minimal_pdf(GUIDE_TEXT))
    hostile = {
        **file,
        "url_private": f"{elsewhere.origin}/files-pri/{file['id']}/field-visits.pdf",
        "url_private_download": f"{elsewhere.origin}/files-pri/{file['id']}/x.pdf",
    }
    message = await _post_file(slack, BRUNO, hostile)
    await _shortcut(slack, BRUNO, message)
    # files.info named the real place: the payload's URL was never asked.
    assert elsewhere.downloads == [] and elsewhere.calls == []
    [download] = slack.api.downloads
    assert download.authorization == f"Bearer {DEFAULT_TOKEN}"
    assert len(await _proposals(slack)) == 1


async def test_a_file_that_files_info_places_on_another_host_is_not_fetched(
    slack: SlackHarness, elsewhere: FakeSlackAPI
) -> None:
    # An attacker's file elsewhere whose bytes would sit on a host we do not trust.
    elsewhere_data = elsewhere.post_file(BRUNO, "trap.pdf", minimal_pdf("trap"))
    file = slack.api.post_file(
        BRUNO, "trap.pdf", minimal_pdf("trap"), url_private=elsewhere_data["url_private"]
    )
    message = await _post_file(slack, BRUNO, file)
    await _shortcut(slack, BRUNO, message)
    assert len(slack.api.calls_to("files.info")) == 1
    assert elsewhere.downloads == []  # no request at all, so no Authorization header either
    assert slack.api.downloads == []
    assert texts(slack.ephemerals(BRUNO))[-1].startswith(
        "I could not get that file from the chat just now."
    )
    assert await _proposals(slack) == []


async def test_a_message_without_a_file_and_an_unsupported_file_are_explained(
    slack: SlackHarness,
) -> None:
    plain = await _post_file(slack, BRUNO, {})
    plain.pop("files")
    await _shortcut(slack, BRUNO, plain)
    assert texts(slack.ephemerals(BRUNO))[-1].startswith("That message has no document.")
    sheet = slack.api.post_file(BRUNO, "budget.xlsx", b"PK\x03\x04")
    await _shortcut(slack, BRUNO, await _post_file(slack, BRUNO, sheet))
    assert texts(slack.ephemerals(BRUNO))[-1].startswith("I can only read PDF and DOCX files.")
    assert slack.api.calls_to("files.info") == []


@contextlib.asynccontextmanager
async def redirecting(to: str) -> AsyncIterator[tuple[str, list[str | None]]]:
    """A loopback server that answers every GET with a redirect to `to`, recording the
    Authorization header it was sent."""
    seen: list[str | None] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        raise web.HTTPFound(to)

    app = web.Application()
    app.router.add_get("/{path:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


def _web(fake: FakeSlackAPI, *origins: str) -> SlackWeb:
    client = AsyncWebClient(token=DEFAULT_TOKEN, base_url=fake.base_url)
    return SlackWeb(
        client, clock=time.monotonic, sleep=asyncio.sleep, file_origins=frozenset(origins)
    )


async def test_a_redirect_is_followed_only_to_an_allowed_file_host(
    fake_slack: FakeSlackAPI, elsewhere: FakeSlackAPI
) -> None:
    pdf = minimal_pdf(GUIDE_TEXT)
    ours = fake_slack.post_file(BRUNO, "guide.pdf", pdf)["url_private"]
    theirs = elsewhere.post_file(BRUNO, "guide.pdf", pdf)["url_private"]
    async with redirecting(ours) as (hop, seen):
        web_api = _web(fake_slack, hop, fake_slack.origin)
        assert await web_api.download_private(hop + "/file", 10_000) == pdf
        assert seen == [f"Bearer {DEFAULT_TOKEN}"]
    async with redirecting(theirs) as (hop, seen):
        web_api = _web(fake_slack, hop, fake_slack.origin)
        with pytest.raises(FileRefused, match="not allowed"):
            await web_api.download_private(hop + "/file", 10_000)
    assert elsewhere.downloads == []  # the redirect's target never saw the token


async def test_a_download_past_the_limit_is_stopped_and_reported_as_too_large(
    fake_slack: FakeSlackAPI,
) -> None:
    url = fake_slack.post_file(BRUNO, "big.pdf", bytes(50_000))["url_private"]
    web_api = _web(fake_slack, fake_slack.origin)
    with pytest.raises(FileRefused) as caught:
        await web_api.download_private(url, 10_000)
    assert caught.value.too_large
    # Without the token the file host answers a sign-in page, which is not the file.
    anonymous = SlackWeb(
        AsyncWebClient(token="xoxb-not-valid", base_url=fake_slack.base_url),
        clock=time.monotonic,
        sleep=asyncio.sleep,
        file_origins=frozenset({fake_slack.origin}),
    )
    with pytest.raises(FileRefused, match="sign-in"):
        await anonymous.download_private(url, 100_000)
