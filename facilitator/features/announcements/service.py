"""Posting an announcement when its time comes, once, through the outbox.

The group gets one post: the community's language first, the other versions below it, each
labelled (pinned on platforms that pin, when asked). Members who opted in (`/announce
subscribe`) get a private copy in their own language, if they are still members, have not
opted out of the bot's messages (`/optout nudges`) and can be written to privately; a copy
waits for the end of their quiet hours. Nobody is ever mentioned in the group instead.

A copy that waits for someone's morning is dropped if meanwhile they left or unsubscribed.

An announcement due later is a stored row; the job (`run`, every minute in every process)
claims each due row with a conditional update in the same transaction that queues its outbox
rows, so however many workers run it, it is posted once."""

from __future__ import annotations

import logging
from datetime import datetime

from facilitator.context import Services
from facilitator.delivery.dispatcher import Dispatcher
from facilitator.domain.model import Community, Member, Platform
from facilitator.domain.outbox import OutboxEntry, OutboxRecord
from facilitator.features.announcements.domain import Announcement
from facilitator.features.announcements.ports import AnnouncementRepository
from facilitator.features.knowledge.gaps import locale_of, tell
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.i18n import Catalogue
from facilitator.markup import Destination, OutboundMessage, RichText
from facilitator.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

POST_KIND = "announcement"
COPY_KIND = "announcement.copy"
JOB = "announcement.due"
BATCH = 50  # announcements one run of the job posts at most; the next run takes the rest


def post_key(announcement_id: int) -> str:
    return f"announcement:{announcement_id}:post"


def copy_key(announcement_id: int, person_id: int) -> str:
    return f"announcement:{announcement_id}:copy:{person_id}"


class Announcements:
    def __init__(self, uow_factory: UnitOfWorkFactory, services: Services) -> None:
        self._uow_factory = uow_factory
        self._services = services

    @property
    def _catalogue(self) -> Catalogue:
        return self._services.catalogue

    def attach(self, dispatcher: Dispatcher) -> None:
        dispatcher.composers[COPY_KIND] = self.still_wanted

    async def still_wanted(self, record: OutboxRecord) -> OutboundMessage | None:
        """A copy that waited for someone's morning goes out only if they are still a member
        and still want copies (the dispatcher checks the opt-out of messages itself)."""
        if record.person_id is None or record.community_id is None:
            return None
        async with self._uow_factory() as uow:
            membership = await uow.members.membership(record.person_id, record.community_id)
            wanted = await uow.repo(AnnouncementRepository).subscribers(record.community_id)
        if membership is None or membership.left_at is not None or record.person_id not in wanted:
            log.info("announcement copy no longer wanted", extra={"outbox_id": record.id})
            return None
        return record.message

    async def run(self, now: datetime) -> int:
        """The job: post every announcement whose time has come; how many were posted."""
        posted = 0
        async with self._uow_factory() as uow:
            repository = uow.repo(AnnouncementRepository)
            for announcement in await repository.due(now, BATCH):
                assert announcement.id is not None
                community = await uow.communities.get(announcement.community_id)
                if community is None or not await repository.claim(announcement.id, now):
                    continue
                await self.post(uow, community, announcement, now)
                posted += 1
            await uow.commit()
        if posted:
            log.info("announcements posted", extra={"count": posted})
        return posted

    async def post(
        self, uow: UnitOfWork, community: Community, announcement: Announcement, now: datetime
    ) -> int:
        """Queue the group post and the private copies (the caller has claimed the row);
        how many copies were queued."""
        assert announcement.id is not None
        await uow.outbox.add(
            OutboxEntry(
                dedup_key=post_key(announcement.id),
                kind=POST_KIND,
                destination=Destination(community.platform, community.chat_id),
                message=OutboundMessage(
                    self.group_body(community, announcement), pin=announcement.pin
                ),
                due_at=now,
                community_id=community.id,
            ),
            now,
        )
        copies = 0
        for member in await self.recipients(uow, community):
            locale = locale_of(member, community)
            body = self._catalogue.render(
                locale, "announcements.copy", community=community.title
            ) + RichText.of(announcement.version_for(locale, community.language))
            if await tell(
                uow,
                community,
                member,
                copy_key(announcement.id, member.person_id),
                COPY_KIND,
                OutboundMessage(body),
                now,
                nudge=True,  # quiet hours, and the opt-out checked again when it is sent
            ):
                copies += 1
        log.info(
            "announcement queued",
            extra={"announcement": announcement.id, "community": community.key, "copies": copies},
        )
        return copies

    def group_body(self, community: Community, announcement: Announcement) -> RichText:
        """The community's language first, then the others in the order they were given."""
        language = community.language
        ordered = sorted(announcement.versions, key=lambda lang: lang != language)
        parts = [self._catalogue.render(language, "announcements.post", community=community.title)]
        for lang in ordered:
            if len(ordered) > 1:
                parts.append(
                    self._catalogue.render(
                        language,
                        "announcements.version",
                        language=self._catalogue.text(lang, "announcements.language_name"),
                    )
                )
            parts.append(RichText.of(announcement.versions[lang]))
        return RichText.join(parts)

    @staticmethod
    async def recipients(uow: UnitOfWork, community: Community) -> list[Member]:
        """Who gets a private copy: subscribers still in the community, not opted out of the
        bot's messages, whom the bot may write to privately (on Telegram, those who started
        a private chat with it)."""
        wanted = await uow.repo(AnnouncementRepository).subscribers(community.id)
        members = [
            member
            for member, membership in await uow.members.members_of(community.id)
            if member.person_id in wanted
            and membership.left_at is None
            and not member.opted_out_nudges
        ]
        telegram = [m.identity_id for m in members if m.platform is Platform.TELEGRAM]
        opened = await uow.repo(ProfileRepository).open_private_chats(telegram)
        return [
            m for m in members if m.platform is not Platform.TELEGRAM or m.identity_id in opened
        ]
