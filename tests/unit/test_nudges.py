"""Nudges and member profiles: who gets what, when, and never twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from facilitator.domain.errors import RecipientUnreachable
from facilitator.domain.events import (
    CommandInvoked,
    MemberJoined,
    MessageReceived,
    Origin,
    ReplyTarget,
)
from facilitator.domain.model import Community, Platform, PlatformUser, Role
from facilitator.features.nudges.config import NudgeConfig
from facilitator.features.nudges.quiet import after_quiet_hours
from facilitator.features.nudges.service import Nudges
from facilitator.localtime import local
from facilitator.markup import Destination, OutboundMessage, Style
from facilitator.scheduling import fire_times
from tests.conftest import Harness

GROUP = "-100777"


def nudges(harness: Harness) -> Nudges:
    found = harness.app.services.feature(Nudges)
    assert isinstance(found, Nudges)
    return found


def person(user: str, platform: Platform = Platform.TELEGRAM) -> PlatformUser:
    return PlatformUser(platform, user, user.title(), "en")


def origin(
    harness: Harness,
    user: str,
    n: int,
    *,
    direct: bool = False,
    platform: Platform = Platform.TELEGRAM,
    chat: str = GROUP,
) -> Origin:
    return Origin(
        platform=platform,
        event_id=f"{platform}:{user}:{n}:{harness.clock.now().isoformat()}",
        chat_id=user if direct else chat,
        user=person(user, platform),
        occurred_at=harness.clock.now(),
        chat_title="Water network",
        is_direct=direct,
        message_id=str(n),
    )


async def post(harness: Harness, user: str, n: int, text: str = "Hello all") -> None:
    await harness.dispatch(MessageReceived(origin(harness, user, n), text))


async def join(harness: Harness, user: str, platform: Platform = Platform.TELEGRAM) -> None:
    chat = GROUP if platform is Platform.TELEGRAM else "C0WATER"
    event_origin = origin(harness, "admin", 0, platform=platform, chat=chat)
    await harness.dispatch(MemberJoined(event_origin, person(user, platform)))


async def command(harness: Harness, user: str, text: str, *, direct: bool = False) -> list[str]:
    name, _, args = text.lstrip("/").partition(" ")
    return await harness.dispatch(
        CommandInvoked(origin(harness, user, harness.seq, direct=direct), name, args)
    )


async def community(harness: Harness, chat: str = GROUP) -> Community:
    async with harness.app.uow_factory() as uow:
        found = await uow.communities.by_chat(Platform.TELEGRAM, chat)
    assert found is not None
    return found


async def configure(harness: Harness, **values: object) -> Community:
    current = await community(harness)
    config = NudgeConfig.of(current)
    for name, value in values.items():
        config = config.with_value(name, str(value))
    updated = replace(current, settings={**current.settings, "nudges": config.stored()})
    async with harness.app.uow_factory() as uow:
        await uow.communities.update(updated)
        await uow.commit()
    return updated


async def make_moderator(harness: Harness, user: str) -> None:
    current = await community(harness)
    async with harness.app.uow_factory() as uow:
        member = await uow.members.ensure(person(user), harness.clock.now())
        await uow.members.set_role(
            member.person_id, current.id, Role.MODERATOR, harness.clock.now()
        )
        await uow.commit()


async def deliver(harness: Harness) -> list[tuple[str, str]]:
    """Dispatch what is due; (chat, text) of what went out."""
    before = len(harness.messenger.sent)
    await harness.app.dispatcher.dispatch_due()
    return [(d.chat_id, m.body.plain()) for d, m in harness.messenger.sent[before:]]


def mentioned(harness: Harness) -> list[list[str]]:
    return [
        [s.user_id or "" for b in m.body.blocks for s in b.spans if s.style is Style.MENTION]
        for _, m in harness.messenger.sent
    ]


# -- profiles ---------------------------------------------------------------------------------


async def test_intro_records_a_profile_that_whois_and_experts_show(harness: Harness) -> None:
    await post(harness, "ana", 1)
    await post(harness, "bea", 2)
    [saved] = await command(
        harness, "ana", '/intro "Banco del Agua" Chile "water utilities, climate finance"'
    )
    [shown] = await command(harness, "bea", "/whois ana")
    [found] = await command(harness, "bea", "/experts water")
    [nobody] = await command(harness, "bea", "/experts astronomy")
    [empty] = await command(harness, "ana", "/whois bea")
    assert saved.startswith("Thank you, Ana!")
    assert shown == "Ana: Banco del Agua, Chile. Knows about: water utilities, climate finance."
    assert found.splitlines() == [
        "Who knows about water (from profiles, contributions and answers):",
        "• Ana (Banco del Agua, Chile)",
    ]
    assert nobody.startswith("I do not know anyone for astronomy yet.")
    assert empty == "Bea has not introduced themselves yet (/intro)."


async def test_experts_leaves_out_members_who_opted_out_of_tracking(harness: Harness) -> None:
    await post(harness, "ana", 1)
    await post(harness, "bea", 2)
    await command(harness, "ana", '/intro "Banco del Agua" Chile "water utilities"')
    [found] = await command(harness, "bea", "/experts water")
    assert "• Ana (Banco del Agua, Chile)" in found.splitlines()
    await command(harness, "ana", "/optout tracking")
    [gone] = await command(harness, "bea", "/experts water")
    assert gone.startswith("I do not know anyone for water yet.")
    await command(harness, "ana", "/optin tracking")
    [back] = await command(harness, "bea", "/experts water")
    assert "• Ana (Banco del Agua, Chile)" in back.splitlines()


async def test_people_who_answered_questions_of_a_theme_count_as_its_experts(
    harness: Harness,
) -> None:
    await post(harness, "ana", 1, "How do we price water tariffs for small utilities?")
    await harness.dispatch(
        MessageReceived(
            origin(harness, "carlos", 2),
            "We use an increasing block tariff.",
            reply_to=ReplyTarget("1", "ana"),
        )
    )
    [found] = await command(harness, "bea", "/experts tariffs")
    assert "• Carlos" in found.splitlines()


async def test_members_choose_their_time_zone(harness: Harness) -> None:
    await post(harness, "ana", 1)
    [default] = await command(harness, "ana", "/timezone")
    [bad] = await command(harness, "ana", "/timezone Mars/Olympus")
    [done] = await command(harness, "ana", "/timezone America/Bogota")
    [now] = await command(harness, "ana", "/timezone")
    assert default.startswith("You have not chosen a time zone, so I use the community's: UTC.")
    assert bad.startswith('"Mars/Olympus" is not a time zone I know.')
    assert done == "Done: I will use America/Bogota for your reminders and quiet hours."
    assert now.startswith("Your time zone is America/Bogota.")


# -- welcome ----------------------------------------------------------------------------------


async def test_a_newcomer_on_slack_gets_a_private_welcome_with_intro(harness: Harness) -> None:
    await harness.dispatch(
        MessageReceived(
            origin(harness, "UADMIN", 0, platform=Platform.SLACK, chat="C0WATER"), "hi"
        )
    )
    await join(harness, "UNEW", Platform.SLACK)
    group_welcome = harness.messenger.texts()[-1]
    [(chat, text)] = await deliver(harness)
    assert group_welcome.startswith("Welcome to Water network, Unew!")
    assert chat == "UNEW"
    assert text.startswith("Welcome to Water network, Unew!")
    assert "/intro" in text and "/faq" in text
    await join(harness, "UNEW", Platform.SLACK)
    assert await deliver(harness) == []  # welcomed once


async def test_telegram_newcomers_who_never_started_the_bot_get_no_private_message(
    harness: Harness,
) -> None:
    await post(harness, "admin", 0)
    await join(harness, "501")
    assert await deliver(harness) == []


# -- the daily scan ---------------------------------------------------------------------------


async def test_silent_newcomers_are_followed_up_once_privately_or_in_one_group_mention(
    harness: Harness,
) -> None:
    await post(harness, "admin", 0)
    for user in ("501", "502", "503"):
        await join(harness, user)
    await command(harness, "501", "/start", direct=True)  # 501 opened a private chat
    harness.clock.advance(days=2)
    await post(harness, "503", 10, "Hello, I work on sanitation")
    harness.clock.advance(days=5)
    assert await nudges(harness).scan((await community(harness)).id, harness.clock.now()) == 2
    sent = await deliver(harness)
    assert [chat for chat, _ in sent] == ["501", GROUP]
    assert sent[0][1].startswith("Hi 501! You joined Water network 7 days ago")
    assert mentioned(harness)[-1] == ["502"]
    harness.clock.advance(days=1)
    assert await nudges(harness).scan((await community(harness)).id, harness.clock.now()) == 0


async def test_a_silent_member_who_was_active_is_re_engaged_once_per_silence(
    harness: Harness,
) -> None:
    await command(harness, "601", "/start", direct=True)
    for n in range(3):
        await post(harness, "601", 20 + n)
    community_id = (await community(harness)).id
    harness.clock.advance(days=29)
    assert await nudges(harness).scan(community_id, harness.clock.now()) == 0
    harness.clock.advance(days=1)
    assert await nudges(harness).scan(community_id, harness.clock.now()) == 1
    [(chat, text)] = await deliver(harness)
    assert chat == "601" and text.startswith("Hi 601, we have missed you in Water network!")
    harness.clock.advance(days=1)
    assert await nudges(harness).scan(community_id, harness.clock.now()) == 0


async def test_the_same_kind_of_nudge_waits_for_the_cap(harness: Harness) -> None:
    await command(harness, "601", "/start", direct=True)
    for n in range(3):
        await post(harness, "601", 20 + n)
    await configure(harness, reengage_days=10, cap_days=30)
    community_id = (await community(harness)).id
    harness.clock.advance(days=10)
    assert await nudges(harness).scan(community_id, harness.clock.now()) == 1
    harness.clock.advance(days=1)
    for n in range(3):  # back, then silent again: a new silence, but inside the cap
        await post(harness, "601", 30 + n)
    harness.clock.advance(days=10)
    assert await nudges(harness).scan(community_id, harness.clock.now()) == 0
    harness.clock.advance(days=18)  # 29 days after the first nudge
    assert await nudges(harness).scan(community_id, harness.clock.now()) == 0
    harness.clock.advance(days=1)
    assert await nudges(harness).scan(community_id, harness.clock.now()) == 1


async def test_members_who_opt_out_of_nudges_get_none(harness: Harness) -> None:
    await command(harness, "601", "/start", direct=True)
    for n in range(3):
        await post(harness, "601", 20 + n)
    [done] = await command(harness, "601", "/optout nudges", direct=True)
    harness.clock.advance(days=31)
    assert await nudges(harness).scan((await community(harness)).id, harness.clock.now()) == 0
    assert done.startswith("Done: I will not send you reminders")


async def test_a_nudge_due_at_night_waits_for_the_members_morning(harness: Harness) -> None:
    await command(harness, "601", "/start", direct=True)
    await command(harness, "601", "/timezone Europe/Madrid", direct=True)
    for n in range(3):
        await post(harness, "601", 20 + n)
    community_id = (await community(harness)).id
    harness.clock.current = datetime(2026, 12, 3, 22, 30, tzinfo=UTC)  # 23:30 in Madrid
    assert await nudges(harness).scan(community_id, harness.clock.now()) == 1
    assert await deliver(harness) == []
    harness.clock.current = datetime(2026, 12, 4, 6, 59, tzinfo=UTC)
    assert await deliver(harness) == []
    harness.clock.current = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)  # 08:00 in Madrid
    assert [chat for chat, _ in await deliver(harness)] == ["601"]


def test_quiet_hours_end_at_the_local_morning_across_a_daylight_saving_change() -> None:
    window = NudgeConfig().quiet
    # Santiago moves its clocks forward on the night of 5 to 6 September 2026.
    night = datetime(2026, 9, 6, 2, 0, tzinfo=UTC)  # 22:00 on the 5th in Santiago (UTC-4)
    wake = after_quiet_hours(night, "America/Santiago", window)
    assert local(wake, "America/Santiago").strftime("%Y-%m-%d %H:%M") == "2026-09-06 08:00"
    assert wake == datetime(2026, 9, 6, 11, 0, tzinfo=UTC)  # UTC-3 by then
    noon = datetime(2026, 9, 6, 15, 0, tzinfo=UTC)
    assert after_quiet_hours(noon, "America/Santiago", window) == noon


# -- approval ---------------------------------------------------------------------------------


async def test_with_approval_on_nudges_wait_for_a_coordinator(harness: Harness) -> None:
    for user in ("601", "602"):
        await command(harness, user, "/start", direct=True)
        for n in range(3):
            await post(harness, user, 20 + n + int(user))
    await configure(harness, approval="on")
    await make_moderator(harness, "mod")
    current = await community(harness)
    async with harness.app.uow_factory() as uow:
        coordinator = await uow.members.ensure(person("coord"), harness.clock.now())
        await uow.members.set_role(
            coordinator.person_id, current.id, Role.COORDINATOR, harness.clock.now()
        )
        await uow.commit()
    harness.clock.advance(days=31)
    assert await nudges(harness).scan(current.id, harness.clock.now()) == 2
    assert await deliver(harness) == []
    [listing] = await command(harness, "mod", "/nudges pending")
    lines = listing.splitlines()
    assert lines[0].startswith("2 nudges waiting for approval")
    first_id = lines[1].split()[1].lstrip("#")
    [refused] = await command(harness, "mod", f"/nudges approve {first_id}")
    [approved] = await command(harness, "coord", f"/nudges approve {first_id}")
    [skipped] = await command(harness, "coord", "/nudges skip all")
    assert refused.startswith("Sorry, /nudges approve is for the coordinator role")
    assert approved == "Approved 1 nudge: it goes out at its time."
    assert skipped == "Skipped 1 nudge."
    assert len(await deliver(harness)) == 1
    [empty] = await command(harness, "coord", "/nudges pending")
    assert empty == "No nudges are waiting for approval."


async def test_coordinators_change_nudge_settings_with_checks(harness: Harness) -> None:
    await post(harness, "ana", 1)
    current = await community(harness)
    async with harness.app.uow_factory() as uow:
        member = await uow.members.ensure(person("ana"), harness.clock.now())
        await uow.members.set_role(
            member.person_id, current.id, Role.COORDINATOR, harness.clock.now()
        )
        await uow.commit()
    [bad] = await command(harness, "ana", "/nudges set reengage_days 1")
    [quiet] = await command(harness, "ana", "/nudges set quiet_hours 22:30-7")
    [done] = await command(harness, "ana", "/nudges set reengage_days 45")
    [status] = await command(harness, "ana", "/nudges")
    assert bad.startswith('"1" is not a valid value. Choose one of: 3-365.')
    assert quiet == 'Setting quiet_hours is now "22:30-7".'
    assert done == 'Setting reengage_days is now "45".'
    assert "(reengage): on, after 45 days (reengage_days)" in status
    assert "quiet hours 22:30-7" in status


# -- unanswered questions ---------------------------------------------------------------------


async def test_an_unanswered_question_pings_the_expert_then_the_moderators_never_twice(
    harness: Harness,
) -> None:
    for n, user in enumerate(("ana", "bea", "carlos", "dora")):
        await post(harness, user, n + 1)
    await command(harness, "bea", '/intro "Aguas Andinas" Chile "water, sanitation"')
    await command(harness, "carlos", '/intro "BID" Peru "transport"')
    await make_moderator(harness, "dora")
    await post(harness, "ana", 10, "Who has a good template for water safety plans?")
    job = nudges(harness)
    harness.clock.advance(hours=23)
    assert await job.check_unanswered(harness.clock.now()) == 0
    harness.clock.advance(hours=1)
    assert await job.check_unanswered(harness.clock.now()) == 1
    [(chat, text)] = await deliver(harness)
    bea = await member_id(harness, "bea")
    assert chat == GROUP and mentioned(harness)[-1] == [bea]
    assert "has been waiting 24 hours" in text
    assert harness.messenger.sent[-1][0].reply_to_message_id == "10"
    harness.clock.advance(hours=23)
    assert await job.check_unanswered(harness.clock.now()) == 0
    harness.clock.advance(hours=1)
    assert await job.check_unanswered(harness.clock.now()) == 1
    await deliver(harness)
    assert mentioned(harness)[-1] == [await member_id(harness, "dora")]
    harness.clock.advance(hours=24)
    assert await job.check_unanswered(harness.clock.now()) == 0


async def test_an_answered_question_pings_nobody(harness: Harness) -> None:
    await post(harness, "ana", 1, "Who has a good template for water safety plans?")
    await command(harness, "bea", '/intro "Aguas" Chile "water"')
    await harness.dispatch(
        MessageReceived(
            origin(harness, "carlos", 2), "Here: ...", reply_to=ReplyTarget("1", "ana")
        )
    )
    harness.clock.advance(hours=30)
    assert await nudges(harness).check_unanswered(harness.clock.now()) == 0


async def member_id(harness: Harness, user: str) -> str:
    async with harness.app.uow_factory() as uow:
        member = await uow.members.identity(Platform.TELEGRAM, user)
    assert member is not None
    return member.platform_user_id


# -- schedules --------------------------------------------------------------------------------


def test_a_daily_scan_fires_at_local_time_on_both_sides_of_a_daylight_saving_change() -> None:
    start = datetime(2026, 9, 4, 0, 0, tzinfo=UTC)
    end = start + timedelta(days=4)
    santiago = fire_times("0 10 * * *", "America/Santiago", start, end)
    mexico = fire_times("0 10 * * *", "America/Mexico_City", start, end)
    assert [t.strftime("%d %H:%M") for t in santiago] == [
        "04 14:00",
        "05 14:00",
        "06 13:00",  # clocks went forward that night: 10:00 is now UTC-3
        "07 13:00",
    ]
    assert [t.strftime("%d %H:%M") for t in mexico] == [f"0{d} 16:00" for d in range(4, 8)]


async def test_each_community_gets_one_scan_job_with_a_stable_id(harness: Harness) -> None:
    await post(harness, "ana", 1)
    await configure(harness, scan_at="09:30")
    jobs = await nudges(harness).scan_jobs()
    assert [(j.job_id, j.cron, j.timezone) for j in jobs] == [
        (f"nudges:scan:telegram:{GROUP}", "30 9 * * *", "UTC")
    ]


async def test_someone_who_blocked_the_bot_is_mentioned_in_the_group_from_then_on(
    harness: Harness,
) -> None:
    class Blocked:
        async def send(self, destination: Destination, message: OutboundMessage) -> str | None:
            if destination.chat_id == "601":
                raise RecipientUnreachable("Forbidden: bot was blocked by the user")
            return await harness.messenger.send(destination, message)

    harness.app.sender.messengers[Platform.TELEGRAM] = Blocked()
    await command(harness, "601", "/start", direct=True)
    for n in range(3):
        await post(harness, "601", 20 + n)
    await configure(harness, reengage_days=10, cap_days=0)
    community_id = (await community(harness)).id
    harness.clock.advance(days=10)
    assert await nudges(harness).scan(community_id, harness.clock.now()) == 1
    await deliver(harness)
    await deliver(harness)
    assert [d.chat_id for d, _ in harness.messenger.sent[-1:]] == [GROUP]  # the fallback
    for n in range(3):
        await post(harness, "601", 40 + n)
    harness.clock.advance(days=10)
    assert await nudges(harness).scan(community_id, harness.clock.now()) == 1
    sent = await deliver(harness)
    assert [chat for chat, _ in sent] == [GROUP]  # straight to the group this time
    assert mentioned(harness)[-1] == ["601"]
