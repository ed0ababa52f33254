"""The core's command behaviour, asserted on the transcript of what the bot said."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from facilitator.domain.events import (
    BotAdded,
    BotRemoved,
    CommandInvoked,
    ConversationMoved,
    MemberJoined,
    MessageReceived,
    Origin,
)
from facilitator.domain.model import ParticipationKind, Platform, PlatformUser, Role
from facilitator.features.polls.ports import PollRepository
from tests.conftest import Harness


def origin(
    user: str,
    *,
    platform: Platform = Platform.TELEGRAM,
    chat: str = "-1001",
    event: str = "e1",
    direct: bool = False,
    is_bot: bool = False,
    admin: bool = False,
    locale: str | None = None,
) -> Origin:
    return Origin(
        platform=platform,
        event_id=event,
        chat_id=chat,
        user=PlatformUser(
            platform, user, user.title(), locale, is_bot=is_bot, is_platform_admin=admin
        ),
        occurred_at=datetime(2026, 11, 2, 12, 0, tzinfo=UTC),
        chat_title="Water and sanitation CoP",
        is_direct=direct,
    )


async def test_help_lists_only_what_a_member_may_run(harness: Harness) -> None:
    await harness.community()
    [reply] = await harness.say("/help")
    assert "/lang" in reply and "/whoami" in reply
    assert "/members" not in reply and "/role" not in reply


async def test_help_for_a_coordinator_includes_community_commands(harness: Harness) -> None:
    await harness.grant("ana", Role.COORDINATOR)
    [reply] = await harness.say("/help", user="ana")
    assert "/members" in reply and "/role" in reply and "/set" in reply


async def test_lang_switches_the_reply_language_for_the_next_commands(harness: Harness) -> None:
    await harness.community()
    [english] = await harness.say("/help")
    [changed] = await harness.say("/lang es")
    [spanish] = await harness.say("/help")
    assert english.startswith("What you can do here")
    assert changed == "Listo: te hablaré en español."
    assert spanish.startswith("Lo que puedes hacer aquí")


async def test_platform_locale_hint_is_used_until_the_member_chooses(harness: Harness) -> None:
    await harness.community()
    [reply] = await harness.say("/lang", locale="pt-BR")
    assert reply.startswith("Falo com você em português")


async def test_community_language_applies_without_preference_or_hint(harness: Harness) -> None:
    await harness.community(language="es")
    [reply] = await harness.say("/whoami", locale=None)
    assert reply.startswith("Eres Carla, con el rol de miembro")


async def test_moderator_command_from_a_member_is_refused_with_the_reason(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.community()
    with caplog.at_level(logging.WARNING, logger="facilitator.core"):
        [reply] = await harness.say("/members")
    assert reply == (
        "Sorry, /members is for the moderator role or above, and yours is member. "
        "If you need it, ask someone with the moderator role or above in this community."
    )
    assert harness.messenger.sent[-1][0].user_id == "carla"  # only the asker sees it
    assert any(r.getMessage() == "command refused for lack of role" for r in caplog.records)


async def test_unknown_command_suggests_the_closest_known_one(harness: Harness) -> None:
    await harness.community()
    [reply] = await harness.say("/hlep")
    assert reply == "I don't know the command /hlep. Did you mean /help?"


async def test_unknown_command_without_a_close_match_points_to_help(harness: Harness) -> None:
    await harness.community()
    [reply] = await harness.say("/xyzzyqwv")
    assert reply == "I don't know the command /xyzzyqwv. Send /help to see what you can do."


async def test_malformed_argument_explains_what_to_fix_and_the_usage(harness: Harness) -> None:
    await harness.community()
    [reply] = await harness.say("/lang klingon")
    assert reply == (
        '"klingon" is not a valid language. Choose one of: en, es, pt.\nUsage: /lang [en|es|pt]'
    )


async def test_missing_argument_names_it_in_the_members_language(harness: Harness) -> None:
    await harness.grant("ana", Role.COORDINATOR)
    await harness.say("/lang es", user="ana")
    [reply] = await harness.say("/set timezone", user="ana")
    assert reply.startswith("Falta algo: valor.")


async def test_oversized_command_is_refused_not_processed(harness: Harness) -> None:
    await harness.community()
    [reply] = await harness.say("/lang " + "x" * 5000)
    assert reply == "That message is too long for a command: at most 4,000 characters.\n" + (
        "Usage: /lang [en|es|pt]"
    )


async def test_coordinator_promotes_a_member_to_moderator(harness: Harness) -> None:
    await harness.grant("ana", Role.COORDINATOR)
    await harness.say("hello", user="bruno")
    [reply] = await harness.say("/role bruno moderator", user="ana")
    assert reply == "Bruno now has the moderator role."
    [listing] = await harness.say("/members", user="bruno")
    assert "Bruno: moderator" in listing and "Ana: coordinator" in listing


async def test_nobody_grants_a_role_at_or_above_their_own_or_admin(harness: Harness) -> None:
    await harness.grant("ana", Role.COORDINATOR)
    await harness.say("hello", user="bruno")
    [same] = await harness.say("/role bruno coordinator", user="ana")
    [admin] = await harness.say("/role bruno admin", user="ana")
    assert same.startswith("You cannot give or change the coordinator role")
    assert admin.startswith("You cannot give or change the admin role")
    async with harness.app.uow_factory() as uow:
        bruno = await uow.members.identity(Platform.CONSOLE, "bruno")
        community = await uow.communities.by_key("demo")
        assert bruno is not None and community is not None
        membership = await uow.members.membership(bruno.person_id, community.id)
        assert membership is not None and membership.role is Role.MEMBER


async def test_nobody_changes_the_role_of_a_peer_or_a_superior(harness: Harness) -> None:
    await harness.grant("root", Role.ADMIN)
    await harness.grant("ana", Role.COORDINATOR)
    for user in ("bruno", "carla"):
        await harness.say("hello", user=user)
    assert (await harness.say("/role bruno coordinator", user="root")) == [
        "Bruno now has the coordinator role."
    ]
    await harness.say("/role carla moderator", user="root")
    # A coordinator may not demote another coordinator, nor a moderator promote a peer.
    [peer] = await harness.say("/role bruno member", user="ana")
    [upward] = await harness.say("/role root member", user="ana")
    assert peer.startswith("You cannot give or change the coordinator role")
    assert upward.startswith("You cannot give or change the")
    async with harness.app.uow_factory() as uow:
        bruno = await uow.members.identity(Platform.CONSOLE, "bruno")
        community = await uow.communities.by_key("demo")
        assert bruno is not None and community is not None
        membership = await uow.members.membership(bruno.person_id, community.id)
        assert membership is not None and membership.role is Role.COORDINATOR
    # Below their own role, it works.
    assert (await harness.say("/role carla member", user="ana")) == [
        "Carla now has the member role."
    ]


async def test_coordinator_sets_the_community_timezone_and_rejects_unknown_ones(
    harness: Harness,
) -> None:
    await harness.grant("ana", Role.COORDINATOR)
    [bad] = await harness.say("/set timezone Mars/Olympus", user="ana")
    [good] = await harness.say("/set timezone America/Mexico_City", user="ana")
    assert bad.startswith('"Mars/Olympus" is not a time zone I know.')
    assert good == 'Setting timezone is now "America/Mexico_City".'
    [summary] = await harness.say("/settings", user="ana")
    assert "Time zone: America/Mexico_City" in summary


async def test_new_group_is_registered_as_a_community_on_first_event(harness: Harness) -> None:
    replies = await harness.dispatch(CommandInvoked(origin("u1"), "whoami", ""))
    assert replies[0].startswith("You are **U1**".replace("**", ""))
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, "-1001")
    assert community is not None and community.title == "Water and sanitation CoP"


async def test_platform_admin_is_treated_as_moderator_when_configured(harness: Harness) -> None:
    replies = await harness.dispatch(CommandInvoked(origin("boss", admin=True), "members", ""))
    assert replies[0].startswith("1 member")


async def test_configured_admin_may_run_every_command(harness: Harness) -> None:
    harness.app.services.settings = type(harness.app.services.settings)(
        admins=frozenset({(Platform.TELEGRAM, "root")})
    )
    replies = await harness.dispatch(CommandInvoked(origin("root"), "settings", ""))
    assert "Time zone: UTC" in replies[0]


async def test_messages_from_bots_are_ignored(harness: Harness) -> None:
    replies = await harness.dispatch(CommandInvoked(origin("otherbot", is_bot=True), "help", ""))
    assert replies == []
    async with harness.app.uow_factory() as uow:
        assert await uow.members.identity(Platform.TELEGRAM, "otherbot") is None


async def test_redelivered_message_is_recorded_once_and_edits_not_at_all(
    harness: Harness,
) -> None:
    message = MessageReceived(origin("u1", event="m-42"), "hello all")
    await harness.dispatch(message)
    await harness.dispatch(message)
    await harness.dispatch(MessageReceived(origin("u1", event="m-42e"), "hello!", is_edit=True))
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, "-1001")
        assert community is not None
        posted = await uow.ledger.count(community.id, ParticipationKind.MESSAGE_POSTED)
    assert posted == 1


async def test_link_joins_two_platform_identities_into_one_person(harness: Harness) -> None:
    [issued] = await harness.dispatch(
        CommandInvoked(origin("111", direct=True, chat="111"), "link", "")
    )
    code = issued.split("/link ")[1].split()[0]
    slack_origin = origin("U222", platform=Platform.SLACK, chat="C1")
    [done] = await harness.dispatch(CommandInvoked(slack_origin, "link", code))
    assert done == "Accounts linked. You now have 2 linked accounts."
    async with harness.app.uow_factory() as uow:
        telegram = await uow.members.identity(Platform.TELEGRAM, "111")
        slack = await uow.members.identity(Platform.SLACK, "U222")
    assert telegram is not None and slack is not None
    assert telegram.person_id == slack.person_id


async def test_link_code_is_single_use_and_expires(harness: Harness) -> None:
    [issued] = await harness.dispatch(
        CommandInvoked(origin("111", direct=True, chat="111"), "link", "")
    )
    code = issued.split("/link ")[1].split()[0]
    harness.clock.advance(minutes=16)
    slack_origin = origin("U222", platform=Platform.SLACK, chat="C1")
    [expired] = await harness.dispatch(CommandInvoked(slack_origin, "link", code))
    [reused] = await harness.dispatch(CommandInvoked(slack_origin, "link", code))
    assert expired.startswith("That link code is unknown or has expired.")
    assert reused.startswith("That link code is unknown or has expired.")


async def test_hostile_values_stay_literal_text_in_replies(harness: Harness) -> None:
    await harness.community()
    [reply] = await harness.say("/lang <b>**@here**</b>")
    body = harness.messenger.sent[-1][1].body
    assert '"<b>**@here**</b>" is not a valid language' in reply
    assert all(span.style.value != "bold" for block in body.blocks for span in block.spans)


async def test_bot_added_registers_the_community_and_guides_the_person_who_added_it(
    harness: Harness,
) -> None:
    replies = await harness.dispatch(
        BotAdded(origin("owner", admin=True), can_read_all_messages=False)
    )
    assert replies[0].startswith("Hello! I am now the facilitator of Water and sanitation CoP.")
    assert "make me an administrator of the group" in replies[1]
    # Privately, where Telegram says nothing of who administers the group, the role given
    # when the bot was added is what counts.
    private = origin("owner", event="e2", direct=True, chat="owner")
    [listing] = await harness.dispatch(CommandInvoked(private, "members", ""))
    assert "Owner: moderator" in listing


async def test_bot_removed_keeps_the_data_and_marks_the_community_inactive(
    harness: Harness,
) -> None:
    await harness.dispatch(MessageReceived(origin("u1", event="m1"), "hi"))
    assert await harness.dispatch(BotRemoved(origin("owner", event="e9"))) == []
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, "-1001")
        assert community is not None and not community.active
        assert await uow.ledger.count(community.id) == 1


async def test_a_group_that_becomes_a_supergroup_keeps_its_data(harness: Harness) -> None:
    await harness.dispatch(MessageReceived(origin("u1", event="m1"), "hi"))
    await harness.dispatch(ConversationMoved(origin("u1", event="mig"), "-100999"))
    async with harness.app.uow_factory() as uow:
        assert await uow.communities.by_chat(Platform.TELEGRAM, "-1001") is None
        moved = await uow.communities.by_chat(Platform.TELEGRAM, "-100999")
        assert moved is not None and await uow.ledger.count(moved.id) == 1


async def test_a_newcomer_is_welcomed_once_even_if_the_join_is_redelivered(
    harness: Harness,
) -> None:
    joined = MemberJoined(
        origin("u1", event="join-1"), PlatformUser(Platform.TELEGRAM, "77", "Lucía", "es")
    )
    first = await harness.dispatch(joined)
    again = await harness.dispatch(joined)
    assert first == [
        "¡Te damos la bienvenida a Water and sanitation CoP, Lucía! Esta es una comunidad de "
        "práctica: aprendemos del trabajo de los demás.\nPreséntate: tu organización, tu país y "
        "en qué tienes experiencia. Envía /help para ver cómo puedo ayudarte."
    ]
    assert again == []


# -- where a command may run (`CommandSpec.needs`) --------------------------------------------


async def test_a_group_only_command_sent_privately_is_refused_in_the_members_language(
    harness: Harness,
) -> None:
    # Ana writes in the group, so privately her community is that one: still, a poll is
    # posted where it is created, so it has to be created in the group.
    await harness.dispatch(MessageReceived(origin("ana", event="m1", locale="es"), "hola"))
    privately = origin("ana", event="c1", direct=True, chat="ana", locale="es")
    [refused] = await harness.dispatch(
        CommandInvoked(privately, "poll", '"¿Qué día?" Lunes Martes')
    )
    assert refused == (
        "Esto funciona dentro del chat de una comunidad. Envíalo en tu grupo o canal."
    )
    destination, message = harness.messenger.sent[-1]
    assert destination.user_id == "ana" and message.ephemeral
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, "-1001")
        assert community is not None
        assert await uow.repo(PollRepository).latest_open(community.id) is None


async def test_a_community_command_is_refused_privately_without_any_community(
    harness: Harness,
) -> None:
    privately = origin("rui", direct=True, chat="rui", locale="pt-BR")
    [refused] = await harness.dispatch(CommandInvoked(privately, "webinars", ""))
    assert refused == (
        "Isso funciona dentro do chat de uma comunidade. Envie no seu grupo ou canal."
    )
    assert harness.messenger.sent[-1][1].ephemeral


async def test_a_community_command_runs_privately_for_the_community_last_written_in(
    harness: Harness,
) -> None:
    await harness.dispatch(MessageReceived(origin("ana", event="m1"), "hello"))
    privately = origin("ana", event="c1", direct=True, chat="ana", locale="en")
    [listed] = await harness.dispatch(CommandInvoked(privately, "webinars", ""))
    assert listed.startswith("No webinars are scheduled.")


async def test_wrong_arguments_are_explained_before_the_place_is_checked(
    harness: Harness,
) -> None:
    # As before the check moved into the engine: the usage first, then where it runs.
    privately = origin("rui", direct=True, chat="rui", locale="en")
    [usage] = await harness.dispatch(CommandInvoked(privately, "checkin", ""))
    [refused] = await harness.dispatch(CommandInvoked(privately, "checkin", "ABC123"))
    assert usage.startswith("Something is missing: code.")
    assert refused.startswith("This works inside a community chat.")


async def test_coordinator_sets_the_language_and_title_and_members_see_them(
    harness: Harness,
) -> None:
    await harness.grant("ana", Role.COORDINATOR)
    await harness.say("hello", user="bruno", locale=None)  # no language of his own
    [language] = await harness.say("/set language pt", user="ana")
    [title] = await harness.say('/set title "Rede <Água> & Saneamento"', user="ana")
    [refused] = await harness.say("/set title Mine", user="bruno", locale=None)
    assert language == 'Setting language is now "pt".'
    assert title == 'Setting title is now "Rede <Água> & Saneamento".'
    assert refused.startswith("Desculpe, /set exige o papel")  # Bruno now reads Portuguese
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_key("demo")
    assert community is not None
    assert (community.language, community.title) == ("pt", "Rede <Água> & Saneamento")
