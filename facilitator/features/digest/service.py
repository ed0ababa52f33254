"""Sends the digests that are due: privately, through the outbox, in each member's language,
after their quiet hours, to current members who did not opt out of nudges."""

from __future__ import annotations

import logging
from datetime import datetime

from facilitator.context import Services
from facilitator.domain.model import Community, Member
from facilitator.features.digest.content import Audience, Period, Reader, body, build
from facilitator.features.digest.domain import Subscription
from facilitator.features.digest.ports import DigestRepository
from facilitator.features.knowledge.gaps import tell
from facilitator.features.nudges.config import NudgeConfig
from facilitator.features.nudges.planner import NudgePlanner, locale_of
from facilitator.markup import OutboundMessage
from facilitator.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

JOB_ID = "digest:due"
EVERY_SECONDS = 3600


class Digests:
    def __init__(self, uow_factory: UnitOfWorkFactory, services: Services) -> None:
        self._uow_factory = uow_factory
        self._services = services

    async def send_due(self, now: datetime) -> int:
        """Queue every digest due at `now`; how many were queued."""
        async with self._uow_factory() as uow:
            due = [
                s
                for s in await uow.repo(DigestRepository).subscribed()
                if (at := s.due_at()) is not None and at <= now
            ]
        by_community: dict[int, list[Subscription]] = {}
        for subscription in due:
            by_community.setdefault(subscription.community_id, []).append(subscription)
        queued = 0
        for community_id, subscriptions in by_community.items():
            async with self._uow_factory() as uow:
                community = await uow.communities.get(community_id)
                if community is None or not community.active:
                    continue
                queued += await self._send(uow, community, subscriptions, now)
                await uow.commit()
        return queued

    async def _send(
        self,
        uow: UnitOfWork,
        community: Community,
        subscriptions: list[Subscription],
        now: datetime,
    ) -> int:
        current = {
            member.person_id: member
            for member, membership in await uow.members.members_of(community.id)
            if membership.left_at is None and member.platform is community.platform
        }
        # Someone who left gets nothing; nor does whoever opted out of nudges.
        members = [
            (s, current[s.person_id])
            for s in subscriptions
            if s.person_id in current and not current[s.person_id].opted_out_nudges
        ]
        config = NudgeConfig.of(community)
        planner = NudgePlanner(uow, self._services, community, config, now)
        reachable = await planner.private_ok([member for _, member in members])
        queued = 0
        for subscription, member in members:
            if member.person_id not in reachable:
                continue  # Telegram: never started the bot privately; tried again next time
            if await self._queue(uow, community, subscription, member, now):
                queued += 1
        if queued:
            log.info("digests queued", extra={"community": community.key, "count": queued})
        return queued

    async def _queue(
        self,
        uow: UnitOfWork,
        community: Community,
        subscription: Subscription,
        member: Member,
        now: datetime,
    ) -> bool:
        repo = uow.repo(DigestRepository)
        locale = locale_of(member, community)
        follows = tuple(await repo.followed(community.id, member.person_id))
        period = Period(subscription.covers_from, now)
        digest = await build(
            uow,
            self._services.catalogue,
            community,
            period,
            Reader(locale, Audience.MEMBER, follows),
        )
        if not digest.has_news:
            return False  # nothing new: nothing sent, and the next one covers this time too
        text = body(digest, self._services.catalogue, f"digest.title.{subscription.frequency}")
        text += self._services.catalogue.render(locale, "digest.footer")
        stamp = now.strftime("%Y%m%dT%H%M")
        await tell(
            uow,
            community,
            member,
            f"digest:{community.id}:{member.person_id}:{stamp}",
            "digest",
            OutboundMessage(text),
            now,
            nudge=True,
        )
        await repo.mark_sent(community.id, member.person_id, now)
        return True
