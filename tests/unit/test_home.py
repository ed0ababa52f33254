"""The member's overview (Slack's Home tab): their standing, upcoming webinars and open polls of
their communities with the buttons to answer, and the forms their role allows."""

from __future__ import annotations

from facilitator.domain.events import (
    BotAdded,
    ButtonPressed,
    CommandInvoked,
    InboundEvent,
    Origin,
)
from facilitator.domain.model import Platform, PlatformUser
from facilitator.features.home.commands import OPEN_FORM_ACTION
from facilitator.markup import OutboundMessage
from tests.conftest import Harness

CHANNEL = "C0WATER"


def origin(harness: Harness, user: str, chat: str = CHANNEL, *, admin: bool = False) -> Origin:
    harness.seq += 1
    direct = chat != CHANNEL
    return Origin(
        platform=Platform.SLACK,
        event_id=f"e:{harness.seq}",
        chat_id=chat,
        user=PlatformUser(Platform.SLACK, user, user.lower(), "en-US", is_platform_admin=admin),
        occurred_at=harness.clock.now(),
        chat_title=None if direct else "water",
        is_direct=direct,
        message_id=f"interaction:{harness.seq}.trigger",
    )


async def run(harness: Harness, event: InboundEvent) -> OutboundMessage:
    before = len(harness.messenger.sent)
    await harness.dispatch(event)
    return harness.messenger.sent[before:][-1][1]


async def home(harness: Harness, user: str) -> OutboundMessage:
    return await run(harness, CommandInvoked(origin(harness, user, f"home:{user}"), "home", ""))


async def community_with_a_webinar_and_a_poll(harness: Harness) -> None:
    # The channel is registered by its first event; the channel's administrator who adds the
    # bot moderates it.
    await harness.dispatch(BotAdded(origin(harness, "U0MOD", admin=True)))
    await harness.dispatch(
        CommandInvoked(
            origin(harness, "U0MOD"), "webinar", 'add "Agua segura" 2026-12-03 15:00 #agua'
        )
    )
    await harness.dispatch(
        CommandInvoked(origin(harness, "U0BEA"), "poll", '"Lunch or dinner?" Lunch Dinner')
    )


async def test_the_overview_shows_standing_webinars_polls_and_the_forms_the_role_allows(
    harness: Harness,
) -> None:
    await community_with_a_webinar_and_a_poll(harness)

    member = await home(harness, "U0BEA")
    moderator = await home(harness, "U0MOD")

    lines = member.body.plain().splitlines()
    assert lines[0] == "👋 Hello, u0bea! Here is what is going on in your communities."
    assert lines[1] == "water · member"
    assert lines[2].startswith("Your participation: ")
    assert "📅 Agua segura: 2026-12-03 15:00 (UTC)" in lines
    assert "📊 Lunch or dinner?" in lines
    sections = member.sections
    labels = [[[b.label for b in row] for row in s.buttons] for s in sections]
    assert labels[1] == [["New poll"]]  # a member may run /poll, not /webinar add or /faq add
    assert [["✅ Going", "🤔 Maybe", "❌ Not going"]] in labels
    assert [["Lunch", "Dinner"]] in labels
    assert [[b.label for b in row] for row in moderator.sections[1].buttons] == [
        ["New poll", "New webinar", "New FAQ item"]
    ]
    assert member.ephemeral


async def test_an_opted_out_member_sees_no_score(harness: Harness) -> None:
    await community_with_a_webinar_and_a_poll(harness)
    await harness.dispatch(CommandInvoked(origin(harness, "U0BEA"), "optout", "tracking"))

    overview = await home(harness, "U0BEA")

    text = overview.body.plain()
    assert "Your participation" not in text
    assert "You opted out of participation tracking" in text


async def test_answers_given_from_the_overview_count_in_their_community(
    harness: Harness,
) -> None:
    await community_with_a_webinar_and_a_poll(harness)
    # A direct conversation: the buttons act on the community of the poll and the webinar.
    vote = ButtonPressed(origin(harness, "U0BEA", "U0BEA"), "poll_vote", "1:1")
    rsvp = ButtonPressed(origin(harness, "U0BEA", "U0BEA"), "webinar_rsvp", "1:going")
    stranger = ButtonPressed(origin(harness, "U0EVE", "U0EVE"), "poll_vote", "1:0")

    voted = await run(harness, vote)
    answered = await run(harness, rsvp)
    refused = await run(harness, stranger)
    overview = await home(harness, "U0BEA")

    assert voted.body.plain().startswith("Your vote on “Lunch or dinner?”: Dinner.")
    assert answered.body.plain().startswith("Noted: you are going to “Agua segura”")
    assert refused.body.plain() == harness.app.services.catalogue.text("en", "errors.stale_button")
    lines = overview.body.plain().splitlines()
    assert "Your vote: Dinner" in lines and "Your answer: ✅ Going" in lines


async def test_a_form_button_offers_the_form_for_its_community_to_those_allowed(
    harness: Harness,
) -> None:
    await community_with_a_webinar_and_a_poll(harness)
    async with harness.app.uow_factory() as uow:
        water = await uow.communities.by_chat(Platform.SLACK, CHANNEL)
    assert water is not None

    def press(user: str, path: str) -> ButtonPressed:
        return ButtonPressed(origin(harness, user, user), OPEN_FORM_ACTION, f"{path} {water.id}")

    offered = await run(harness, press("U0MOD", "webinar.add"))
    refused = await run(harness, press("U0BEA", "webinar.add"))
    poll = await run(harness, press("U0BEA", "poll"))

    assert offered.form is not None and offered.form.form_id == "form:webinar.add"
    assert offered.form.conversation == CHANNEL
    timezone = next(f for f in offered.form.fields if f.name == "timezone")
    assert timezone.initial == water.timezone and timezone.options[0].value == water.timezone
    assert offered.body.plain().startswith("Usage: /webinar add")
    assert refused.form is None
    assert refused.body.plain().startswith("Sorry, /webinar add is for the moderator role")
    assert poll.form is not None and poll.form.conversation == CHANNEL
