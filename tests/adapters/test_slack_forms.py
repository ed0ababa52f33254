"""Slack modals and the Home tab end to end: signed slash commands, view submissions and
button presses POSTed to /slack/events; views.open, views.publish and messages recorded by the
fake Web API."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from facilitator.domain.model import Platform
from facilitator.features.knowledge.domain import ItemType
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.polls.ports import PollRepository
from facilitator.features.webinars.ports import WebinarRepository
from tests.adapters.fakes.slack_api import FakeSlackAPI, RecordedCall, dm_channel_id
from tests.adapters.slack_support import CHANNEL, SlackHarness, slack_harness, slack_payload, texts
from tests.conftest import FrozenClock

CARLA, BRUNO = "U0CARLA", "U0BRUNO"  # Carla adds the bot (a moderator); Bruno is a member


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    fake_slack.set_channel(CHANNEL, name="learners", members=[fake_slack.bot_user_id, CARLA])
    fake_slack.set_user(CARLA, name="carla", locale="es-LA", is_admin=True)
    fake_slack.set_user(BRUNO, name="bruno", locale="en-US")
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        bot = fake_slack.bot_user_id
        await harness.event(
            {"type": "member_joined_channel", "user": bot, "channel": CHANNEL, "inviter": CARLA}
        )
        await harness.process()
        yield harness


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def opened_view(call: RecordedCall) -> dict[str, Any]:
    view = as_json(call.params["view"])
    assert isinstance(view, dict)
    return view


def trigger_of_last_command(slack: SlackHarness) -> str:
    return f"{slack.seq}.1767.trigger"  # what SlackHarness.command sent


async def open_modal(slack: SlackHarness, command: str, text: str, user: str) -> dict[str, Any]:
    await slack.command(command, text, user=user)
    await slack.process()
    call = slack.api.calls_to("views.open")[-1]
    assert call.error is None
    assert call.params["trigger_id"] == trigger_of_last_command(slack)
    return opened_view(call)


def _state(block: dict[str, Any], answer: object) -> dict[str, Any]:
    """The state Slack reports for one input block's element, given what the member entered."""
    element = block["element"]
    kind = element["type"]
    if kind == "plain_text_input":
        return {"type": kind, "value": answer}
    if kind == "datepicker":
        return {"type": kind, "selected_date": answer}
    if kind == "timepicker":
        return {"type": kind, "selected_time": answer}
    if kind == "checkboxes":
        chosen = answer if isinstance(answer, list) else []
        return {
            "type": kind,
            "selected_options": [o for o in element["options"] if o["value"] in chosen],
        }
    option = next((o for o in element.get("options", []) if o["value"] == answer), None)
    return {"type": kind, "selected_option": option}


async def submit(
    slack: SlackHarness, view: dict[str, Any], user: str, answers: dict[str, object]
) -> None:
    """POST a view_submission shaped like Slack's own (the recorded example payload), with the
    state of every input of the view that was opened."""
    payload = json.loads(slack_payload("slack_bolt_interactive_view_submission.json"))
    payload["team"]["id"] = slack.api.team_id
    payload["user"] = {
        "id": user,
        "username": user.lower(),
        "name": user.lower(),
        "team_id": slack.api.team_id,
    }
    payload["api_app_id"] = slack.api.app_id
    payload["trigger_id"] = f"{slack.next_ts()}.submit"
    submitted = payload["view"]
    submitted.update(
        {
            "id": "V0MODAL",
            "team_id": slack.api.team_id,
            "blocks": copy.deepcopy(view["blocks"]),
            "private_metadata": view["private_metadata"],
            "callback_id": view["callback_id"],
            "title": view["title"],
            "submit": view["submit"],
            "app_id": slack.api.app_id,
            "bot_id": slack.api.bot_id,
            "root_view_id": "V0MODAL",
            "state": {
                "values": {
                    block["block_id"]: {
                        block["element"]["action_id"]: _state(
                            block, answers.get(block["block_id"])
                        )
                    }
                    for block in view["blocks"]
                    if block["type"] == "input"
                }
            },
        }
    )
    response = await slack.interaction(payload)
    assert response.status_code == 200 and response.text == ""  # the modal closes
    await slack.process()


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def shown(blocks: list[dict[str, Any]]) -> str:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                found.append(str(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk([b for b in blocks if b["type"] == "rich_text"])
    return "".join(found)


# -- poll -------------------------------------------------------------------------------------


async def test_a_poll_modal_opens_on_the_bare_command_and_its_submission_posts_the_poll(
    slack: SlackHarness,
) -> None:
    view = await open_modal(slack, "/poll", "", user=CARLA)

    assert view["type"] == "modal" and view["callback_id"] == "form:poll"
    assert view["title"]["text"] == "Nueva encuesta"  # Carla's Slack language
    assert json.loads(view["private_metadata"]) == {"channel": CHANNEL}
    assert [(b["block_id"], b["element"]["type"], b["optional"]) for b in view["blocks"]] == [
        ("question", "plain_text_input", False),
        ("options", "plain_text_input", False),
        ("closes_on", "datepicker", True),
        ("closes_at", "timepicker", True),
        ("settings", "checkboxes", True),
    ]
    assert slack.ephemerals() == []  # the modal replaces the usage text

    await submit(
        slack,
        view,
        CARLA,
        {
            "question": "¿Almuerzo o cena?",
            "options": "Almuerzo\nCena",
            "closes_on": "2026-11-05",
            "settings": ["multiple"],
        },
    )
    await slack.app.dispatcher.dispatch_due()

    [post] = [c for c in slack.posted(CHANNEL) if "Almuerzo o cena" in str(c.params["text"])]
    assert [(b["text"]["text"], b["value"]) for b in buttons(post.params["blocks"])] == [
        ("Almuerzo", "1:0"),
        ("Cena", "1:1"),
    ]
    async with slack.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.SLACK, CHANNEL)
        assert community is not None
        poll = await uow.repo(PollRepository).latest_open(community.id)
    assert poll is not None and poll.multiple and poll.options == ("Almuerzo", "Cena")
    assert poll.closes_at is not None
    [created] = texts(slack.ephemerals(CARLA))
    assert created.startswith("La encuesta #1 está publicada.")


async def test_a_bad_poll_submission_is_explained_privately_in_the_members_language(
    slack: SlackHarness,
) -> None:
    view = await open_modal(slack, "/facilitator", "poll", user=CARLA)

    await submit(
        slack,
        view,
        CARLA,
        {"question": "¿Sí?", "options": "Sí", "closes_on": "2026-11-01"},
    )

    [explained] = texts(slack.ephemerals(CARLA))
    assert explained.startswith("Esa hora de cierre ya pasó")
    assert "/poll" in explained  # the usage follows
    assert slack.posted(CHANNEL)[1:] == []  # nothing but the bot's hello


async def test_an_expired_trigger_falls_back_to_the_usage(slack: SlackHarness) -> None:
    slack.api.fail_next("views.open", "expired_trigger_id")

    await slack.command("/poll", "", user=BRUNO)
    await slack.process()

    [refused] = slack.api.calls_to("views.open")
    assert refused.error == "expired_trigger_id"
    [usage] = texts(slack.ephemerals(BRUNO))
    assert usage.startswith("Something is missing: poll.")
    assert 'Usage: `/poll "Question?"' in usage


# -- webinar ----------------------------------------------------------------------------------


async def test_a_webinar_modal_announces_the_webinar(slack: SlackHarness) -> None:
    view = await open_modal(slack, "/webinar", "add", user=CARLA)
    zones = next(b for b in view["blocks"] if b["block_id"] == "timezone")["element"]
    assert zones["type"] == "static_select"
    assert zones["initial_option"]["value"] == "UTC"  # the community's zone comes first

    await submit(
        slack,
        view,
        CARLA,
        {
            "title": "Agua segura",
            "date": "2026-12-03",
            "time": "15:00",
            "timezone": "America/Santiago",
            "link": "https://meet.example.org/agua",
            "theme": "agua",
        },
    )
    await slack.app.dispatcher.dispatch_due()

    announcement = slack.posted(CHANNEL)[-1]
    assert "Agua segura" in announcement.params["text"]
    assert [b["value"] for b in buttons(announcement.params["blocks"])] == [
        "1:going",
        "1:maybe",
        "1:no",
    ]
    assert slack.api.calls_to("files.completeUploadExternal")  # the calendar file


async def test_a_member_submitting_the_webinar_modal_is_refused_privately(
    slack: SlackHarness,
) -> None:
    view = await open_modal(slack, "/webinar", "add", user=CARLA)

    await submit(
        slack,
        view,
        BRUNO,
        {"title": "Mine", "date": "2026-12-03", "time": "15:00", "timezone": "UTC"},
    )
    await slack.app.dispatcher.dispatch_due()

    [refused] = texts(slack.ephemerals(BRUNO))
    assert refused.startswith("Sorry, /webinar add is for the moderator role or above,")
    async with slack.app.uow_factory() as uow:
        assert await uow.repo(WebinarRepository).get(1) is None
    assert not any("Mine" in t for t in texts(slack.posted(CHANNEL)))


# -- FAQ item ---------------------------------------------------------------------------------


async def test_an_faq_modal_stores_the_item(slack: SlackHarness) -> None:
    view = await open_modal(slack, "/faq", "add", user=CARLA)

    await submit(
        slack,
        view,
        CARLA,
        {
            "question": "¿Cómo renuevo la visa?",
            "answer": "En el consulado, con cita previa.",
            "theme": "visa",
            "alternates": "renovar visa\nextender permiso",
        },
    )

    async with slack.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.SLACK, CHANNEL)
        assert community is not None
        [item] = [
            i
            for i in await uow.repo(KnowledgeRepository).in_scope(community.id)
            if i.type is ItemType.FAQ
        ]
    assert (item.title, item.body, item.theme) == (
        "¿Cómo renuevo la visa?",
        "En el consulado, con cita previa.",
        "visa",
    )
    assert item.alternates == ("renovar visa", "extender permiso")
    assert "¿Cómo renuevo la visa?" in texts(slack.posted(CHANNEL))[-1]


# -- the Home tab -----------------------------------------------------------------------------


async def open_home(slack: SlackHarness, user: str) -> list[dict[str, Any]]:
    await slack.event(
        {"type": "app_home_opened", "user": user, "channel": dm_channel_id(user), "tab": "home"}
    )
    await slack.process()
    publish = slack.api.calls_to("views.publish")[-1]
    assert publish.params["user_id"] == user
    view = as_json(publish.params["view"])
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    return list(view["blocks"])


async def press_on_home(slack: SlackHarness, user: str, button: dict[str, Any]) -> str:
    """A block_actions payload from the Home tab (shaped like the recorded example)."""
    payload = json.loads(slack_payload("slack_bolt_interactive_block_actions.json"))
    trigger = f"{slack.next_ts()}.home"
    payload.update(
        {
            "user": {"id": user, "username": user.lower(), "name": user.lower()},
            "api_app_id": slack.api.app_id,
            "trigger_id": trigger,
            "container": {"type": "view", "view_id": "V0HOME"},
            "view": {"id": "V0HOME", "type": "home", "callback_id": ""},
            "actions": [
                {
                    "action_id": button["action_id"],
                    "block_id": "actions.0",
                    "text": button["text"],
                    "value": button["value"],
                    "type": "button",
                    "action_ts": "1767000000.000001",
                }
            ],
        }
    )
    for key in ("channel", "response_url"):
        payload.pop(key)
    await slack.interaction(payload)
    await slack.process()
    return trigger


async def test_the_home_tab_shows_the_score_an_upcoming_webinar_and_an_open_poll(
    slack: SlackHarness,
) -> None:
    await slack.event(
        {
            "type": "message",
            "channel": CHANNEL,
            "user": CARLA,
            "text": "hola",
            "ts": slack.next_ts(),
        }
    )
    await slack.command(
        "/webinar", 'add "Agua segura" 2026-12-03 15:00 America/Santiago', user=CARLA
    )
    await slack.command("/poll", '"¿Almuerzo o cena?" Almuerzo Cena', user=CARLA)
    await slack.process()

    blocks = await open_home(slack, CARLA)

    text = shown(blocks)
    assert "Tu participación: " in text and "Aún no tienes insignias" in text
    assert "Agua segura" in text and "¿Almuerzo o cena?" in text
    pressed = {b["text"]["text"]: b for b in buttons(blocks)}
    assert {"Nueva encuesta", "Nuevo webinario", "Nueva pregunta frecuente"} <= set(pressed)
    assert {"✅ Voy", "Almuerzo", "Cena"} <= set(pressed)
    assert blocks[-1]["type"] == "context"  # the footer on how commands work on Slack

    trigger = await press_on_home(slack, CARLA, pressed["Nuevo webinario"])
    opened = slack.api.calls_to("views.open")[-1]
    assert opened.params["trigger_id"] == trigger
    view = opened_view(opened)
    assert view["callback_id"] == "form:webinar.add"
    assert json.loads(view["private_metadata"]) == {"channel": CHANNEL}

    await press_on_home(slack, CARLA, pressed["Cena"])
    async with slack.app.uow_factory() as uow:
        assert list((await uow.repo(PollRepository).votes(1)).values()) == [(1,)]


async def test_a_members_home_offers_only_the_forms_their_role_allows(
    slack: SlackHarness,
) -> None:
    await slack.command("/whoami", "", user=BRUNO)  # Bruno is now a member of the channel
    await slack.process()

    blocks = await open_home(slack, BRUNO)

    labels = {b["text"]["text"] for b in buttons(blocks)}
    assert "New poll" in labels
    assert not labels & {"New webinar", "New FAQ item"}
    assert "No upcoming webinars or open polls here." in shown(blocks)
