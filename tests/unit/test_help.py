"""/help: short by topic, a topic's every command, one command's usage, in three languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from facilitator.bootstrap import command_specs
from facilitator.commands.spec import CommandRegistry, CommandSpec, NoArgs, Topic
from facilitator.delivery.codec import decode_message, encode_message
from facilitator.domain.events import CommandInvoked, Origin
from facilitator.domain.model import Platform, PlatformUser, Role
from facilitator.features.community.help import entries
from facilitator.i18n import SUPPORTED_LOCALES
from facilitator.markup import Button, OutboundMessage, RichText
from tests.conftest import Harness, prompt_catalogue

CATALOGUE = prompt_catalogue()
SHORT_HELP_LINES = 12


def _paths(registry: CommandRegistry, platform: Platform) -> set[str]:
    """Every command that runs by itself (a parent that only groups subcommands does not)."""
    found = set()
    for spec in registry.visible(platform, Role.ADMIN):
        if spec.handler is not None:
            found.add(spec.path)
        found.update(c.path for c in spec.subcommands if not c.hidden)
    return found


def _private(user: str, text: str, locale: str = "en") -> CommandInvoked:
    name, _, args = text.lstrip("/").partition(" ")
    origin = Origin(
        platform=Platform.CONSOLE,
        event_id=f"{user}:{text}",
        chat_id=user,
        thread_id=None,
        message_id="1",
        user=PlatformUser(Platform.CONSOLE, user, user.title(), locale),
        occurred_at=datetime(2026, 11, 2, 12, 0, tzinfo=UTC),
        is_direct=True,
    )
    return CommandInvoked(origin, name, args)


async def test_a_members_help_is_short_grouped_by_topic_and_says_how_to_see_more(
    harness: Harness,
) -> None:
    await harness.community()

    [reply] = await harness.say("/help")

    lines = reply.splitlines()
    assert len(lines) <= SHORT_HELP_LINES
    assert len(lines) == len(set(lines))
    assert lines[0] == "What you can do here (your role: member)"
    assert "• Ask & find: /faq, /lesson" in reply and "• People: /intro, /whois" in reply
    assert lines[-1].startswith("Send /help <topic> for more (ask, people, participate, data")
    assert "moderation" not in reply and "/members" not in reply


async def test_a_coordinators_help_stays_short_with_moderation_as_one_topic(
    harness: Harness,
) -> None:
    await harness.grant("ana", Role.COORDINATOR)

    [reply] = await harness.say("/help", user="ana")

    lines = reply.splitlines()
    assert len(lines) <= SHORT_HELP_LINES
    assert len(lines) == len(set(lines))
    assert any(line.startswith("• Moderation: /members, /role") for line in lines)
    assert "/doc add" not in reply  # the full lists are behind /help <topic>
    assert "moderation)" in lines[-1]


@pytest.mark.parametrize("word", ["moderation", "moderación", "moderação", "Moderacion"])
async def test_help_on_a_topic_accepts_its_word_in_every_language(
    harness: Harness, word: str
) -> None:
    await harness.grant("ana", Role.COORDINATOR)

    [reply] = await harness.say(f"/help {word}", user="ana")

    lines = reply.splitlines()
    assert lines[0] == "Moderation (your role: coordinator)"
    assert [line for line in lines if line.startswith("• /doc add ")] != []
    assert sum("/doc add" in line for line in lines) == 1  # once, not for /doc and /doc add
    assert any(line.startswith("• /faq add ") for line in lines)
    assert not any(line.startswith("• /faq <question>") for line in lines)  # in "ask"
    assert harness.messenger.sent[-1][1].ephemeral  # from the group: for the member alone


@pytest.mark.parametrize(
    ("locale", "word", "header"),
    [
        ("en", "people", "People (your role: member)"),
        ("es", "personas", "Personas (tu rol: miembro)"),
        ("pt-BR", "pessoas", "Pessoas (seu papel: membro)"),
        ("en", "pessoas", "People (your role: member)"),  # another language's word works too
    ],
)
async def test_help_on_a_topic_lists_its_commands_in_the_members_language(
    harness: Harness, locale: str, word: str, header: str
) -> None:
    await harness.community()

    [reply] = await harness.say(f"/help {word}", locale=locale)

    lines = reply.splitlines()
    assert lines[0] == header
    assert [line.split(":")[0].split()[1] for line in lines[1:]] == [
        "/intro",
        "/whois",
        "/experts",
        "/experts",  # share
        "/match",
    ]


async def test_help_on_a_command_shows_its_usage_and_summary(harness: Harness) -> None:
    await harness.community()

    [reply] = await harness.say("/help faq")
    [addition] = await harness.say("/help /faq edit")

    assert reply.splitlines()[0] == "• /faq <question>: answer a question from the repository"
    assert any(line.startswith("• /faq edit <id>") for line in reply.splitlines())
    assert "/faq add" not in reply  # a moderator's subcommand
    assert addition.startswith("• /faq edit <id>") and len(addition.splitlines()) == 1


async def test_an_unknown_topic_is_answered_with_the_topics_there_are(harness: Harness) -> None:
    await harness.community()

    [unknown] = await harness.say("/help weather")
    [for_moderators] = await harness.say("/help moderation")

    assert unknown == (
        "I have no help on “weather”. Send /help followed by a topic "
        "(ask, people, participate, data, basics) or by a command, e.g. /help faq."
    )
    assert for_moderators.startswith("I have no help on “moderation”.")
    assert harness.messenger.sent[-1][0].user_id == "carla"


async def test_start_help_in_a_private_chat_shows_the_help(harness: Harness) -> None:
    await harness.grant("ana", Role.COORDINATOR)

    [short] = await harness.dispatch(_private("ana", "/start help"))
    [topic] = await harness.dispatch(_private("ana", "/start help_moderation", locale="es"))

    assert short.startswith("What you can do here (your role: coordinator)")
    assert topic.startswith("Moderación (tu rol: coordinación)")
    assert "/doc add" in topic


def test_every_command_is_in_exactly_one_topic_list() -> None:
    registry = CommandRegistry(command_specs())
    for platform in Platform:
        listed: dict[str, list[Topic]] = {}
        for line in entries(registry, platform, Role.ADMIN):
            listed.setdefault(line.spec.path, []).append(line.topic)
        assert set(listed) == _paths(registry, platform)
        assert {path: topics for path, topics in listed.items() if len(topics) != 1} == {}
    for spec in registry.all():
        assert spec.topic is not None, spec.name


def test_commands_above_a_members_role_are_listed_under_moderation() -> None:
    registry = CommandRegistry(command_specs())
    for platform in Platform:
        for line in entries(registry, platform, Role.ADMIN):
            if line.spec.role > Role.MEMBER:
                assert line.topic is Topic.MODERATION, line.spec.path


def test_a_command_without_a_topic_is_refused() -> None:
    async def nothing(ctx: object, args: NoArgs) -> None:
        return None

    with pytest.raises(ValueError, match="no topic"):
        CommandRegistry([CommandSpec("ping", nothing, NoArgs)])


def test_topic_words_name_one_topic_and_no_command() -> None:
    names = {spec.name for spec in command_specs()}
    owners: dict[str, Topic] = {}
    for topic in Topic:
        for locale in SUPPORTED_LOCALES:
            word = CATALOGUE.text(locale, f"core.help.topics.{topic.value}.word")
            assert " " not in word and word not in names, word
            assert owners.setdefault(word, topic) is topic, word


def test_a_link_button_keeps_its_address_through_the_outbox() -> None:
    message = OutboundMessage(
        RichText.of("Go"),
        buttons=((Button("Open", "", url="https://t.me/bot?start=help"), Button("Ok", "ok")),),
    )

    assert decode_message(encode_message(message)) == message
