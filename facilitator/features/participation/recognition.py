"""Recognition that speaks: a member who earns a badge or reaches a new level is told.

Every few minutes the job looks at the members with events in the last `WINDOW`, and
compares what they had earned at the window's start (counts and first contributions before
then, the level as scored on that day) with what they have earned now. Each new badge or
level is recorded once per community and member (`recognitions`, inserted before anything is
sent, so two workers never both congratulate), then:

- privately, through the outbox, in the member's language, after quiet hours, to members the
  bot may write to privately and who did not opt out of nudges (never by mentioning them in
  the group instead);
- in the group, in one message per run, when the community turns that on
  (`/participation congratulate on`).

Nobody who opted out of tracking (nor staff, when the community excludes them) is
recognised, and a member who left is not either. Comparing with the window's start, rather
than with what was recorded, means switching this on in an old community congratulates only
what is newly earned, never every badge ever earned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from facilitator.context import Services
from facilitator.domain.model import Community, Member, Platform
from facilitator.domain.outbox import OutboxEntry
from facilitator.features.nudges.config import NudgeConfig
from facilitator.features.nudges.quiet import after_quiet_hours
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.participation.scoring import badges_for, tally
from facilitator.features.participation.service import Participation, local_today
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.i18n import resolve_locale
from facilitator.markup import Destination, OutboundMessage, RichText
from facilitator.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

# How far back the job looks for members whose standing may have changed; it runs far more
# often than this, so an outage shorter than a day loses no congratulation.
WINDOW = timedelta(days=1)
BADGE = "badge"
LEVEL = "level"
PRIVATE_KIND = "recognition.private"
# People named in one group congratulation; the others are counted ("and 5 more").
GROUP_LINES = 20
GROUP_KIND = "recognition.group"


@dataclass(frozen=True)
class Earned:
    """Something a member newly earned: a badge or a level, by its key."""

    person_id: int
    kind: str
    key: str


@dataclass
class Recognition:
    uow_factory: UnitOfWorkFactory
    participation: Participation
    services: Services

    async def run(self, now: datetime) -> int:
        """Every active community; how many messages were queued."""
        async with self.uow_factory() as uow:
            communities = [c for c in await uow.communities.all() if c.active]
        queued = 0
        for community in communities:
            async with self.uow_factory() as uow:
                queued += await self.community(uow, community, now)
                await uow.commit()
        return queued

    async def earned(self, uow: UnitOfWork, community: Community, now: datetime) -> list[Earned]:
        """What members with recent events have earned since the window's start."""
        config = self.participation.config_for(community)
        repo = uow.repo(ParticipationRepository)
        start = now - WINDOW
        kinds = set(config.weights) | {kind for rule in config.badges for kind in rule.kinds}
        people = await repo.people_with(community.id, start, now + timedelta(seconds=1), kinds)
        people -= await self.participation.excluded(uow, community)
        if not people:
            return []
        found: list[Earned] = []
        counts_now = await repo.kind_counts(community.id, people)
        counts_then = await repo.kind_counts(community.id, people, before=start)
        pioneers_now = await repo.pioneers(community.id)
        pioneers_then = await repo.pioneers(community.id, before=start)
        levels = [level.key for level in config.levels]

        async def standings(until: datetime) -> dict[int, str]:
            rows = await repo.daily_counts(
                community.id,
                timezone=community.timezone,
                since=None,
                until=until,
                kinds=config.scored_kinds,
                person_ids=people,
            )
            tallied = tally(rows, config, local_today(community, until))
            return {person: standing.level for person, standing in tallied.items()}

        level_now = await standings(now + timedelta(seconds=1))
        level_then = await standings(start)
        for person in sorted(people):
            before = set(
                badges_for(counts_then.get(person, {}), config, pioneer=person in pioneers_then)
            )
            for badge in badges_for(
                counts_now.get(person, {}), config, pioneer=person in pioneers_now
            ):
                if badge not in before:
                    found.append(Earned(person, BADGE, badge))
            now_key, then_key = level_now.get(person), level_then.get(person, levels[0])
            if (
                now_key in levels
                and then_key in levels
                and levels.index(now_key) > levels.index(then_key)
            ):
                found.append(Earned(person, LEVEL, now_key))
        return found

    async def community(self, uow: UnitOfWork, community: Community, now: datetime) -> int:
        earned = await self.earned(uow, community, now)
        if not earned:
            return 0
        members = {
            member.person_id: member
            for member, membership in await uow.members.members_of(community.id)
            if membership.left_at is None
        }
        repo = uow.repo(ParticipationRepository)
        fresh: list[tuple[Member, Earned]] = []
        for item in earned:
            member = members.get(item.person_id)
            if member is None:
                continue  # left the community: nothing to say, nothing recorded
            if await repo.recognise(community.id, item.person_id, item.kind, item.key, now):
                fresh.append((member, item))
        if not fresh:
            return 0
        quiet = NudgeConfig.of(community).quiet
        telegram = [m.identity_id for m, _ in fresh if m.platform is Platform.TELEGRAM]
        opened = await uow.repo(ProfileRepository).open_private_chats(telegram)
        queued = 0
        for member, item in fresh:
            if member.opted_out_nudges:
                continue
            if member.platform is Platform.TELEGRAM and member.identity_id not in opened:
                continue
            locale = resolve_locale(member.language, member.locale_hint, community.language)
            queued += await uow.outbox.add(
                OutboxEntry(
                    dedup_key=(
                        f"recognition:{community.id}:{member.person_id}:{item.kind}:{item.key}"
                    ),
                    kind=PRIVATE_KIND,
                    destination=Destination(
                        member.platform,
                        member.platform_user_id,
                        user_id=member.platform_user_id,
                        is_direct=True,
                    ),
                    message=OutboundMessage(self.private_text(community, member, item, locale)),
                    due_at=after_quiet_hours(now, member.timezone or community.timezone, quiet),
                    community_id=community.id,
                    person_id=member.person_id,
                    is_nudge=True,
                ),
                now,
            )
        if self.participation.config_for(community).congratulate_in_group:
            queued += await uow.outbox.add(
                OutboxEntry(
                    dedup_key=f"recognition-group:{community.id}:{now.isoformat()}",
                    kind=GROUP_KIND,
                    destination=Destination(community.platform, community.chat_id),
                    message=OutboundMessage(self.group_text(community, fresh)),
                    due_at=after_quiet_hours(now, community.timezone, quiet),
                    community_id=community.id,
                ),
                now,
            )
        log.info(
            "recognition queued",
            extra={"community": community.key, "earned": len(fresh), "messages": queued},
        )
        return queued

    def _name(self, locale: str, item: Earned) -> str:
        catalogue = self.services.catalogue
        prompt = f"participation.{'badges' if item.kind == BADGE else 'levels'}.{item.key}"
        return (
            catalogue.text(locale, prompt) if catalogue.has(prompt) else item.key.replace("_", " ")
        )

    def private_text(
        self, community: Community, member: Member, item: Earned, locale: str
    ) -> RichText:
        catalogue = self.services.catalogue
        parts = [
            catalogue.render(
                locale,
                f"participation.congratulate.{item.kind}",
                name=member.display_name,
                award=self._name(locale, item),
                community=community.title,
            )
        ]
        why = f"participation.badge_why.{item.key}"
        if item.kind == BADGE and catalogue.has(why):
            parts.append(catalogue.render(locale, why))
        parts.append(catalogue.render(locale, "participation.congratulate.more"))
        return RichText.join(parts)

    def group_text(self, community: Community, fresh: list[tuple[Member, Earned]]) -> RichText:
        catalogue, locale = self.services.catalogue, community.language
        lines = [catalogue.render(locale, "participation.congratulate.group")]
        for member, item in fresh[:GROUP_LINES]:
            lines.append(
                catalogue.render(
                    locale,
                    f"participation.congratulate.group_{item.kind}",
                    name=member.display_name,
                    award=self._name(locale, item),
                )
            )
        if len(fresh) > GROUP_LINES:
            lines.append(
                catalogue.render(
                    locale, "participation.congratulate.group_more", count=len(fresh) - GROUP_LINES
                )
            )
        return RichText.join(lines)
