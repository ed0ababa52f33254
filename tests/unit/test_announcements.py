"""Announcements: a moderator posts to the group now or at a time in the community's zone, in
several languages; members who opted in get a private copy in their language, outside their
quiet hours, and nobody else does; moderators list and cancel what is still to come."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from facilitator.commands.arguments import ArgumentError
from facilitator.commands.forms import FORM_PREFIX
from facilitator.domain.events import ButtonPressed, MemberLeft, Origin
from facilitator.domain.model import Community, DataSubject, Platform, PlatformUser, Role
from facilitator.domain.outbox import OutboxRecord, OutboxStatus
from facilitator.features.announcements.commands import LISTED
from facilitator.features.announcements.domain import AnnouncementDraft, AnnouncementStatus
from facilitator.features.announcements.parsing import parse_announcement
from facilitator.features.announcements.ports import AnnouncementRepository
from facilitator.features.announcements.service import COPY_KIND, JOB, POST_KIND
from facilitator.markup import Style
from tests.conftest import Harness, prompt_words

WORDS = prompt_words()
# The harness's clock: 2026-11-02 12:00 UTC, 09:00 in America/Santiago (UTC-3).
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SANTIAGO = "America/Santiago"


def parse(raw: str, language: str = "en") -> AnnouncementDraft:
    return parse_announcement(raw, NOW, SANTIAGO, language, WORDS)


# -- parsing ----------------------------------------------------------------------------------


def test_a_time_a_pin_and_versions_per_language_are_read() -> None:
    draft = parse(
        "at tomorrow 09:00 pin Meeting moved to room 4\nsecond line\nes: Reunión en la sala 4"
    )
    assert draft.when == datetime(2026, 11, 3, 12, 0, tzinfo=UTC)  # 09:00 in Santiago
    assert draft.pin is True and draft.targets == ()
    assert dict(draft.versions) == {
        "en": "Meeting moved to room 4\nsecond line",
        "es": "Reunión en la sala 4",
    }
    assert list(draft.versions) == ["en", "es"]


def test_spanish_and_portuguese_words_are_read_too() -> None:
    spanish = parse("fijar mañana 18:30 Hola a todos", "es")
    assert spanish.pin and spanish.when == datetime(2026, 11, 3, 21, 30, tzinfo=UTC)
    assert dict(spanish.versions) == {"es": "Hola a todos"}
    portuguese = parse("para:lisboa,porto às 10:00 Olá\nen: Hello", "pt")
    assert portuguese.targets == ("lisboa", "porto")
    assert portuguese.when == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # today, still to come
    assert dict(portuguese.versions) == {"pt": "Olá", "en": "Hello"}
    assert parse("to:red hoy 23:00 x").targets == ("network",)
    a_las = parse("a las 18:00 Reunión", "es")
    assert a_las.when == datetime(2026, 11, 2, 21, 0, tzinfo=UTC)
    assert dict(a_las.versions) == {"es": "Reunión"}


def test_a_time_that_has_passed_today_means_tomorrow_and_a_date_is_read() -> None:
    assert parse("at 08:00 Early").when == datetime(2026, 11, 3, 11, 0, tzinfo=UTC)
    assert parse("at 2026-12-08 18:30 Party").when == datetime(2026, 12, 8, 21, 30, tzinfo=UTC)


def test_words_that_only_look_like_a_time_stay_the_text() -> None:
    assert parse("10:00 sharp, everyone!").when is None
    assert dict(parse("Tomorrow we meet").versions) == {"en": "Tomorrow we meet"}
    assert dict(parse("at the meeting we vote").versions) == {"en": "at the meeting we vote"}
    assert dict(parse("A todos: hola", "es").versions) == {"es": "A todos: hola"}
    assert dict(parse("es: Hola\nen: Hi").versions) == {"es": "Hola", "en": "Hi"}


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("at tomorrow Meeting", "announcements.errors.when"),
        ("at 25:00 Meeting", "announcements.errors.when"),
        ("today 08:00 Meeting", "announcements.errors.past"),
        ("at 2028-01-01 10:00 x", "announcements.errors.too_far"),
        ("pin", "announcements.errors.empty"),
        ("Hi\nes: Hola\nes: Hola otra vez", "announcements.errors.twice"),
        ("to: Hi", "announcements.errors.targets"),
        ("to:<b>x</b> Hi", "announcements.errors.targets"),
    ],
)
def test_what_cannot_be_read_is_explained(raw: str, key: str) -> None:
    with pytest.raises(ArgumentError) as error:
        parse(raw)
    assert error.value.key == key


# -- helpers ----------------------------------------------------------------------------------


async def outbox(harness: Harness, kind: str | None = None) -> list[OutboxRecord]:
    async with harness.app.uow_factory() as uow:
        rows = await uow.outbox.listing(None, list(OutboxStatus), 500)
    return sorted((r for r in rows if kind is None or r.kind == kind), key=lambda r: r.id)


async def subscribe(harness: Harness, *users: str) -> None:
    for user in users:
        [said] = await harness.say("/announce subscribe", user=user)
        assert "private copy of Demo network's announcements" in said


async def other_community(harness: Harness) -> Community:
    async with harness.app.uow_factory() as uow:
        found = await uow.communities.add(
            key="other",
            platform=Platform.CONSOLE,
            chat_id="other",
            title="Other circle",
            timezone="Europe/Madrid",
            language="es",
            settings={},
            now=harness.clock.now(),
        )
        await uow.commit()
    return found


# -- scheduling and posting -------------------------------------------------------------------


async def test_a_scheduled_announcement_is_posted_once_with_copies_to_those_who_opted_in(
    harness: Harness,
) -> None:
    await harness.grant("mona", Role.MODERATOR)
    await subscribe(harness, "ana", "beto")
    await harness.say("/lang es", user="beto", locale="es")
    await harness.say("Hello all", user="cruz")  # a member who did not opt in
    [told] = await harness.say(
        "/announce at tomorrow 09:00 Meeting on Friday\nes: Reunión el viernes", user="mona"
    )
    assert told == (
        "Announcement #1 for Demo network is scheduled for 2026-11-03 09:00 "
        "(America/Santiago). /announce cancel 1 cancels it."
    )
    assert await harness.job(JOB) == 0  # not yet
    assert await outbox(harness) == []
    harness.clock.advance(hours=24)
    assert await harness.job(JOB) == 1
    assert await harness.job(JOB) == 0  # once

    [post] = await outbox(harness, POST_KIND)
    assert post.destination.chat_id == "demo" and not post.destination.is_direct
    assert post.message.body.plain() == (
        "📣 Announcement · Demo network\nEnglish\nMeeting on Friday\nEspañol\nReunión el viernes"
    )
    copies = {
        r.destination.chat_id: r.message.body.plain() for r in await outbox(harness, COPY_KIND)
    }
    assert copies == {
        "ana": "📣 Announcement from Demo network\nMeeting on Friday",
        "beto": "📣 Anuncio de Demo network\nReunión el viernes",
    }
    # 09:00 in Santiago is outside the default quiet hours (21-8): they go out at once.
    assert {r.due_at for r in await outbox(harness, COPY_KIND)} == {harness.clock.now()}
    harness.messenger.clear()
    await harness.app.dispatcher.dispatch_due()
    sent = {d.chat_id for d, _ in harness.messenger.sent}
    assert sent == {"demo", "ana", "beto"}
    async with harness.app.uow_factory() as uow:
        stored = await uow.repo(AnnouncementRepository).get(1)
    assert stored is not None and stored.status is AnnouncementStatus.SENT


async def test_without_a_time_it_is_posted_at_once_in_the_communitys_language_first(
    harness: Harness,
) -> None:
    await harness.community(language="es")
    await harness.grant("mona", Role.MODERATOR)
    # Text before any language mark is in the community's language, Spanish here.
    [told] = await harness.say("/announce Picnic el domingo\nen: Picnic on Sunday", user="mona")
    assert told == "Announcement #1 is on its way to Demo network."
    [post] = await outbox(harness, POST_KIND)
    assert post.message.body.plain() == (
        "📣 Anuncio · Demo network\nEspañol\nPicnic el domingo\nEnglish\nPicnic on Sunday"
    )
    assert post.message.pin is False


async def test_a_plain_member_is_refused_in_their_language_and_nothing_is_stored(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.community()
    await harness.say("/lang es", user="zoe", locale="es")
    with caplog.at_level(logging.WARNING):
        [refused] = await harness.say("/announce Free pizza", user="zoe", locale="es")
    assert refused.startswith("Lo siento, /announce requiere el rol de moderación")
    assert any(r.getMessage() == "command refused for lack of role" for r in caplog.records)
    [cancel_refused] = await harness.say("/announce cancel 1", user="zoe", locale="es")
    assert cancel_refused.startswith("Lo siento, /announce cancel requiere")
    async with harness.app.uow_factory() as uow:
        assert await uow.repo(AnnouncementRepository).scheduled(1, 10) == []
    assert await outbox(harness) == []


async def test_list_shows_what_is_scheduled_in_the_communitys_zone(harness: Harness) -> None:
    await harness.grant("mona", Role.MODERATOR)
    await harness.say("/announce at 2026-11-10 18:00 pin Second", user="mona")
    await harness.say("/announce at tomorrow 09:30 First", user="mona")
    [listed] = await harness.say("/announce list", user="mona")
    assert listed == (
        "Scheduled announcements: 2 (times in America/Santiago)\n"
        "• #2 2026-11-03 09:30: “First”\n"
        "• #1 2026-11-10 18:00, pinned: “Second”"
    )
    await harness.say("/announce cancel 2", user="mona")
    [after] = await harness.say("/announce list", user="mona")
    assert "#2" not in after and "#1" in after


async def test_the_lists_count_is_every_scheduled_row_even_beyond_those_shown(
    harness: Harness,
) -> None:
    await harness.grant("mona", Role.MODERATOR)
    for n in range(LISTED + 3):
        await harness.say(f"/announce at 2026-11-{5 + n % 20:02d} 10:00 Item {n}", user="mona")
    await harness.say("/announce cancel 4", user="mona")
    await harness.say("/announce Now", user="mona")  # posted at once: not scheduled
    [listed] = await harness.say("/announce list", user="mona")
    async with harness.app.uow_factory() as uow:
        raw = await uow.session.execute(  # type: ignore[attr-defined]
            text(
                "SELECT status, COUNT(*) FROM announcements WHERE community_id = 1 GROUP BY status"
            )
        )
        counts = dict(raw.all())
    assert counts == {"scheduled": LISTED + 2, "cancelled": 1, "sent": 1}
    lines = listed.splitlines()
    assert (
        lines[0] == f"Scheduled announcements: {counts['scheduled']} (times in America/Santiago)"
    )
    assert len([line for line in lines if line.startswith("• #")]) == LISTED
    assert lines[-1] == f"… and {counts['scheduled'] - LISTED} more."


async def test_cancel_takes_only_this_communitys_scheduled_announcements(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.grant("mona", Role.MODERATOR)
    other = await other_community(harness)
    async with harness.app.uow_factory() as uow:
        theirs = await uow.repo(AnnouncementRepository).add(
            other.id, 1, {"es": "De otra comunidad"}, NOW + timedelta(days=1), False, NOW
        )
        await uow.commit()
    assert theirs.id == 1
    await harness.say("/announce at tomorrow 10:00 Ours", user="mona")
    [refused] = await harness.say("/announce cancel 1", user="mona")
    assert refused == "There is no scheduled announcement #1 here."
    [forged] = await harness.say("/announce cancel 99", user="mona")
    assert forged == "There is no scheduled announcement #99 here."
    [done] = await harness.say("/announce cancel 2", user="mona")
    assert done == "Announcement #2 is cancelled: it will not be posted."
    [again] = await harness.say("/announce cancel 2", user="mona")
    assert again == "There is no scheduled announcement #2 here."
    harness.clock.advance(days=2)
    # The other community's still goes out; the cancelled one never does.
    assert await harness.job(JOB) == 1
    [post] = await outbox(harness, POST_KIND)
    assert post.destination.chat_id == "other"


async def test_a_copy_due_in_someones_night_waits_for_their_morning(harness: Harness) -> None:
    await harness.grant("mona", Role.MODERATOR)
    await subscribe(harness, "ana", "kenji")
    await harness.say("/timezone Asia/Tokyo", user="kenji")  # 09:00 in Santiago: 21:00 there
    await harness.say("/announce Workshop today", user="mona")
    rows = {r.destination.chat_id: r for r in await outbox(harness, COPY_KIND)}
    assert rows["ana"].due_at == NOW
    # Quiet hours 21-8 in Tokyo: 08:00 there is 23:00 UTC.
    assert rows["kenji"].due_at == datetime(2026, 11, 2, 23, 0, tzinfo=UTC)
    assert rows["kenji"].is_nudge  # so an opt-out meanwhile is respected when it comes due
    harness.messenger.clear()
    await harness.app.dispatcher.dispatch_due()
    assert {d.chat_id for d, _ in harness.messenger.sent} == {"demo", "ana"}
    harness.clock.advance(hours=11)
    await harness.app.dispatcher.dispatch_due()
    assert "kenji" in {d.chat_id for d, _ in harness.messenger.sent}


async def test_a_waiting_copy_is_dropped_if_its_reader_unsubscribes_meanwhile(
    harness: Harness,
) -> None:
    await harness.grant("mona", Role.MODERATOR)
    await subscribe(harness, "kenji", "yuki")
    for user in ("kenji", "yuki"):
        await harness.say("/timezone Asia/Tokyo", user=user)
    await harness.say("/announce Workshop today", user="mona")
    [said] = await harness.say("/announce unsubscribe", user="kenji")
    assert said == "You will no longer get private copies of Demo network's announcements."
    harness.clock.advance(hours=12)
    harness.messenger.clear()
    await harness.app.dispatcher.dispatch_due()
    assert {d.chat_id for d, _ in harness.messenger.sent} == {"demo", "yuki"}
    statuses = {r.destination.chat_id: r.status for r in await outbox(harness, COPY_KIND)}
    assert statuses == {"kenji": OutboxStatus.SKIPPED, "yuki": OutboxStatus.SENT}


async def test_who_left_or_opted_out_gets_no_copy_and_nobody_is_mentioned_instead(
    harness: Harness,
) -> None:
    await harness.grant("mona", Role.MODERATOR)
    await subscribe(harness, "ana", "dora", "otto")
    await harness.say("/optout nudges", user="otto")
    community = await harness.community()
    harness.seq += 1
    await harness.dispatch(
        MemberLeft(
            Origin(Platform.CONSOLE, f"left:{harness.seq}", "demo", _user("dora"), NOW),
            _user("dora"),
        )
    )
    await harness.say("/announce at tomorrow 09:00 News", user="mona")
    harness.clock.advance(days=1)
    assert await harness.job(JOB) == 1
    copies = [r.destination.chat_id for r in await outbox(harness, COPY_KIND)]
    assert copies == ["ana"]
    [post] = await outbox(harness, POST_KIND)
    assert all(span.user_id is None for b in post.message.body.blocks for span in b.spans)
    # Dora comes back: a member again, still subscribed, so the next one reaches her.
    await harness.say("Back again", user="dora")
    await harness.say("/announce More news", user="mona")
    copies = [r.destination.chat_id for r in await outbox(harness, COPY_KIND)]
    assert sorted(copies) == ["ana", "ana", "dora"]
    assert community.id == 1


def _user(name: str) -> PlatformUser:
    return PlatformUser(Platform.CONSOLE, name, name.title(), "en")


async def test_markup_dollars_and_equals_in_the_text_stay_literal(harness: Harness) -> None:
    await harness.grant("mona", Role.MODERATOR)
    await subscribe(harness, "ana")
    hostile = "**not bold** <b>x</b> `code` $HOME =SUM(A1) @here [link](http://x.y) {community}"
    await harness.say(f"/announce {hostile}", user="mona")
    [post] = await outbox(harness, POST_KIND)
    [copy] = await outbox(harness, COPY_KIND)
    for message in (post.message, copy.message):
        [line] = [b for b in message.body.blocks if hostile in b.plain()]
        assert line.spans[0].text == hostile and line.spans[0].style is Style.PLAIN
        assert len(line.spans) == 1


async def test_pin_travels_with_the_group_post_only(harness: Harness) -> None:
    await harness.grant("mona", Role.MODERATOR)
    await subscribe(harness, "ana")
    await harness.say("/announce pin Read the rules", user="mona")
    [post] = await outbox(harness, POST_KIND)
    [copy] = await outbox(harness, COPY_KIND)
    assert post.message.pin is True and copy.message.pin is False


# -- several communities ----------------------------------------------------------------------


async def test_several_communities_need_a_coordinator_in_every_one(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.community()
    other = await other_community(harness)
    await harness.grant("cora", Role.COORDINATOR)  # of the demo community only
    with caplog.at_level(logging.WARNING):
        [refused] = await harness.say("/announce to:demo,other Hello both", user="cora")
    assert refused == (
        "Only coordinators announce to several communities, and you are not one in "
        "Other circle: nothing was announced."
    )
    assert any(r.getMessage() == "announcement refused for lack of role" for r in caplog.records)
    [unknown] = await harness.say("/announce to:demo,nowhere Hello", user="cora")
    assert unknown == "No community is called nowhere: nothing was announced."
    await harness.app.roles.grant(Platform.CONSOLE, "cora", Role.COORDINATOR, "other")
    [told] = await harness.say("/announce to:network Hello both\nes: Hola a ambas", user="cora")
    assert told == (
        "Announcement #1 is on its way to Demo network.\n"
        "Announcement #2 is on its way to Other circle."
    )
    posts = {
        r.destination.chat_id: r.message.body.plain() for r in await outbox(harness, POST_KIND)
    }
    assert posts["other"].startswith("📣 Anuncio · Other circle\nEspañol\nHola a ambas\nEnglish")
    assert posts["demo"].startswith("📣 Announcement · Demo network\nEnglish\nHello both")
    assert other.id == 2


# -- once, whatever the number of workers -----------------------------------------------------


async def test_two_workers_post_a_due_announcement_once(any_harness: Harness) -> None:
    harness = any_harness
    await harness.grant("mona", Role.MODERATOR)
    await subscribe(harness, "ana")
    for n in range(3):
        await harness.say(f"/announce at tomorrow 09:0{n} Number {n}", user="mona")
    harness.clock.advance(days=1, minutes=5)
    [job] = [j for j in harness.app.jobs if j.job_id == JOB]
    results = await asyncio.gather(job.run(harness.clock.now()), job.run(harness.clock.now()))
    assert sum(int(r or 0) for r in results) == 3
    posts = await outbox(harness, POST_KIND)
    assert len(posts) == 3 == len({p.dedup_key for p in posts})
    assert len(await outbox(harness, COPY_KIND)) == 3


async def test_the_claim_is_won_once_and_not_after_a_cancellation(any_harness: Harness) -> None:
    community = await any_harness.community()
    await any_harness.say("Hello", user="mona")  # the author: person 1
    async with any_harness.app.uow_factory() as uow:
        repo = uow.repo(AnnouncementRepository)
        first = await repo.add(community.id, 1, {"en": "a"}, NOW, False, NOW)
        second = await repo.add(community.id, 1, {"en": "b"}, NOW, False, NOW)
        await uow.commit()
    assert first.id is not None and second.id is not None
    async with any_harness.app.uow_factory() as uow:
        repo = uow.repo(AnnouncementRepository)
        assert [a.id for a in await repo.due(NOW, 10)] == [first.id, second.id]
        assert await repo.claim(first.id, NOW) is True
        assert await repo.claim(first.id, NOW) is False
        assert await repo.cancel(second.id, community.id) is True
        assert await repo.claim(second.id, NOW) is False
        assert await repo.due(NOW, 10) == []
        await uow.commit()


# -- a person's data --------------------------------------------------------------------------


async def test_mydata_and_forgetme_cover_announcements_and_subscriptions(
    harness: Harness,
) -> None:
    await harness.grant("mona", Role.MODERATOR)
    await subscribe(harness, "mona")
    await harness.say("/announce at tomorrow 09:00 Later", user="mona")
    async with harness.app.uow_factory() as uow:
        mona = await uow.members.identity(Platform.CONSOLE, "mona")
        assert mona is not None
        subject = DataSubject(mona.person_id, (mona,))
        repo = uow.repo(AnnouncementRepository)
        exported = await repo.export_person(subject)
        assert exported["announcements_written"][0]["versions"]["texts"] == {"en": "Later"}
        assert len(exported["announcement_subscriptions"]) == 1
        erased = await repo.forget_person(subject)
        await uow.commit()
    assert erased == {
        "announcements_cancelled": 1,
        "announcements_written": 1,
        "announcement_subscriptions": 1,
    }
    async with harness.app.uow_factory() as uow:
        stored = await uow.repo(AnnouncementRepository).get(1)
    assert stored is not None
    assert stored.author_id is None and stored.status is AnnouncementStatus.CANCELLED


# -- the form ---------------------------------------------------------------------------------


async def test_the_form_posts_to_the_network_in_spanish_words_and_refuses_a_member(
    harness: Harness,
) -> None:
    await harness.community()
    await other_community(harness)
    await harness.app.roles.grant(Platform.CONSOLE, "olga", Role.ADMIN)  # every community
    fields: dict[str, object] = {
        "en": "Network call <b>$1</b>",
        "es": "Llamada de la red",
        "date": "2026-11-03",
        "time": "10:00",
        "options": ["pin"],
        "to": "red",  # `network`, as a Spanish speaker writes it
    }
    [refused] = await harness.dispatch(submit(harness, "zoe", "announce", fields))
    assert refused.startswith("Lo siento, /announce requiere el rol de moderación")
    [told] = await harness.dispatch(submit(harness, "olga", "announce", fields))
    assert told.splitlines() == [
        "El anuncio #1 para Demo network está programado para el 2026-11-03 10:00 "
        "(America/Santiago). /announce cancel 1 lo cancela.",
        # The same moment, shown in the other community's own zone.
        "El anuncio #2 para Other circle está programado para el 2026-11-03 14:00 "
        "(Europe/Madrid). /announce cancel 2 lo cancela.",
    ]
    async with harness.app.uow_factory() as uow:
        repo = uow.repo(AnnouncementRepository)
        stored = [await repo.get(1), await repo.get(2)]
    # The form's date and time are read in the zone of the community it was opened in.
    assert {a.due_at for a in stored if a is not None} == {
        datetime(2026, 11, 3, 13, 0, tzinfo=UTC)
    }
    assert all(a is not None and a.pin for a in stored)


async def test_an_empty_form_is_explained_with_the_usage(harness: Harness) -> None:
    await harness.grant("mona", Role.MODERATOR)
    [said] = await harness.dispatch(submit(harness, "mona", "announce", {"date": "2026-11-03"}))
    assert said.startswith("No entiendo la hora")
    [empty] = await harness.dispatch(submit(harness, "mona", "announce", {}))
    assert empty.startswith("Escribe el texto del anuncio.")


def submit(harness: Harness, user: str, path: str, fields: dict[str, object]) -> ButtonPressed:
    """A submitted form, as a platform that draws forms hands it to the core."""
    harness.seq += 1
    origin = Origin(
        platform=Platform.CONSOLE,
        event_id=f"submit:{harness.seq}",
        chat_id="demo",
        user=PlatformUser(Platform.CONSOLE, user, user.title(), "es"),
        occurred_at=harness.clock.now(),
    )
    value = json.dumps({"fields": fields, "metadata": json.dumps({"channel": "demo"})})
    return ButtonPressed(origin, FORM_PREFIX + path, value)
