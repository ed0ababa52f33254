"""A Slack channel end to end: signed HTTP requests in, the real core, Web API calls out."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from facilitator.context import CommandContext
from facilitator.domain.model import ParticipationKind, Platform
from facilitator.features.knowledge.loading import ingest_directory
from facilitator.features.knowledge.service import KnowledgeBase
from tests.adapters.fakes.slack_api import FakeSlackAPI, dm_channel_id
from tests.adapters.slack_support import CHANNEL, SlackHarness, slack_harness, texts
from tests.conftest import REPO_ROOT, FrozenClock

CARLA, MARIA, BRUNO = "U0CARLA", "U0MARIA", "U0BRUNO"


@pytest_asyncio.fixture
async def slack(
    fake_slack: FakeSlackAPI, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[SlackHarness]:
    fake_slack.set_channel(CHANNEL, name="learners", members=[fake_slack.bot_user_id, CARLA])
    fake_slack.set_user(CARLA, name="carla", locale="es-LA", is_admin=True)
    fake_slack.set_user(MARIA, name="maria", locale="pt-BR")
    fake_slack.set_user(BRUNO, name="bruno", locale="en-US")
    async with slack_harness(fake_slack, tmp_path, clock) as harness:
        yield harness


async def bot_added(slack: SlackHarness) -> None:
    bot = slack.api.bot_user_id
    await slack.event(
        {"type": "member_joined_channel", "user": bot, "channel": CHANNEL, "inviter": CARLA}
    )
    await slack.process()


def _rich_texts(call: Any) -> list[str]:
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

    walk(call.params.get("blocks"))
    return found


async def test_the_bot_added_to_a_channel_says_hello_in_the_adders_language(
    slack: SlackHarness,
) -> None:
    await bot_added(slack)

    [hello] = slack.posted(CHANNEL)
    assert "learners" in hello.params["text"]
    assert "Hola" in hello.params["text"]  # Carla's Slack locale is es-LA
    async with slack.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.SLACK, CHANNEL)
        assert community is not None and community.title == "learners"


async def test_a_member_who_joins_is_welcomed_in_their_slack_language(
    slack: SlackHarness,
) -> None:
    await bot_added(slack)

    await slack.event({"type": "member_joined_channel", "user": MARIA, "channel": CHANNEL})
    await slack.process()

    welcome = slack.posted(CHANNEL)[-1]
    assert welcome.params["text"].startswith("Boas-vindas a *learners*, maria!")
    assert await slack.ledger(ParticipationKind.MEMBER_JOINED) == 1


async def test_facilitator_help_answers_with_the_commands_of_the_member(
    slack: SlackHarness,
) -> None:
    await slack.command("/facilitator", "help", user=BRUNO)
    await slack.process()

    [help_text] = texts(slack.posted(CHANNEL))
    assert "What you can do here" in help_text
    assert "/lang" in help_text
    assert "/members" not in help_text  # a moderator's command, not shown to a member


async def test_help_on_a_topic_in_a_channel_is_shown_to_the_member_alone(
    slack: SlackHarness,
) -> None:
    await slack.command("/facilitator", "help moderação", user=CARLA)
    await slack.process()

    [listing] = slack.ephemerals(CARLA)
    assert listing.params["channel"] == CHANNEL
    assert listing.params["text"].startswith("*Moderación*")  # Carla's Slack speaks Spanish
    assert "/doc add" in listing.params["text"]
    assert slack.posted() == []


async def test_an_empty_umbrella_command_shows_help(slack: SlackHarness) -> None:
    await slack.command("/facilitator", "", user=BRUNO)
    await slack.process()

    assert "What you can do here" in texts(slack.posted(CHANNEL))[0]


async def test_a_command_of_its_own_answers_in_the_channel(slack: SlackHarness) -> None:
    await slack.command("/whoami", "", user=BRUNO)
    await slack.process()

    [answer] = texts(slack.posted(CHANNEL))
    assert answer.startswith("You are *bruno*, with the member role in learners.")


async def test_a_private_answer_goes_through_the_response_url_when_there_is_one(
    slack: SlackHarness,
) -> None:
    await slack.command("/link", "", user=BRUNO, response_url=slack.hooks.url("1"))
    await slack.process()

    [(path, body)] = slack.hooks.received
    assert path.endswith("/1")
    assert body["response_type"] == "ephemeral"
    assert body["replace_original"] is False
    assert "/link" in body["text"]
    assert slack.ephemerals() == [] and slack.posted() == []


async def test_a_private_answer_without_a_response_url_is_an_ephemeral_message(
    slack: SlackHarness,
) -> None:
    await slack.command("/link", "", user=BRUNO)  # its response_url is not on Slack's host
    await slack.process()

    [ephemeral] = slack.ephemerals(BRUNO)
    assert ephemeral.params["channel"] == CHANNEL
    assert "/link" in ephemeral.params["text"]
    assert slack.posted() == []


async def test_a_moderator_command_from_a_member_is_refused_privately(
    slack: SlackHarness,
) -> None:
    await slack.command("/facilitator", "members", user=BRUNO)
    await slack.process()

    [refusal] = slack.ephemerals(BRUNO)
    assert refusal.params["text"].startswith("Sorry, /members is for the moderator role or above,")
    assert slack.posted() == []


async def test_the_adder_is_a_moderator_and_sees_the_members_privately(
    slack: SlackHarness,
) -> None:
    await bot_added(slack)
    await slack.event({"type": "member_joined_channel", "user": MARIA, "channel": CHANNEL})
    await slack.process()

    await slack.command("/members", "", user=CARLA)
    await slack.process()

    [listing] = slack.ephemerals(CARLA)
    assert "carla" in listing.params["text"] and "maria" in listing.params["text"]


async def test_faq_through_the_umbrella_command_is_answered(slack: SlackHarness) -> None:
    report = await ingest_directory(
        slack.app.uow_factory, REPO_ROOT / "data" / "knowledge", None, slack.clock
    )
    assert report.errors == []

    await slack.command("/facilitator", "faq what does the facilitator do", user=BRUNO)
    await slack.process()

    [answer] = texts(slack.posted(CHANNEL))
    assert answer.startswith("*What does the facilitator do?*\n")


def offer_choices_instead_of_answering(base: object) -> None:
    """Make every match a "did you mean" choice, whatever the lookup's calibration."""
    assert isinstance(base, KnowledgeBase)
    base.config = dataclasses.replace(base.config, answer_threshold=1.01)


async def test_a_button_rendered_by_slack_is_pressed_and_reaches_the_core(
    slack: SlackHarness,
) -> None:
    report = await ingest_directory(
        slack.app.uow_factory, REPO_ROOT / "data" / "knowledge", None, slack.clock
    )
    assert report.errors == []
    offer_choices_instead_of_answering(slack.app.services.feature(KnowledgeBase))
    await slack.command("/faq", "webinra tips", user=BRUNO)
    await slack.process()
    [offer] = slack.posted(CHANNEL)
    actions = offer.params["blocks"][-1]
    assert actions["type"] == "actions"
    button = actions["elements"][0]
    label = button["text"]["text"]

    await slack.interaction(
        {
            "type": "block_actions",
            "user": {"id": BRUNO, "name": "bruno", "team_id": slack.api.team_id},
            "api_app_id": slack.api.app_id,
            "trigger_id": "77.88.button",
            "team": {"id": slack.api.team_id},
            "container": {
                "type": "message",
                "message_ts": offer.params.get("ts", "1.1"),
                "channel_id": CHANNEL,
            },
            "channel": {"id": CHANNEL, "name": "learners"},
            "response_url": slack.hooks.url("button"),
            "actions": [
                {
                    "action_id": button["action_id"],
                    "block_id": actions["block_id"],
                    "value": button["value"],
                    "type": "button",
                    "action_ts": "1767000000.1",
                }
            ],
        }
    )
    await slack.process()

    shown = texts(slack.posted(CHANNEL))[-1]
    assert shown.startswith("*" + label.rstrip("…"))
    assert await slack.ledger(ParticipationKind.BUTTON_PRESSED) == 1


async def test_a_button_handler_registered_in_the_core_gets_the_value(
    slack: SlackHarness,
) -> None:
    pressed: list[tuple[str, str]] = []

    async def handler(ctx: CommandContext, value: str) -> None:
        pressed.append((ctx.origin.user.user_id, value))

    slack.app.services.buttons["demo.ping"] = handler

    await slack.interaction(
        {
            "type": "block_actions",
            "user": {"id": MARIA, "name": "maria"},
            "trigger_id": "1.2.3",
            "container": {
                "type": "message",
                "message_ts": "1767000000.000001",
                "channel_id": CHANNEL,
            },
            "channel": {"id": CHANNEL},
            "actions": [{"action_id": "demo.ping#0.1", "value": "42", "type": "button"}],
        }
    )
    await slack.process()

    assert pressed == [(MARIA, "42")]


async def test_a_message_that_looks_like_a_command_is_only_a_message(
    slack: SlackHarness,
) -> None:
    await slack.event(
        {
            "type": "message",
            "channel": CHANNEL,
            "channel_type": "channel",
            "user": BRUNO,
            "text": "/members please",
            "ts": slack.next_ts(),
        }
    )
    await slack.process()

    assert slack.ephemerals() == [] and slack.posted() == []
    assert await slack.ledger(ParticipationKind.MESSAGE_POSTED) == 1


async def test_a_reply_in_a_thread_answers_the_question(slack: SlackHarness) -> None:
    question_ts = slack.next_ts()
    await slack.event(
        {
            "type": "message",
            "channel": CHANNEL,
            "channel_type": "channel",
            "user": MARIA,
            "text": "How do I share my slides?",
            "ts": question_ts,
        }
    )
    await slack.event(
        {
            "type": "message",
            "channel": CHANNEL,
            "channel_type": "channel",
            "user": BRUNO,
            "text": "Upload them to the shared drive",
            "ts": slack.next_ts(),
            "thread_ts": question_ts,
            "parent_user_id": MARIA,
        }
    )
    await slack.process()

    assert await slack.ledger(ParticipationKind.QUESTION_ASKED) == 1
    assert await slack.ledger(ParticipationKind.ANSWER_GIVEN) == 1


async def test_edits_deletions_and_bot_messages_are_not_participation(
    slack: SlackHarness,
) -> None:
    ts = slack.next_ts()
    base = {"type": "message", "channel": CHANNEL, "channel_type": "channel"}
    await slack.event({**base, "user": BRUNO, "text": "hello", "ts": ts})
    await slack.event(
        {
            **base,
            "subtype": "message_changed",
            "ts": slack.next_ts(),
            "message": {
                "type": "message",
                "user": BRUNO,
                "text": "hello!",
                "ts": ts,
                "edited": {"user": BRUNO, "ts": slack.next_ts()},
            },
            "previous_message": {"type": "message", "user": BRUNO, "text": "hello", "ts": ts},
        }
    )
    await slack.event(
        {**base, "subtype": "message_deleted", "ts": slack.next_ts(), "deleted_ts": ts}
    )
    await slack.event(
        {
            **base,
            "subtype": "bot_message",
            "bot_id": "B0OTHER",
            "text": "beep",
            "ts": slack.next_ts(),
        }
    )
    await slack.event(
        {
            **base,
            "user": slack.api.bot_user_id,
            "bot_id": slack.api.bot_id,
            "text": "mine",
            "ts": slack.next_ts(),
        }
    )
    await slack.process()

    assert await slack.inbox() == {"done": 5}
    assert await slack.ledger(ParticipationKind.MESSAGE_POSTED) == 1


async def test_a_reaction_is_recorded_once(slack: SlackHarness) -> None:
    reaction = {
        "type": "reaction_added",
        "user": MARIA,
        "reaction": "tada",
        "item": {"type": "message", "channel": CHANNEL, "ts": "1767000000.000009"},
        "item_user": BRUNO,
    }

    await slack.event(reaction)
    await slack.event(reaction)  # a new event id, the same reaction
    await slack.event({**reaction, "type": "reaction_removed"})
    await slack.process()

    assert await slack.ledger(ParticipationKind.REACTION_GIVEN) == 1


async def test_a_member_who_leaves_is_recorded(slack: SlackHarness) -> None:
    await slack.event({"type": "member_joined_channel", "user": MARIA, "channel": CHANNEL})
    await slack.event({"type": "member_left_channel", "user": MARIA, "channel": CHANNEL})
    await slack.process()

    assert await slack.ledger(ParticipationKind.MEMBER_LEFT) == 1


async def test_the_bot_removed_by_someone_deactivates_the_community(slack: SlackHarness) -> None:
    await bot_added(slack)

    await slack.event(
        {"type": "member_left_channel", "user": slack.api.bot_user_id, "channel": CHANNEL}
    )
    await slack.event({"type": "channel_left", "channel": CHANNEL, "actor_id": CARLA})
    await slack.process()

    async with slack.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.SLACK, CHANNEL)
    assert community is not None and community.active is False


async def test_hostile_names_and_values_are_rendered_inert(slack: SlackHarness) -> None:
    slack.api.set_user("U0EVIL", name="<!channel> *bold* & <@U123> _x_")
    await bot_added(slack)

    await slack.event({"type": "member_joined_channel", "user": "U0EVIL", "channel": CHANNEL})
    await slack.process()

    welcome = slack.posted(CHANNEL)[-1]
    text = welcome.params["text"]
    assert "<!channel>" not in text and "<@U123>" not in text
    assert "&lt;!channel&gt; \u2217bold\u2217 &amp; &lt;@U123&gt; \u02cdx\u02cd" in text
    assert any("<!channel> *bold* & <@U123> _x_!" in t for t in _rich_texts(welcome))
    blocks = json.dumps(welcome.params["blocks"])
    assert '"type": "broadcast"' not in blocks and '"type": "user"' not in blocks


async def test_opening_the_home_tab_publishes_the_overview_in_the_members_language(
    slack: SlackHarness,
) -> None:
    await slack.event(
        {"type": "app_home_opened", "user": MARIA, "channel": dm_channel_id(MARIA), "tab": "home"}
    )
    await slack.event(
        {
            "type": "app_home_opened",
            "user": MARIA,
            "channel": dm_channel_id(MARIA),
            "tab": "messages",
        }
    )
    await slack.process()

    [publish] = slack.api.calls_to("views.publish")
    assert publish.params["user_id"] == MARIA
    view = publish.params["view"]
    assert view["type"] == "home"
    shown = " ".join(_rich_texts(type("C", (), {"params": {"blocks": view["blocks"]}})()))
    assert "Olá" in shown and "maria" in shown
    assert "ainda não está em uma comunidade comigo" in shown  # she is in none yet
    footer = view["blocks"][-1]["elements"][0]["text"]
    assert "/facilitator help" in footer and footer.startswith("No Slack")
    assert slack.posted() == []


async def test_a_direct_message_reaches_the_core_as_addressed_to_the_bot(
    slack: SlackHarness,
) -> None:
    await slack.event(
        {
            "type": "message",
            "channel": dm_channel_id(BRUNO),
            "channel_type": "im",
            "user": BRUNO,
            "text": "hello there",
            "ts": slack.next_ts(),
        }
    )
    await slack.process()

    assert await slack.inbox() == {"done": 1}


async def test_a_question_to_the_bot_is_answered_once_in_its_thread(slack: SlackHarness) -> None:
    report = await ingest_directory(
        slack.app.uow_factory, REPO_ROOT / "data" / "knowledge", None, slack.clock
    )
    assert report.errors == []
    ts = slack.next_ts()
    text = f"<@{slack.api.bot_user_id}> what does the facilitator do?"
    common = {"channel": CHANNEL, "user": BRUNO, "text": text, "ts": ts}

    await slack.event({"type": "message", "channel_type": "channel", **common})
    await slack.event({"type": "app_mention", **common})
    await slack.process()

    [answer] = slack.posted(CHANNEL)
    assert answer.params["text"].startswith("*What does the facilitator do?*")
    assert answer.params["thread_ts"] == ts
