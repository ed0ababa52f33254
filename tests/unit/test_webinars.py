"""Webinars: announcement with RSVPs and a calendar file, reminders in each member's time,
check-in, feedback, recording, and moving or cancelling with notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from facilitator.commands.spec import ArgumentError
from facilitator.domain.events import ButtonPressed, Origin
from facilitator.domain.model import ParticipationKind, Platform, PlatformUser, Role
from facilitator.features.knowledge.domain import ItemType
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.webinars.parsing import parse_webinar
from facilitator.features.webinars.ports import WebinarRepository
from facilitator.markup import OutboundMessage
from tests.conftest import Harness

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
# 3 December 2026, 15:00 in Santiago (UTC-3 in summer) is 18:00 UTC.
STARTS = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
ADD = '/webinar add "Water safety plans" 2026-12-03 15:00 https://meet.example.org/w dora #water'


def test_a_webinar_line_is_understood_in_the_given_or_the_communitys_time_zone() -> None:
    draft = parse_webinar(
        '"Climate finance" 2026-12-03 15:00 America/Mexico_City https://x.org/a Ana Pérez #clima',
        NOW,
        "America/Santiago",
    )
    assert draft.starts_at == datetime(2026, 12, 3, 21, 0, tzinfo=UTC)
    assert (draft.timezone, draft.link, draft.speaker, draft.theme) == (
        "America/Mexico_City",
        "https://x.org/a",
        "Ana Pérez",
        "clima",
    )
    local = parse_webinar('"T" 2026-12-03 15:00', NOW, "America/Santiago")
    assert (local.starts_at, local.timezone) == (STARTS, "America/Santiago")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ('"T" 2026-10-01 15:00', "webinars.errors.past"),
        ('"T" 2026-12-03', "webinars.errors.when"),
        ('"T" tomorrow 15:00', "webinars.errors.when"),
        ('"T" 2026-12-03 15:00 Mars/Base', "community.set.bad_timezone"),
        ('"" 2026-12-03 15:00', "webinars.errors.title"),
    ],
)
def test_bad_webinar_input_names_what_to_fix(raw: str, key: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        parse_webinar(raw, NOW, "UTC")
    assert caught.value.key == key


def press(harness: Harness, user: str, action: str, value: str) -> ButtonPressed:
    harness.seq += 1
    origin = Origin(
        platform=Platform.CONSOLE,
        event_id=f"press:{harness.seq}",
        chat_id="demo",
        user=PlatformUser(Platform.CONSOLE, user, user.title(), "en"),
        occurred_at=harness.clock.now(),
    )
    return ButtonPressed(origin, action, value)


async def announced(harness: Harness) -> OutboundMessage:
    await harness.community()
    await harness.say("hello", user="dora")  # the speaker is a member
    await harness.grant("mod", Role.MODERATOR)
    [created] = await harness.say(ADD, user="mod")
    assert created.startswith("Webinar #1 is announced. Its check-in code is")
    await harness.app.dispatcher.dispatch_due()
    return harness.messenger.sent[-1][1]


async def deliver(harness: Harness) -> list[tuple[str, str]]:
    before = len(harness.messenger.sent)
    await harness.app.dispatcher.dispatch_due()
    return [(d.chat_id, m.body.plain()) for d, m in harness.messenger.sent[before:]]


async def test_the_announcement_has_rsvp_buttons_and_a_calendar_file(harness: Harness) -> None:
    message = await announced(harness)
    assert message.body.plain().splitlines()[:5] == [
        "📅 Webinar: Water safety plans",
        "2026-12-03 15:00 (America/Santiago), 60 minutes",
        "Speaker: dora",
        "Link: https://meet.example.org/w",
        "Theme: #water",
    ]
    assert [b.value for row in message.buttons for b in row] == ["1:going", "1:maybe", "1:no"]
    assert message.attachment is not None and message.attachment.mime_type == "text/calendar"
    [event] = Calendar.from_ical(message.attachment.content).walk("VEVENT")
    assert event.decoded("dtstart") == STARTS
    assert event.decoded("dtend") == STARTS + timedelta(hours=1)
    assert str(event["summary"]) == "Water safety plans"
    assert str(event["uid"]) == "webinar-1@facilitator"


async def test_reminders_reach_those_who_answered_in_their_own_time(harness: Harness) -> None:
    await announced(harness)
    [going] = await harness.dispatch(press(harness, "bea", "webinar_rsvp", "1:going"))
    await harness.say("/timezone Europe/Madrid", user="carla")
    await harness.dispatch(press(harness, "carla", "webinar_rsvp", "1:maybe"))
    await harness.dispatch(press(harness, "ed", "webinar_rsvp", "1:no"))
    assert going.startswith("Noted: you are going to “Water safety plans” on 2026-12-03 15:00")
    harness.clock.current = STARTS - timedelta(hours=24, seconds=1)
    assert await deliver(harness) == []
    harness.clock.current = STARTS - timedelta(hours=24)
    reminders = dict(await deliver(harness))
    assert reminders == {
        "bea": "⏰ Water safety plans starts in 24 hours, at 2026-12-03 15:00 your time "
        "(America/Santiago).\nLink: https://meet.example.org/w",
        "carla": "⏰ Water safety plans starts in 24 hours, at 2026-12-03 19:00 your time "
        "(Europe/Madrid).\nLink: https://meet.example.org/w",
    }
    harness.clock.current = STARTS - timedelta(hours=1)
    later = dict(await deliver(harness))
    assert set(later) == {"bea", "carla"}
    assert later["carla"].startswith("⏰ Water safety plans starts in 1 hour, at 2026-12-03 19:00")
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_key("demo")
        assert community is not None
        assert await uow.ledger.count(community.id, ParticipationKind.WEBINAR_RSVP.value) == 2


async def test_check_in_feedback_and_presenter_credit(harness: Harness) -> None:
    await announced(harness)
    await harness.dispatch(press(harness, "bea", "webinar_rsvp", "1:going"))
    async with harness.app.uow_factory() as uow:
        webinar = await uow.repo(WebinarRepository).get(1)
    assert webinar is not None
    [early] = await harness.say(f"/checkin {webinar.checkin_code}", user="bea")
    assert early.startswith("No webinar of this community is open for check-in")
    harness.clock.current = STARTS
    sent = await deliver(harness)
    opened = [text for chat, text in sent if text.startswith("🎥")]
    assert opened == [
        f"🎥 Water safety plans is starting! Check in with the button below, or send "
        f"/checkin {webinar.checkin_code}."
    ]
    [done] = await harness.dispatch(press(harness, "bea", "webinar_checkin", "1"))
    [again] = await harness.say(f"/checkin {webinar.checkin_code.lower()}", user="bea")
    [code] = await harness.say(f"/checkin {webinar.checkin_code}", user="carla")
    assert done == "Welcome to “Water safety plans”: your attendance is recorded."
    assert again == "You have already checked in to “Water safety plans”."
    assert code == done
    harness.clock.current = STARTS + timedelta(hours=1)
    after = await deliver(harness)
    texts = [text for _, text in after]
    assert texts[0].startswith("Thank you for joining Water safety plans! 2 people checked in.")
    assert texts[1].startswith("📊 How useful was “Water safety plans”?")
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_key("demo")
        assert community is not None
        ledger = {
            kind: await uow.ledger.count(community.id, kind.value)
            for kind in (ParticipationKind.WEBINAR_ATTENDED, ParticipationKind.WEBINAR_PRESENTED)
        }
    assert ledger == {
        ParticipationKind.WEBINAR_ATTENDED: 2,
        ParticipationKind.WEBINAR_PRESENTED: 1,
    }


async def test_moving_a_webinar_tells_those_who_answered_and_moves_the_reminders(
    harness: Harness,
) -> None:
    await announced(harness)
    await harness.dispatch(press(harness, "bea", "webinar_rsvp", "1:going"))
    [moved] = await harness.say("/webinar move 1 2026-12-10 15:00", user="mod")
    assert moved.startswith("Webinar #1 now starts on 2026-12-10 15:00 (America/Santiago)")
    sent = await deliver(harness)
    assert (
        "bea",
        "“Water safety plans”, which you answered, has a new date: 2026-12-10 15:00 "
        "your time (America/Santiago). If that no longer suits you, change your answer "
        "under the new announcement.",
    ) in sent
    assert any(text.startswith("📅 New date for the webinar") for _, text in sent)
    harness.clock.current = STARTS - timedelta(hours=24)
    assert await deliver(harness) == []  # the old reminders are gone
    harness.clock.current = STARTS + timedelta(days=7) - timedelta(hours=24)
    assert [chat for chat, _ in await deliver(harness)] == ["bea"]


async def test_cancelling_a_webinar_tells_those_who_answered_and_stops_everything(
    harness: Harness,
) -> None:
    await announced(harness)
    await harness.dispatch(press(harness, "bea", "webinar_rsvp", "1:going"))
    [done] = await harness.say("/webinar cancel 1", user="mod")
    assert done == "Webinar #1 “Water safety plans” is cancelled; those who answered are told."
    sent = await deliver(harness)
    assert (
        "bea",
        "“Water safety plans” (2026-12-03 15:00 your time, America/Santiago), "
        "which you answered, is cancelled.",
    ) in sent
    group = (
        harness.messenger.sent[-2][1] if sent[-1][0] == "bea" else harness.messenger.sent[-1][1]
    )
    assert group.attachment is not None
    [event] = Calendar.from_ical(group.attachment.content).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED"
    harness.clock.current = STARTS + timedelta(hours=2)
    assert await deliver(harness) == []
    [listed] = await harness.say("/webinars", user="bea")
    assert listed.startswith("No webinars are scheduled.")


async def test_the_recording_is_filed_in_the_repository(harness: Harness) -> None:
    await announced(harness)
    [upcoming] = await harness.say("/webinars", user="bea")
    assert upcoming.splitlines() == [
        "Upcoming webinars (times in America/Santiago):",
        "• #1 Water safety plans: 2026-12-03 15:00, 0 going",
    ]
    [filed] = await harness.say("/webinar recording 1 https://video.example.org/1", user="mod")
    assert filed.startswith("The recording of “Water safety plans” is in the repository as #")
    item_id = int(filed.split("#")[1].split(":")[0])
    async with harness.app.uow_factory() as uow:
        item = await uow.repo(KnowledgeRepository).get(item_id)
    assert item is not None and item.type is ItemType.RECORDING
    assert (item.url, item.theme) == ("https://video.example.org/1", "water")


async def test_a_running_webinar_is_listed_with_its_link_and_a_check_in_button(
    harness: Harness,
) -> None:
    await announced(harness)
    await harness.say('/webinar add "Later talk" 2026-12-10 15:00', user="mod")
    harness.clock.current = STARTS + timedelta(minutes=20)
    [listed] = await harness.say("/webinars", user="bea")
    assert listed.splitlines() == [
        "On now (times in America/Santiago):",
        "• #1 Water safety plans: from 2026-12-03 15:00 to 2026-12-03 16:00. Check in with "
        "the button below.",
        "Link: https://meet.example.org/w",
        "Upcoming webinars (times in America/Santiago):",
        "• #2 Later talk: 2026-12-10 15:00, 0 going",
    ]
    message = harness.messenger.sent[-1][1]
    [[button]] = message.buttons
    assert (button.label, button.action, button.value) == (
        "I am here (#1)",
        "webinar_checkin",
        "1",
    )
    [done] = await harness.dispatch(press(harness, "bea", button.action, button.value))
    assert done == "Welcome to “Water safety plans”: your attendance is recorded."
    harness.clock.current = STARTS + timedelta(hours=1)  # over
    [after] = await harness.say("/webinars", user="bea")
    assert after.splitlines()[0] == "Upcoming webinars (times in America/Santiago):"
    assert "Water safety plans" not in after


async def test_an_answer_just_before_the_start_promises_only_the_reminders_ahead(
    harness: Harness,
) -> None:
    await announced(harness)
    harness.clock.current = STARTS - timedelta(hours=2)
    [two_hours] = await harness.dispatch(press(harness, "bea", "webinar_rsvp", "1:going"))
    assert two_hours.endswith("(America/Santiago). I will remind you 1 hour before.")
    harness.clock.current = STARTS - timedelta(minutes=1)
    [minute] = await harness.dispatch(press(harness, "carla", "webinar_rsvp", "1:maybe"))
    assert "remind you" not in minute
    assert minute.endswith(
        "It starts within the hour, too soon for a reminder: /webinars shows its link when "
        "it is on."
    )


@pytest.mark.parametrize(
    ("hours_ahead", "promise", "not_promised"),
    [
        (48, "a reminder 24 hours and 1 hour before", "within the hour"),
        (3, "a reminder 1 hour before", "24 hours"),
        (0.5, "it starts within the hour", "reminder"),
    ],
)
async def test_the_announcement_promises_only_the_reminders_still_ahead(
    harness: Harness, hours_ahead: float, promise: str, not_promised: str
) -> None:
    await harness.community()
    await harness.grant("mod", Role.MODERATOR)
    starts = (NOW + timedelta(hours=hours_ahead)).astimezone(ZoneInfo("America/Santiago"))
    await harness.say(f'/webinar add "Soon" {starts:%Y-%m-%d %H:%M}', user="mod")
    await harness.app.dispatcher.dispatch_due()
    announcement = harness.messenger.sent[-1][1].body.plain()
    assert "Soon" in announcement
    assert promise in announcement
    assert not_promised not in announcement
