"""A simulated month in two communities, across Santiago's daylight-saving change.

The frozen clock moves hour by hour from 24 August to 24 September 2026. Each hour runs what
the scheduler would: every community's daily scan when its cron line fires in its own time
zone (`fire_times`, the trigger APScheduler uses), the unanswered-question check, and the
outbox dispatcher. Santiago moves its clocks forward on 6 September; Mexico City has had no
daylight saving time since 2022.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from facilitator.domain.events import (
    ButtonPressed,
    CommandInvoked,
    MemberJoined,
    MessageReceived,
    Origin,
)
from facilitator.domain.model import Community, Platform, PlatformUser, Role
from facilitator.domain.outbox import OutboxRecord, OutboxStatus
from facilitator.features.nudges.config import NudgeConfig
from facilitator.features.nudges.quiet import in_window
from facilitator.features.nudges.service import Nudges
from facilitator.localtime import local
from facilitator.markup import Style
from facilitator.scheduling import fire_times
from tests.conftest import Harness

START = datetime(2026, 8, 24, 0, 0, tzinfo=UTC)
END = datetime(2026, 9, 24, 0, 0, tzinfo=UTC)
SANTIAGO, MEXICO = "-1001001", "C0MEX"
SANTIAGO_TZ, MEXICO_TZ = "America/Santiago", "America/Mexico_City"

Action = Callable[[], Awaitable[object]]


def at(zone: str, day: int, hour: int, month: int = 9) -> datetime:
    """A local wall time, as UTC."""
    return datetime(2026, month, day, hour, 0, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@dataclass
class Month:
    harness: Harness
    actions: list[tuple[datetime, Action]] = field(default_factory=list)
    scans: list[tuple[str, datetime]] = field(default_factory=list)
    seq: int = 0

    @property
    def nudges(self) -> Nudges:
        found = self.harness.app.services.feature(Nudges)
        assert isinstance(found, Nudges)
        return found

    def on(self, moment: datetime, action: Action) -> None:
        self.actions.append((moment, action))

    def _origin(self, platform: Platform, chat: str, user: str, direct: bool) -> Origin:
        self.seq += 1
        return Origin(
            platform=platform,
            event_id=f"{platform}:{self.seq}",
            chat_id=user if direct else chat,
            user=PlatformUser(platform, user, user.title(), "es"),
            occurred_at=self.harness.clock.now(),
            chat_title=chat,
            is_direct=direct,
            message_id=str(self.seq),
        )

    def post(self, moment: datetime, platform: Platform, chat: str, user: str, text: str) -> None:
        async def action() -> object:
            event = MessageReceived(self._origin(platform, chat, user, False), text)
            return await self.harness.dispatch(event)

        self.on(moment, action)

    def command(
        self,
        moment: datetime,
        platform: Platform,
        chat: str,
        user: str,
        text: str,
        direct: bool = False,
    ) -> None:
        name, _, args = text.lstrip("/").partition(" ")

        async def action() -> object:
            origin = self._origin(platform, chat, user, direct)
            return await self.harness.dispatch(CommandInvoked(origin, name, args))

        self.on(moment, action)

    def press(
        self, moment: datetime, platform: Platform, chat: str, user: str, action: str, value: str
    ) -> None:
        async def action_() -> object:
            origin = self._origin(platform, chat, user, False)
            return await self.harness.dispatch(ButtonPressed(origin, action, value))

        self.on(moment, action_)

    def join(self, moment: datetime, platform: Platform, chat: str, user: str) -> None:
        async def action() -> object:
            origin = self._origin(platform, chat, user, False)  # joined by invite link
            newcomer = PlatformUser(platform, user, user.title(), "es")
            return await self.harness.dispatch(MemberJoined(origin, newcomer))

        self.on(moment, action)

    async def run(self) -> None:
        clock = self.harness.clock
        clock.current = START
        previous = START - timedelta(hours=1)
        pending = sorted(self.actions, key=lambda pair: pair[0])
        while clock.current <= END:
            now = clock.current
            while pending and pending[0][0] <= now:
                await pending.pop(0)[1]()
            for job in await self.nudges.scan_jobs():
                for fire in fire_times(job.cron, job.timezone, previous, now):
                    self.scans.append((job.job_id, fire))
                    await job.run(fire)
            await self.nudges.check_unanswered(now)
            await self.harness.app.dispatcher.dispatch_due()
            previous = now
            clock.current = now + timedelta(hours=1)


async def setup_community(
    harness: Harness, platform: Platform, chat: str, zone: str, **nudges: object
) -> Community:
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(platform, chat)
        assert community is not None
        config = NudgeConfig.of(community)
        for name, value in nudges.items():
            config = config.with_value(name, str(value))
        community = replace(
            community,
            timezone=zone,
            language="es",
            settings={**community.settings, "nudges": config.stored()},
        )
        await uow.communities.update(community)
        await uow.commit()
    return community


async def set_role(harness: Harness, platform: Platform, user: str, chat: str, role: Role) -> None:
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(platform, chat)
        member = await uow.members.identity(platform, user)
        assert community is not None and member is not None
        await uow.members.set_role(member.person_id, community.id, role, harness.clock.now())
        await uow.commit()


@dataclass(frozen=True)
class Sent:
    kind: str
    chat: str
    at: datetime
    mentions: tuple[str, ...]
    reply_to: str | None


def sent(record: OutboxRecord) -> Sent:
    assert record.sent_at is not None
    mentions = tuple(
        span.user_id or ""
        for block in record.message.body.blocks
        for span in block.spans
        if span.style is Style.MENTION
    )
    return Sent(
        record.kind,
        record.destination.chat_id,
        record.sent_at,
        mentions,
        record.destination.reply_to_message_id,
    )


async def test_a_month_in_two_time_zones_sends_each_nudge_once_at_the_right_local_time(
    harness: Harness,
) -> None:
    # The daylight-saving change the month crosses, as the time zone database has it.
    assert ZoneInfo(SANTIAGO_TZ).utcoffset(datetime(2026, 9, 5, 12)) == timedelta(hours=-4)
    assert ZoneInfo(SANTIAGO_TZ).utcoffset(datetime(2026, 9, 7, 12)) == timedelta(hours=-3)
    assert ZoneInfo(MEXICO_TZ).utcoffset(datetime(2026, 9, 5, 12)) == timedelta(hours=-6)
    assert ZoneInfo(MEXICO_TZ).utcoffset(datetime(2026, 9, 7, 12)) == timedelta(hours=-6)

    month = Month(harness)
    tg, slack = Platform.TELEGRAM, Platform.SLACK
    aug24 = datetime(2026, 8, 24, 10, 0, tzinfo=UTC)
    # Santiago, on Telegram: the bot may write privately only to people who started it.
    for user in ("mod", "ana", "fer"):
        month.post(aug24, tg, SANTIAGO, user, "Hola a todos")
    month.command(aug24, tg, SANTIAGO, "mod", "/start", direct=True)
    month.command(aug24, tg, SANTIAGO, "ana", "/start", direct=True)
    month.command(aug24, tg, SANTIAGO, "ana", '/intro "Aguas Andinas" Chile "agua, saneamiento"')
    month.post(aug24 + timedelta(hours=1), tg, SANTIAGO, "ana", "Compartimos el informe anual")
    month.post(aug24 + timedelta(hours=2), tg, SANTIAGO, "ana", "Gracias por los comentarios")
    aug25 = datetime(2026, 8, 25, 12, 0, tzinfo=UTC)
    for user in ("bea", "carl", "dai", "eli"):
        month.join(aug25, tg, SANTIAGO, user)
    month.command(aug25, tg, SANTIAGO, "carl", "/start", direct=True)
    month.command(aug25, tg, SANTIAGO, "dai", "/start", direct=True)
    month.command(aug25, tg, SANTIAGO, "dai", "/timezone Asia/Tokyo", direct=True)
    month.command(aug25, tg, SANTIAGO, "eli", "/optout nudges", direct=True)
    month.post(
        at(SANTIAGO_TZ, 4, 15),
        tg,
        SANTIAGO,
        "fer",
        "¿Alguien tiene una plantilla de plan de seguridad del agua potable?",
    )
    # Mexico City, on Slack, where coordinators approve every nudge first.
    for user in ("UCOORD", "UGIL"):
        month.post(aug24, slack, MEXICO, user, "Hola")
    month.post(aug24 + timedelta(hours=1), slack, MEXICO, "UGIL", "Les comparto la guía")
    month.post(aug24 + timedelta(hours=2), slack, MEXICO, "UGIL", "¿Vieron el taller?")
    aug26 = datetime(2026, 8, 26, 16, 0, tzinfo=UTC)
    month.join(aug26, slack, MEXICO, "UHUGO")
    month.join(aug26, slack, MEXICO, "UINES")
    month.command(at(MEXICO_TZ, 2, 12), slack, MEXICO, "UCOORD", "/nudges approve all")
    month.command(at(MEXICO_TZ, 23, 11), slack, MEXICO, "UCOORD", "/nudges approve all")

    async def configure() -> None:
        await setup_community(harness, tg, SANTIAGO, SANTIAGO_TZ)
        await setup_community(harness, slack, MEXICO, MEXICO_TZ, approval="on")
        await set_role(harness, tg, "mod", SANTIAGO, Role.MODERATOR)
        await set_role(harness, slack, "UCOORD", MEXICO, Role.COORDINATOR)

    month.on(aug24, configure)  # after the first messages created the communities

    async def skip_hugos_follow_up() -> None:
        async with harness.app.uow_factory() as uow:
            held = await uow.outbox.listing(None, [OutboxStatus.HELD], 50)
        [hugo] = [
            r for r in held if r.destination.chat_id == "UHUGO" and r.kind == "nudge.newcomer"
        ]
        await harness.dispatch(
            CommandInvoked(
                month._origin(slack, MEXICO, "UCOORD", False), "nudges", f"skip {hugo.id}"
            )
        )

    month.on(at(MEXICO_TZ, 2, 11), skip_hugos_follow_up)
    # A webinar on the evening the clocks went forward in Santiago, 18:00 there (UTC-3).
    month.command(
        datetime(2026, 8, 30, 15, 0, tzinfo=UTC),
        tg,
        SANTIAGO,
        "mod",
        '/webinar add "Agua segura" 2026-09-06 18:00 https://meet.example.org/agua',
    )
    for user, answer in (("carl", "going"), ("dai", "going"), ("bea", "maybe")):
        month.press(
            datetime(2026, 8, 31, 15, 0, tzinfo=UTC),
            tg,
            SANTIAGO,
            user,
            "webinar_rsvp",
            f"1:{answer}",
        )
    await month.run()

    async with harness.app.uow_factory() as uow:
        records = await uow.outbox.listing(None, list(OutboxStatus), 500)
        ids = {
            user: (await uow.members.identity(platform, user))
            for platform, user in [(tg, u) for u in ("ana", "bea", "mod", "fer")]
        }
    nudges_sent = sorted(
        (sent(r) for r in records if r.is_nudge and r.status is OutboxStatus.SENT),
        key=lambda s: s.at,
    )

    # Every nudge went out once, and nothing else did.
    kinds = sorted((s.kind, s.chat, s.mentions) for s in nudges_sent)
    assert kinds == sorted(
        [
            # Slack newcomers: private welcomes, held for approval, approved on 2 September.
            ("nudge.welcome", "UHUGO", ()),
            ("nudge.welcome", "UINES", ()),
            # Santiago newcomers after 7 days: privately if they started the bot...
            ("nudge.newcomer", "carl", ()),
            ("nudge.newcomer", "dai", ()),
            # ...else one mention in the group; eli opted out.
            ("nudge.newcomer", SANTIAGO, ("bea",)),
            # Mexico newcomers: ines approved, hugo's skipped.
            ("nudge.newcomer", "UINES", ()),
            # The unanswered question: the water expert, then the moderator.
            ("nudge.unanswered", SANTIAGO, ("ana",)),
            ("nudge.escalated", "mod", ()),
            # A question in Mexico that no member is known to know about: the coordinator.
            ("nudge.escalated", "UCOORD", ()),
            # Active, then silent for 30 days.
            ("nudge.reengage", "ana", ()),
            ("nudge.reengage", "UGIL", ()),
        ]
    )
    when = {(s.kind, s.chat): s for s in nudges_sent}

    # The daily scan ran at 10:00 in each community's own time, every day, across the change.
    santiago_scans = [fire for job, fire in month.scans if job.endswith(SANTIAGO)]
    mexico_scans = [fire for job, fire in month.scans if job.endswith(MEXICO)]
    assert {local(f, SANTIAGO_TZ).hour for f in santiago_scans} == {10}
    assert {local(f, MEXICO_TZ).hour for f in mexico_scans} == {10}
    assert {f.hour for f in santiago_scans} == {13, 14}  # UTC-4 before 6 September, UTC-3 after
    assert {f.hour for f in mexico_scans} == {16}

    # Newcomers of 25 August: followed up at the scan of 1 September, 10:00 in Santiago (UTC-4)...
    assert when[("nudge.newcomer", "carl")].at == at(SANTIAGO_TZ, 1, 10)
    assert when[("nudge.newcomer", SANTIAGO)].at == at(SANTIAGO_TZ, 1, 10)
    # ...except dai, whose 10:00 in Santiago is 23:00 in Tokyo: sent at 08:00 there.
    dai = when[("nudge.newcomer", "dai")].at
    assert local(dai, "Asia/Tokyo").strftime("%m-%d %H:%M") == "09-02 08:00"
    # Ana's last message was on 24 August: re-engaged at the scan 30 days later, 10:00 in
    # Santiago, now UTC-3.
    assert when[("nudge.reengage", "ana")].at == at(SANTIAGO_TZ, 23, 10)
    assert when[("nudge.reengage", "ana")].at.hour == 13

    # The question of 4 September, 15:00 in Santiago: the expert 24 hours later, as a reply to
    # it; the moderator 24 hours after that, across the change (same UTC hour, 16:00 there).
    question = when[("nudge.unanswered", SANTIAGO)]
    assert question.at == at(SANTIAGO_TZ, 4, 15) + timedelta(hours=24)
    assert question.reply_to is not None
    assert ids["ana"] is not None and question.mentions == (ids["ana"].platform_user_id,)
    moderator = when[("nudge.escalated", "mod")]
    assert moderator.at == at(SANTIAGO_TZ, 4, 15) + timedelta(hours=48)
    assert local(moderator.at, SANTIAGO_TZ).hour == 16
    assert ids["fer"] is not None
    assert all(ids["fer"].platform_user_id not in s.mentions for s in nudges_sent)

    # Approval: nothing in Mexico went out before a coordinator approved it; hugo's follow-up
    # was skipped and never sent.
    assert when[("nudge.welcome", "UHUGO")].at == at(MEXICO_TZ, 2, 12)
    assert when[("nudge.newcomer", "UINES")].at == at(MEXICO_TZ, 2, 12)
    assert when[("nudge.reengage", "UGIL")].at == at(MEXICO_TZ, 23, 11)
    skipped = [r for r in records if r.status is OutboxStatus.SKIPPED]
    assert [r.destination.chat_id for r in skipped] == ["UHUGO"]

    # Webinar reminders: 24 hours and 1 hour before the start, in absolute time (so the first
    # is at 17:00 on the 5th in Santiago, before the change, and the second at 17:00 on the
    # 6th, after it), each showing the start in the member's own time zone.
    starts = at(SANTIAGO_TZ, 6, 18)
    assert starts == datetime(2026, 9, 6, 21, 0, tzinfo=UTC)
    notices = sorted(
        (r for r in records if r.kind == "webinar.notice" and r.status is OutboxStatus.SENT),
        key=lambda r: (r.destination.chat_id, r.sent_at or START),
    )
    assert [(r.destination.chat_id, r.sent_at) for r in notices] == [
        ("carl", starts - timedelta(hours=24)),
        ("carl", starts - timedelta(hours=1)),
        ("dai", starts - timedelta(hours=24)),
        ("dai", starts - timedelta(hours=1)),
    ]
    assert [local(r.sent_at or START, SANTIAGO_TZ).hour for r in notices[:2]] == [17, 17]
    carl, dai = notices[0].message.body.plain(), notices[2].message.body.plain()
    assert "a las 2026-09-06 18:00 en tu hora (America/Santiago)" in carl  # in Spanish
    assert "a las 2026-09-07 06:00 en tu hora (Asia/Tokyo)" in dai
    # Bea cannot be written to privately: the reminder rows mention her in the group.
    group_reminders = sorted(
        r.sent_at or START
        for r in records
        if r.kind == "webinar.remind" and r.status is OutboxStatus.SENT
    )
    assert group_reminders == [starts - timedelta(hours=24), starts - timedelta(hours=1)]
    mentioned = [
        [span.user_id for block in m.body.blocks for span in block.spans if span.user_id]
        for d, m in harness.messenger.sent
        if d.chat_id == SANTIAGO and "Agua segura empieza en" in m.body.plain()
    ]
    assert mentioned == [["bea"], ["bea"]]

    # Quiet hours (21:00-08:00) held in each recipient's time zone.
    zones = {"dai": "Asia/Tokyo", "UHUGO": MEXICO_TZ, "UINES": MEXICO_TZ, "UGIL": MEXICO_TZ}
    quiet = NudgeConfig().quiet
    assert quiet is not None
    for s in nudges_sent:
        zone = zones.get(s.chat, SANTIAGO_TZ)
        assert not in_window(local(s.at, zone).time(), *quiet), s
