"""A webinar's life in the outbox: every step is a row due at its time, so each happens once.

- `…:announce` (now): the announcement, with RSVP buttons and an .ics calendar file.
- `…:remind24`, `…:remind1` (24 h and 1 h before): each member who answered going or maybe gets
  a private reminder with the time in their own time zone; those the bot cannot write to
  privately are mentioned together in one group message.
- `…:checkin` (at the start): a check-in button and code; attendance goes to the ledger.
- `…:after` (at the end): thanks, a short feedback poll, and credit to the presenter.

Keys carry the webinar's version (`webinar:<id>:v<n>:…`): a reschedule cancels the rows of the
old version and queues new ones; a cancellation cancels them all.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from facilitator.commands.spec import parse_id
from facilitator.context import CommandContext, Services
from facilitator.delivery.dispatcher import Dispatcher, mention_message
from facilitator.domain.model import Community, LedgerEntry, Member, ParticipationKind, Platform
from facilitator.domain.outbox import OutboxEntry, OutboxRecord
from facilitator.features.knowledge.domain import ItemType, KnowledgeItem
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.polls.domain import PollDraft
from facilitator.features.polls.service import Polls
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.features.webinars.calendar import ics_attachment
from facilitator.features.webinars.domain import Rsvp, Webinar, WebinarDraft, WebinarStatus
from facilitator.features.webinars.ports import WebinarRepository
from facilitator.i18n import Catalogue, resolve_locale
from facilitator.localtime import show
from facilitator.markup import Button, Destination, OutboundMessage, RichText
from facilitator.ports import Clock, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

RSVP_ACTION = "webinar_rsvp"
CHECKIN_ACTION = "webinar_checkin"
ANNOUNCE, REMIND, CHECKIN, AFTER, NOTICE = (
    "webinar",
    "webinar.remind",
    "webinar.checkin",
    "webinar.after",
    "webinar.notice",
)
REMINDERS = (("remind24", timedelta(hours=24)), ("remind1", timedelta(hours=1)))
# Check-in opens a little before the start and closes a little after the end.
CHECKIN_EARLY = timedelta(minutes=15)
CHECKIN_LATE = timedelta(minutes=30)
FEEDBACK_OPEN = timedelta(days=2)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

Personal = Callable[[Member, str, str], RichText]  # (member, locale, their time zone)


def webinar_key(webinar: Webinar, step: str) -> str:
    return f"webinar:{webinar.id}:v{webinar.version}:{step}"


def parse_key(record: OutboxRecord) -> tuple[int, int, str] | None:
    """`webinar:<id>:v<version>:<step>` -> (id, version, step)."""
    parts = record.dedup_key.split(":")
    if len(parts) < 4 or not parts[1].isdigit() or not parts[2][1:].isdigit():
        return None
    return int(parts[1]), int(parts[2][1:]), parts[3]


class Webinars:
    def __init__(self, uow_factory: UnitOfWorkFactory, services: Services, polls: Polls) -> None:
        self._uow_factory = uow_factory
        self._services = services
        self._polls = polls

    @property
    def _catalogue(self) -> Catalogue:
        return self._services.catalogue

    @property
    def _clock(self) -> Clock:
        return self._services.clock

    def attach(self, dispatcher: Dispatcher) -> None:
        dispatcher.composers[REMIND] = self.compose_reminders
        dispatcher.composers[CHECKIN] = self.compose_checkin
        dispatcher.composers[AFTER] = self.compose_after

    # -- creating, moving, cancelling -----------------------------------------------------------

    async def create(self, ctx: CommandContext, draft: WebinarDraft) -> Webinar:
        community = ctx.community
        assert community is not None
        speaker_person = None
        if draft.speaker:
            found = await ctx.uow.members.find_in_community(
                community.id, draft.speaker.lstrip("@")
            )
            speaker_person = found[0].person_id if len(found) == 1 else None
        now = self._clock.now()
        webinar = await ctx.uow.repo(WebinarRepository).add(
            community.id,
            draft,
            speaker_person_id=speaker_person,
            created_by=ctx.member.person_id,
            checkin_code="".join(secrets.choice(_CODE_ALPHABET) for _ in range(4)),
            now=now,
        )
        await self._schedule(ctx.uow, community, webinar, "webinars.announce.header", now)
        log.info("webinar scheduled", extra={"webinar": webinar.id, "community": community.key})
        return webinar

    async def reschedule(
        self, ctx: CommandContext, webinar: Webinar, starts_at: datetime, zone: str
    ) -> Webinar:
        community = ctx.community
        assert community is not None
        now = self._clock.now()
        await ctx.uow.outbox.cancel(f"webinar:{webinar.id}:v{webinar.version}:", now)
        moved = await ctx.uow.repo(WebinarRepository).reschedule(webinar.id, starts_at, zone)
        await self._schedule(ctx.uow, community, moved, "webinars.announce.moved", now)
        await self._notify_answered(
            ctx.uow,
            community,
            moved,
            webinar_key(moved, "moved"),
            lambda member, locale, zone_name: self._catalogue.render(
                locale,
                "webinars.notice.moved",
                title=moved.title,
                when=show(moved.starts_at, zone_name),
                zone=zone_name,
            ),
            lambda locale: self._catalogue.render(
                locale,
                "webinars.notice.moved_group",
                title=moved.title,
                when=show(moved.starts_at, community.timezone),
                zone=community.timezone,
            ),
            now,
        )
        return moved

    async def cancel(self, ctx: CommandContext, webinar: Webinar) -> None:
        community = ctx.community
        assert community is not None
        now = self._clock.now()
        await ctx.uow.repo(WebinarRepository).cancel(webinar.id)
        await ctx.uow.outbox.cancel(f"webinar:{webinar.id}:v{webinar.version}:", now)
        cancelled = await ctx.uow.repo(WebinarRepository).get(webinar.id)
        assert cancelled is not None
        when = show(webinar.starts_at, community.timezone)
        await ctx.uow.outbox.add(
            OutboxEntry(
                dedup_key=f"webinar:{webinar.id}:cancelled",
                kind=ANNOUNCE,
                destination=self._group(community),
                message=OutboundMessage(
                    self._catalogue.render(
                        community.language,
                        "webinars.notice.cancelled_group",
                        title=webinar.title,
                        when=when,
                        zone=community.timezone,
                    ),
                    attachment=ics_attachment(cancelled, now),
                ),
                due_at=now,
                community_id=community.id,
            ),
            now,
        )
        await self._notify_answered(
            ctx.uow,
            community,
            webinar,
            f"webinar:{webinar.id}:cancelled:notice",
            lambda member, locale, zone_name: self._catalogue.render(
                locale,
                "webinars.notice.cancelled",
                title=webinar.title,
                when=show(webinar.starts_at, zone_name),
                zone=zone_name,
            ),
            None,  # the group message above says it to everyone
            now,
        )

    async def _schedule(
        self,
        uow: UnitOfWork,
        community: Community,
        webinar: Webinar,
        header_key: str,
        now: datetime,
    ) -> None:
        steps: list[tuple[str, str, datetime, OutboundMessage]] = [
            ("announce", ANNOUNCE, now, self.announcement(webinar, community, header_key, now))
        ]
        empty = OutboundMessage(RichText())
        for step, ahead in REMINDERS:
            if webinar.starts_at - ahead > now:
                steps.append((step, REMIND, webinar.starts_at - ahead, empty))
        steps.append(("checkin", CHECKIN, webinar.starts_at, empty))
        steps.append(("after", AFTER, webinar.ends_at, empty))
        for step, kind, due, message in steps:
            await uow.outbox.add(
                OutboxEntry(
                    dedup_key=webinar_key(webinar, step),
                    kind=kind,
                    destination=self._group(community),
                    message=message,
                    due_at=max(due, now),
                    community_id=community.id,
                ),
                now,
            )

    @staticmethod
    def _group(community: Community) -> Destination:
        return Destination(community.platform, community.chat_id)

    def announcement(
        self, webinar: Webinar, community: Community, header_key: str, now: datetime
    ) -> OutboundMessage:
        locale = community.language
        catalogue = self._catalogue
        parts = [
            catalogue.render(locale, header_key, title=webinar.title),
            catalogue.render(
                locale,
                "webinars.announce.when",
                when=show(webinar.starts_at, community.timezone),
                zone=community.timezone,
                minutes=webinar.duration_minutes,
            ),
        ]
        if webinar.timezone != community.timezone:
            parts.append(
                catalogue.render(
                    locale,
                    "webinars.announce.also",
                    when=show(webinar.starts_at, webinar.timezone),
                    zone=webinar.timezone,
                )
            )
        if webinar.speaker:
            parts.append(
                catalogue.render(locale, "webinars.announce.speaker", name=webinar.speaker)
            )
        if webinar.link:
            parts.append(catalogue.render(locale, "webinars.announce.link", link=webinar.link))
        if webinar.theme:
            parts.append(catalogue.render(locale, "webinars.announce.theme", theme=webinar.theme))
        # Only the reminders still ahead are promised: announced an hour before, none.
        ahead = [step for step, before in REMINDERS if webinar.starts_at - before > now]
        promise = "_".join(ahead) or "none"
        parts.append(catalogue.render(locale, f"webinars.announce.ask_{promise}"))
        buttons = (
            tuple(
                Button(catalogue.text(locale, f"webinars.rsvp.{answer.value}"), RSVP_ACTION, value)
                for answer, value in ((answer, f"{webinar.id}:{answer.value}") for answer in Rsvp)
            ),
        )
        return OutboundMessage(
            RichText.join(parts),
            buttons=buttons,
            attachment=ics_attachment(webinar, now, webinar.link or ""),
        )

    # -- members' answers -------------------------------------------------------------------

    async def rsvp_button(self, ctx: CommandContext, value: str) -> None:
        webinar_part, _, answer_part = value.partition(":")
        webinar = await self._own(ctx, webinar_part)
        if webinar is None or answer_part not in {a.value for a in Rsvp}:
            ctx.say("errors.stale_button", private=True)
            return
        now = self._clock.now()
        if webinar.status is not WebinarStatus.SCHEDULED or webinar.ends_at <= now:
            ctx.say("webinars.rsvp.over", title=webinar.title, private=True)
            return
        answer = Rsvp(answer_part)
        await ctx.uow.repo(WebinarRepository).answer(webinar.id, ctx.member.person_id, answer, now)
        if answer is not Rsvp.NOT_GOING:
            await self._credit(
                ctx, webinar, ParticipationKind.WEBINAR_RSVP, f"webinar:{webinar.id}:rsvp"
            )
        here = ctx.community is not None and ctx.community.id == webinar.community_id
        zone_name = ctx.member.timezone or (webinar_zone(ctx) if here else webinar.timezone)
        # Only the reminders still ahead are promised: a minute before the start, none.
        ahead = [step for step, before in REMINDERS if webinar.starts_at - before > now]
        reminders = ctx.t(f"webinars.rsvp.reminders.{'_'.join(ahead) or 'none'}")
        ctx.say(
            f"webinars.rsvp.noted_{answer.value}",
            title=webinar.title,
            when=show(webinar.starts_at, zone_name),
            zone=zone_name,
            reminders=reminders,
            private=True,
        )

    async def checkin_button(self, ctx: CommandContext, value: str) -> None:
        webinar = await self._own(ctx, value)
        if webinar is None:
            ctx.say("errors.stale_button", private=True)
            return
        await self.check_in(ctx, webinar)

    async def check_in(self, ctx: CommandContext, webinar: Webinar) -> None:
        now = self._clock.now()
        if not webinar.starts_at - CHECKIN_EARLY <= now <= webinar.ends_at + CHECKIN_LATE:
            ctx.say("webinars.checkin.closed", title=webinar.title, private=True)
            return
        if not await ctx.uow.repo(WebinarRepository).check_in(
            webinar.id, ctx.member.person_id, now
        ):
            ctx.say("webinars.checkin.again", title=webinar.title, private=True)
            return
        await self._credit(
            ctx, webinar, ParticipationKind.WEBINAR_ATTENDED, f"webinar:{webinar.id}:attended"
        )
        ctx.say("webinars.checkin.done", title=webinar.title, private=True)

    async def _own(self, ctx: CommandContext, raw_id: str) -> Webinar | None:
        webinar_id = parse_id(raw_id)
        webinar = (
            await ctx.uow.repo(WebinarRepository).get(webinar_id)
            if webinar_id is not None
            else None
        )
        if webinar is None or not await ctx.belongs_to(webinar.community_id):
            return None
        return webinar

    async def _credit(
        self, ctx: CommandContext, webinar: Webinar, kind: ParticipationKind, source: str
    ) -> None:
        await ctx.uow.ledger.record(
            LedgerEntry(
                community_id=webinar.community_id,
                person_id=ctx.member.person_id,
                identity_id=ctx.member.identity_id,
                kind=kind,
                occurred_at=ctx.origin.occurred_at,
                # One entry per member and webinar, however often they change their answer.
                source_event_id=f"{source}:{ctx.member.person_id}",
                ref=f"webinar:{webinar.id}",
            )
        )

    # -- steps due in the outbox --------------------------------------------------------------

    async def _current(self, uow: UnitOfWork, record: OutboxRecord) -> Webinar | None:
        parsed = parse_key(record)
        webinar = await uow.repo(WebinarRepository).get(parsed[0]) if parsed else None
        if (
            parsed is None
            or webinar is None
            or webinar.status is not WebinarStatus.SCHEDULED
            or webinar.version != parsed[1]
        ):
            return None  # cancelled or moved since: nothing to say
        return webinar

    async def compose_reminders(self, record: OutboxRecord) -> OutboundMessage | None:
        """Private reminders as rows of their own; the row itself becomes the group mention
        of those who cannot be written to privately (None when there are none)."""
        parsed = parse_key(record)
        async with self._uow_factory() as uow:
            webinar = await self._current(uow, record)
            community = await uow.communities.get(webinar.community_id) if webinar else None
            if webinar is None or community is None or parsed is None:
                return None
            hours = 24 if parsed[2] == "remind24" else 1
            now = self._clock.now()
            in_group = await self._notify_answered(
                uow,
                community,
                webinar,
                record.dedup_key,
                lambda member, locale, zone_name: self._reminder(
                    webinar, locale, zone_name, hours
                ),
                None,
                now,
                answers=(Rsvp.GOING, Rsvp.MAYBE),
            )
            await uow.commit()
        if not in_group:
            return None
        body = self._catalogue.render(
            community.language,
            "webinars.remind.group",
            title=webinar.title,
            count=hours,
            when=show(webinar.starts_at, community.timezone),
            zone=community.timezone,
        )
        return mention_message([(m.platform_user_id, m.display_name) for m in in_group], body)

    def _reminder(self, webinar: Webinar, locale: str, zone_name: str, hours: int) -> RichText:
        text = self._catalogue.render(
            locale,
            "webinars.remind.private",
            title=webinar.title,
            count=hours,
            when=show(webinar.starts_at, zone_name),
            zone=zone_name,
        )
        if webinar.link:
            text += self._catalogue.render(locale, "webinars.announce.link", link=webinar.link)
        return text

    async def compose_checkin(self, record: OutboxRecord) -> OutboundMessage | None:
        async with self._uow_factory() as uow:
            webinar = await self._current(uow, record)
            community = await uow.communities.get(webinar.community_id) if webinar else None
        if webinar is None or community is None:
            return None
        locale = community.language
        return OutboundMessage(
            self._catalogue.render(
                locale, "webinars.checkin.open", title=webinar.title, code=webinar.checkin_code
            ),
            buttons=(
                (
                    Button(
                        self._catalogue.text(locale, "webinars.checkin.button"),
                        CHECKIN_ACTION,
                        str(webinar.id),
                    ),
                ),
            ),
        )

    async def compose_after(self, record: OutboxRecord) -> OutboundMessage | None:
        """Thanks, the feedback poll (created once) and the presenter's credit."""
        async with self._uow_factory() as uow:
            webinar = await self._current(uow, record)
            community = await uow.communities.get(webinar.community_id) if webinar else None
            if webinar is None or community is None:
                return None
            locale = community.language
            if webinar.feedback_poll_id is None:
                catalogue = self._catalogue
                poll = await self._polls.create_in(
                    uow,
                    community,
                    PollDraft(
                        question=catalogue.text(
                            locale, "webinars.feedback.question", title=webinar.title
                        )[:300],
                        options=tuple(
                            catalogue.text(locale, f"webinars.feedback.{option}")
                            for option in ("very", "somewhat", "not")
                        ),
                        closes_at=self._clock.now() + FEEDBACK_OPEN,
                    ),
                    None,
                    None,
                )
                await uow.repo(WebinarRepository).set_feedback_poll(webinar.id, poll.id)
            if webinar.speaker_person_id is not None:
                speaker = await uow.members.by_person(webinar.speaker_person_id)
                if speaker:
                    await uow.ledger.record(
                        LedgerEntry(
                            community_id=community.id,
                            person_id=webinar.speaker_person_id,
                            identity_id=speaker[0].identity_id,
                            kind=ParticipationKind.WEBINAR_PRESENTED,
                            occurred_at=webinar.starts_at,
                            source_event_id=f"webinar:{webinar.id}:presented",
                            ref=f"webinar:{webinar.id}",
                        )
                    )
            attendees = await uow.repo(WebinarRepository).attendees(webinar.id)
            attended = sum(1 for a in attendees if a.attended_at is not None)
            await uow.commit()
        return OutboundMessage(
            self._catalogue.render(
                locale, "webinars.after", title=webinar.title, count=attended, id=webinar.id
            )
        )

    async def _notify_answered(
        self,
        uow: UnitOfWork,
        community: Community,
        webinar: Webinar,
        key: str,
        personal: Personal,
        group: Callable[[str], RichText] | None,
        now: datetime,
        answers: tuple[Rsvp, ...] = (Rsvp.GOING, Rsvp.MAYBE),
    ) -> list[Member]:
        """A private message to each member who answered (in their language and time zone);
        those the bot cannot write to privately are returned, and mentioned in one group
        message when `group` is given."""
        wanted = {
            a.person_id
            for a in await uow.repo(WebinarRepository).attendees(webinar.id)
            if a.answer in answers
        }
        members = [
            member
            for member, membership in await uow.members.members_of(community.id)
            if member.person_id in wanted
            and membership.left_at is None
            and not member.opted_out_nudges
        ]
        telegram = [m.identity_id for m in members if m.platform is Platform.TELEGRAM]
        opened = await uow.repo(ProfileRepository).open_private_chats(telegram)
        in_group: list[Member] = []
        for member in members:
            if member.platform is Platform.TELEGRAM and member.identity_id not in opened:
                in_group.append(member)
                continue
            locale = resolve_locale(member.language, member.locale_hint, community.language)
            zone_name = member.timezone or community.timezone
            await uow.outbox.add(
                OutboxEntry(
                    dedup_key=f"{key}:{member.person_id}",
                    kind=NOTICE,
                    destination=Destination(
                        member.platform,
                        member.platform_user_id,
                        user_id=member.platform_user_id,
                        is_direct=True,
                    ),
                    message=OutboundMessage(personal(member, locale, zone_name)),
                    due_at=now,
                    community_id=community.id,
                    person_id=member.person_id,
                ),
                now,
            )
        if in_group and group is not None:
            await uow.outbox.add(
                OutboxEntry(
                    dedup_key=f"{key}:group",
                    kind=NOTICE,
                    destination=self._group(community),
                    message=mention_message(
                        [(m.platform_user_id, m.display_name) for m in in_group],
                        group(community.language),
                    ),
                    due_at=now,
                    community_id=community.id,
                ),
                now,
            )
        return in_group

    # -- the recording ------------------------------------------------------------------------

    async def file_recording(self, ctx: CommandContext, webinar: Webinar, url: str) -> int:
        community = ctx.community
        assert community is not None
        item = await ctx.uow.repo(KnowledgeRepository).upsert(
            KnowledgeItem(
                key=f"webinar-recording:{webinar.id}",
                type=ItemType.RECORDING,
                title=webinar.title,
                body=self._catalogue.text(
                    community.language,
                    "webinars.recording.body",
                    title=webinar.title,
                    when=show(webinar.starts_at, community.timezone),
                    speaker=webinar.speaker or "",
                ),
                lang=community.language,
                theme=webinar.theme,
                url=url,
                owner=webinar.speaker,
            ),
            community.id,
            self._clock.now(),
            created_by=ctx.member.identity_id,
        )
        assert item.id is not None
        await ctx.uow.repo(WebinarRepository).set_recording(webinar.id, item.id)
        await ctx.uow.ledger.record(
            LedgerEntry(
                community_id=community.id,
                person_id=ctx.member.person_id,
                identity_id=ctx.member.identity_id,
                kind=ParticipationKind.KNOWLEDGE_CONTRIBUTED,
                occurred_at=ctx.origin.occurred_at,
                source_event_id=ctx.origin.event_id,
                ref=f"recording:{item.id}",
            )
        )
        return item.id


def webinar_zone(ctx: CommandContext) -> str:
    return ctx.community.timezone if ctx.community else "UTC"
