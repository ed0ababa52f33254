"""Turns "nudge these people" into outbox rows, through every guard: opt-out, the per-kind
cap, quiet hours, approval, and Telegram's rule that the bot may write privately only to
people who started it (the others get one batched mention in the group)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from facilitator.context import Services
from facilitator.delivery.dispatcher import mention_message
from facilitator.domain.model import Community, Member, Platform
from facilitator.domain.outbox import Fallback, OutboxEntry
from facilitator.features.nudges.config import NudgeConfig
from facilitator.features.nudges.domain import NudgeKind
from facilitator.features.nudges.ports import NudgeRepository
from facilitator.features.nudges.quiet import after_quiet_hours
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.i18n import resolve_locale
from facilitator.markup import Destination, OutboundMessage, RichText
from facilitator.ports import UnitOfWork

log = logging.getLogger(__name__)

Personal = Callable[[Member, str], OutboundMessage]
GroupBody = Callable[[str], RichText]


def locale_of(member: Member, community: Community) -> str:
    return resolve_locale(member.language, member.locale_hint, community.language)


@dataclass
class Plan:
    """Where the nudges of one kind went: private messages, one group mention, or nowhere."""

    direct: list[int]
    mentioned: list[int]
    skipped: list[int]


class NudgePlanner:
    def __init__(
        self,
        uow: UnitOfWork,
        services: Services,
        community: Community,
        config: NudgeConfig,
        now: datetime,
    ) -> None:
        self._uow = uow
        self._services = services
        self._community = community
        self._config = config
        self._now = now

    async def may_nudge(self, member: Member, kind: NudgeKind) -> bool:
        if member.opted_out_nudges:
            return False
        if self._config.cap_days <= 0:
            return True
        last = await self._uow.repo(NudgeRepository).last(
            self._community.id, member.person_id, kind
        )
        return last is None or self._now - last >= timedelta(days=self._config.cap_days)

    async def private_ok(self, members: list[Member]) -> set[int]:
        """Person ids the bot may write to privately: on Telegram only those who started it."""
        telegram = [m.identity_id for m in members if m.platform is Platform.TELEGRAM]
        opened = await self._uow.repo(ProfileRepository).open_private_chats(telegram)
        return {
            m.person_id
            for m in members
            if m.platform is not Platform.TELEGRAM or m.identity_id in opened
        }

    async def nudge(
        self,
        kind: NudgeKind,
        ref: str | Mapping[int, str],
        members: list[Member],
        *,
        personal: Personal | None,
        group: GroupBody | None,
        reply_to: str | None = None,
        thread_id: str | None = None,
    ) -> Plan:
        """Nudge each member once for `ref` (one for all, or one per person id): privately with
        `personal` where possible, the rest together in one group message saying `group`
        (None: no group message)."""

        def ref_of(member: Member) -> str:
            return ref if isinstance(ref, str) else ref[member.person_id]

        community = self._community
        plan = Plan([], [], [])
        allowed: list[Member] = []
        for member in members:
            if await self.may_nudge(member, kind):
                allowed.append(member)
            else:
                plan.skipped.append(member.person_id)
        private = await self.private_ok(allowed) if personal is not None else set()
        in_group: list[Member] = []
        for member in allowed:
            direct = member.person_id in private
            if not direct and group is None:
                plan.skipped.append(member.person_id)
                continue
            key = f"nudge:{kind}:{community.id}:{member.person_id}:{ref_of(member)}"
            if direct:
                if not await self._uow.repo(NudgeRepository).record(
                    community.id, member.person_id, kind, ref_of(member), self._now, key
                ):
                    continue  # nudged for this before: never twice
                assert personal is not None
                await self._queue_private(kind, key, member, personal)
                plan.direct.append(member.person_id)
            else:
                in_group.append(member)
        if in_group and group is not None:
            first = min(in_group, key=lambda m: m.person_id)
            key = f"nudge:{kind}:{community.id}:group:{first.person_id}:{ref_of(first)}"
            fresh = [
                m
                for m in in_group
                if await self._uow.repo(NudgeRepository).record(
                    community.id, m.person_id, kind, ref_of(m), self._now, key
                )
            ]
            if fresh:
                await self._queue_group(kind, key, fresh, group, reply_to, thread_id)
                plan.mentioned.extend(m.person_id for m in fresh)
        if plan.direct or plan.mentioned:
            log.info(
                "nudges queued",
                extra={
                    "community": community.key,
                    "kind": kind.value,
                    "direct": len(plan.direct),
                    "mentioned": len(plan.mentioned),
                },
            )
        return plan

    async def _queue_private(
        self, kind: NudgeKind, key: str, member: Member, personal: Personal
    ) -> None:
        community = self._community
        await self._uow.outbox.add(
            OutboxEntry(
                dedup_key=key,
                kind=f"nudge.{kind}",
                destination=Destination(
                    member.platform,
                    member.platform_user_id,
                    user_id=member.platform_user_id,
                    is_direct=True,
                ),
                message=personal(member, locale_of(member, community)),
                due_at=after_quiet_hours(
                    self._now, member.timezone or community.timezone, self._config.quiet
                ),
                community_id=community.id,
                person_id=member.person_id,
                is_nudge=True,
                fallback=Fallback(community.chat_id, member.platform_user_id, member.display_name),
                held=self._config.approval,
            ),
            self._now,
        )

    async def _queue_group(
        self,
        kind: NudgeKind,
        key: str,
        members: list[Member],
        group: GroupBody,
        reply_to: str | None,
        thread_id: str | None,
    ) -> None:
        community = self._community
        message = mention_message(
            [(m.platform_user_id, m.display_name) for m in members], group(community.language)
        )
        await self._uow.outbox.add(
            OutboxEntry(
                dedup_key=key,
                kind=f"nudge.{kind}",
                destination=Destination(
                    community.platform,
                    community.chat_id,
                    thread_id=thread_id,
                    reply_to_message_id=reply_to,
                ),
                message=message,
                # A group message waits for the community's morning.
                due_at=after_quiet_hours(self._now, community.timezone, self._config.quiet),
                community_id=community.id,
                is_nudge=True,
                held=self._config.approval,
            ),
            self._now,
        )
