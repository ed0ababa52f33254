"""The nudges of a community: what happens on events, in the daily scan and the hourly check.

- A newcomer gets the group welcome (the core's) and, where the bot may write privately, a
  private welcome: the community's purpose, how to use the bot, and `/intro`.
- The daily scan (at `scan_at` in the community's time zone) follows up newcomers who have not
  written after `newcomer_days`, and members who were active and have been silent for
  `reengage_days`.
- The check for unanswered questions pings up to `experts` members who know the question's
  theme, as a reply to the question, after `unanswered_hours`; `moderators_hours` later,
  moderators. Nobody is pinged twice for one question.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from facilitator.context import CommandContext, Services
from facilitator.domain.events import (
    ButtonPressed,
    CommandInvoked,
    InboundEvent,
    MemberJoined,
    MessageReceived,
)
from facilitator.domain.model import (
    QUESTION_TEXT,
    Community,
    Member,
    Membership,
    Platform,
    Question,
    Role,
)
from facilitator.features.knowledge.domain import ItemStatus, ItemType
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.render import clip
from facilitator.features.knowledge.service import KnowledgeBase
from facilitator.features.nudges.config import NudgeConfig
from facilitator.features.nudges.domain import Activity, NudgeKind
from facilitator.features.nudges.planner import NudgePlanner
from facilitator.features.nudges.ports import NudgeRepository
from facilitator.features.profiles.experts import profile_matches, rank_experts, topic_of_text
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.markup import OutboundMessage, RichText
from facilitator.ports import UnitOfWork, UnitOfWorkFactory
from facilitator.questions import is_question
from facilitator.scheduling import CronJob, CronSource

log = logging.getLogger(__name__)

SCAN_PREFIX = "nudges:scan:"
# Followed up within this many days after `newcomer_days`; older newcomers are left alone.
NEWCOMER_WINDOW = timedelta(days=14)
QUESTION_WINDOW = timedelta(days=7)
RECENT_RESOURCES = timedelta(days=90)
QUOTE = 200
EXPERTS_THEME = "nudges.unanswered.experts_theme"
EXPERTS_PLAIN = "nudges.unanswered.experts"
Hint = tuple[str, str] | None  # ("question" or "resource", its text)


class Nudges:
    def __init__(self, uow_factory: UnitOfWorkFactory, services: Services) -> None:
        self._uow_factory = uow_factory
        self._services = services

    @property
    def _knowledge(self) -> KnowledgeBase | None:
        base = self._services.optional(KnowledgeBase)
        return base if isinstance(base, KnowledgeBase) else None

    # -- events -------------------------------------------------------------------------------

    async def on_event(self, ctx: CommandContext, event: InboundEvent) -> None:
        """Runs after the core handled an event (`Services.event_hooks`)."""
        now = self._services.clock.now()
        direct_contact = isinstance(event, MessageReceived | CommandInvoked | ButtonPressed)
        if ctx.origin.is_direct and direct_contact and ctx.origin.platform is Platform.TELEGRAM:
            # Only a person who wrote to the bot privately can be written to privately.
            await ctx.uow.repo(ProfileRepository).open_private_chat(ctx.member.identity_id, now)
        if ctx.community is None:
            return
        if isinstance(event, MemberJoined) and not event.member.is_bot:
            await self._welcome(ctx, event)
        elif isinstance(event, MessageReceived) and not ctx.origin.is_direct:
            await self._remember_topic(ctx, event)

    async def _welcome(self, ctx: CommandContext, event: MemberJoined) -> None:
        community = ctx.community
        assert community is not None
        config = NudgeConfig.of(community)
        if not config.welcome_dm:
            return
        newcomer = await ctx.uow.members.identity(event.member.platform, event.member.user_id)
        if newcomer is None:
            return
        planner = NudgePlanner(ctx.uow, self._services, community, config, ctx.origin.occurred_at)
        await planner.nudge(
            NudgeKind.WELCOME,
            "joined",
            [newcomer],
            personal=lambda member, locale: OutboundMessage(
                self._welcome_text(community, member, locale)
            ),
            group=None,  # the group welcome is the core's, sent as the join's reply
        )

    def _welcome_text(self, community: Community, member: Member, locale: str) -> RichText:
        catalogue = self._services.catalogue
        parts = [
            catalogue.render(
                locale, "nudges.welcome.hello", name=member.display_name, community=community.title
            )
        ]
        purpose = _purpose(community, locale)
        if purpose:
            parts.append(catalogue.render(locale, "nudges.welcome.purpose", purpose=purpose))
        parts.append(catalogue.render(locale, "nudges.welcome.how"))
        parts.append(catalogue.render(locale, "nudges.welcome.intro"))
        return RichText.join(parts)

    async def _remember_topic(self, ctx: CommandContext, event: MessageReceived) -> None:
        """A new question's theme and terms, kept after its text is dropped on answering."""
        community = ctx.community
        if community is None or not ctx.origin.message_id or not is_question(event.text):
            return
        base = self._knowledge
        if base is not None:
            await base.sync(ctx.uow)
        # The text as the question keeps it; the topic goes with the question this event
        # stored, if it stored one (`set_question_topic` finds it).
        topic = topic_of_text(base, community.id, event.text[:QUESTION_TEXT])
        await ctx.uow.repo(ProfileRepository).set_question_topic(
            community.id, ctx.origin.event_id, topic.theme, sorted(topic.terms)
        )

    # -- schedules ----------------------------------------------------------------------------

    def schedules(self) -> CronSource:
        return CronSource(SCAN_PREFIX, self.scan_jobs)

    async def scan_jobs(self) -> Sequence[CronJob]:
        async with self._uow_factory() as uow:
            communities = [c for c in await uow.communities.all() if c.active]
        jobs = []
        for community in communities:
            config = NudgeConfig.of(community)
            if not (config.newcomer or config.reengage):
                continue

            async def run(now: datetime, community_id: int = community.id) -> int:
                return await self.scan(community_id, now)

            jobs.append(
                CronJob(f"{SCAN_PREFIX}{community.key}", config.scan_cron, community.timezone, run)
            )
        return jobs

    # -- the daily scan -----------------------------------------------------------------------

    async def scan(self, community_id: int, now: datetime) -> int:
        """Newcomer follow-ups and re-engagement for one community; how many were queued."""
        async with self._uow_factory() as uow:
            community = await uow.communities.get(community_id)
            if community is None or not community.active:
                return 0
            config = NudgeConfig.of(community)
            planner = NudgePlanner(uow, self._services, community, config, now)
            members = [
                (m, ms)
                for m, ms in await uow.members.members_of(community.id)
                if ms.left_at is None
            ]
            activity = await uow.repo(NudgeRepository).activity(community.id)
            queued = 0
            if config.newcomer:
                queued += await self._newcomers(uow, planner, community, config, members, now)
            if config.reengage:
                queued += await self._silent(planner, community, config, members, activity, now)
            await uow.commit()
        return queued

    async def _newcomers(
        self,
        uow: UnitOfWork,
        planner: NudgePlanner,
        community: Community,
        config: NudgeConfig,
        members: list[tuple[Member, Membership]],
        now: datetime,
    ) -> int:
        due = now - timedelta(days=config.newcomer_days)
        activity = await uow.repo(NudgeRepository).activity(community.id)
        quiet = [
            (member, membership)
            for member, membership in members
            if due - NEWCOMER_WINDOW < membership.joined_at <= due
            and membership.role < Role.MODERATOR
            and _silent_since(activity.get(member.person_id), membership.joined_at)
        ]
        if not quiet:
            return 0
        refs = {m.person_id: f"joined:{ms.joined_at.date().isoformat()}" for m, ms in quiet}
        private = await planner.private_ok([m for m, _ in quiet])
        queued = 0
        # Privately, each with a hint of their own; the others in one group mention.
        for member, _ in quiet:
            if member.person_id not in private:
                continue
            hint = await self._hint_for(uow, community, member, now)

            def personal(m: Member, locale: str, hint: Hint = hint) -> OutboundMessage:
                return OutboundMessage(
                    self._newcomer_text(community, m, locale, config.newcomer_days, hint)
                )

            plan = await planner.nudge(
                NudgeKind.NEWCOMER, refs, [member], personal=personal, group=None
            )
            queued += len(plan.direct)
        others = [m for m, _ in quiet if m.person_id not in private]
        if others:
            plan = await planner.nudge(
                NudgeKind.NEWCOMER,
                refs,
                others,
                personal=None,
                group=lambda locale: self._services.catalogue.render(
                    locale, "nudges.newcomer.group", community=community.title
                ),
            )
            queued += len(plan.mentioned)
        return queued

    def _newcomer_text(
        self,
        community: Community,
        member: Member,
        locale: str,
        days: int,
        hint: tuple[str, str] | None,
    ) -> RichText:
        catalogue = self._services.catalogue
        parts = [
            catalogue.render(
                locale,
                "nudges.newcomer.hello",
                name=member.display_name,
                community=community.title,
                count=days,
            )
        ]
        if hint is not None:
            key, text = hint
            parts.append(catalogue.render(locale, f"nudges.hints.{key}", text=text))
        else:
            parts.append(catalogue.render(locale, "nudges.hints.none"))
        return RichText.join(parts)

    async def _hint_for(
        self, uow: UnitOfWork, community: Community, member: Member, now: datetime
    ) -> tuple[str, str] | None:
        """A recent open question in the member's theme, else a recent resource of it."""
        profile = await uow.repo(ProfileRepository).get(member.person_id)
        expertise = profile.expertise if profile else ()
        questions = await uow.repo(NudgeRepository).open_questions(
            community.id, now - QUESTION_WINDOW, now, 50
        )
        for question in reversed(questions):
            if question.person_id == member.person_id or not question.text:
                continue
            topic = topic_of_text(None, community.id, question.text)
            if expertise and profile_matches(expertise, topic):
                return "question", clip(question.text, QUOTE)
        items = [
            item
            for item in await uow.repo(KnowledgeRepository).in_scope(
                community.id, [ItemStatus.PUBLISHED]
            )
            if item.type is not ItemType.FAQ
            and item.created_at is not None
            and item.created_at >= now - RECENT_RESOURCES
        ]
        items.sort(key=lambda item: item.created_at or now, reverse=True)
        for item in items:
            if not expertise or profile_matches(expertise, topic_of_text(None, 0, item.title)):
                return "resource", clip(item.title, QUOTE)
        if questions:
            return "question", clip(questions[-1].text or "", QUOTE)
        return None

    async def _silent(
        self,
        planner: NudgePlanner,
        community: Community,
        config: NudgeConfig,
        members: list[tuple[Member, Membership]],
        activity: dict[int, Activity],
        now: datetime,
    ) -> int:
        silent_since = now - timedelta(days=config.reengage_days)
        refs: dict[int, str] = {}
        silent: list[Member] = []
        for member, _ in members:
            seen = activity.get(member.person_id)
            # No tracking, no way to tell silence from absence: people who opted out are left be.
            if member.opted_out_tracking or seen is None or seen.last_at is None:
                continue
            if seen.messages < config.reengage_min_messages or seen.last_at > silent_since:
                continue
            silent.append(member)
            refs[member.person_id] = f"silent:{seen.last_at.date().isoformat()}"
        if not silent:
            return 0
        plan = await planner.nudge(
            NudgeKind.REENGAGE,
            refs,
            silent,
            personal=lambda m, locale: OutboundMessage(
                self._services.catalogue.render(
                    locale,
                    "nudges.reengage.private",
                    name=m.display_name,
                    community=community.title,
                )
            ),
            group=lambda locale: self._services.catalogue.render(
                locale, "nudges.reengage.group", community=community.title
            ),
        )
        return len(plan.direct) + len(plan.mentioned)

    # -- unanswered questions -----------------------------------------------------------------

    async def check_unanswered(self, now: datetime) -> int:
        """Every community: ping experts, then moderators, about questions left unanswered."""
        async with self._uow_factory() as uow:
            communities = [c for c in await uow.communities.all() if c.active]
        queued = 0
        for community in communities:
            config = NudgeConfig.of(community)
            if not config.unanswered:
                continue
            async with self._uow_factory() as uow:
                base = self._knowledge
                if base is not None:
                    await base.sync(uow)
                planner = NudgePlanner(uow, self._services, community, config, now)
                waited = timedelta(hours=config.unanswered_hours)
                questions = await uow.repo(NudgeRepository).open_questions(
                    community.id, now - QUESTION_WINDOW, now - waited, 100
                )
                for question in questions:
                    queued += await self._escalate(uow, planner, community, config, question, now)
                await uow.commit()
        return queued

    async def _escalate(
        self,
        uow: UnitOfWork,
        planner: NudgePlanner,
        community: Community,
        config: NudgeConfig,
        question: Question,
        now: datetime,
    ) -> int:
        ref = f"q:{question.id}"
        experts_pinged = await uow.repo(NudgeRepository).nudged_for(
            community.id, NudgeKind.UNANSWERED, ref
        )
        moderators_pinged = await uow.repo(NudgeRepository).nudged_for(
            community.id, NudgeKind.ESCALATED, ref
        )
        already = experts_pinged | moderators_pinged | {question.person_id}
        members = {
            m.person_id: (m, ms)
            for m, ms in await uow.members.members_of(community.id)
            if ms.left_at is None
        }
        hours = int((now - question.asked_at).total_seconds() // 3600)
        text = clip(question.text or "", QUOTE)
        if not experts_pinged and not moderators_pinged:
            topic = topic_of_text(self._knowledge, community.id, question.text or "")
            ranked = await rank_experts(uow, community.id, topic, exclude=already)
            experts = [
                members[person][0]
                for person, _ in ranked
                if person in members and not members[person][0].opted_out_nudges
            ]
            chosen: list[Member] = []
            for expert in experts:
                if len(chosen) >= config.experts:
                    break
                if await planner.may_nudge(expert, NudgeKind.UNANSWERED):
                    chosen.append(expert)
            if chosen:
                theme = topic.theme.replace("-", " ") if topic.theme else ""
                plan = await planner.nudge(
                    NudgeKind.UNANSWERED,
                    ref,
                    chosen,
                    personal=None,
                    group=lambda locale: self._services.catalogue.render(
                        locale,
                        "nudges.unanswered.experts_theme"
                        if theme
                        else "nudges.unanswered.experts",
                        count=hours,
                        theme=theme,
                    ),
                    reply_to=question.message_id,
                    thread_id=question.thread_id,
                )
                return len(plan.mentioned)
        escalate_at = question.asked_at + timedelta(
            hours=config.unanswered_hours + (config.moderators_hours if experts_pinged else 0)
        )
        if moderators_pinged or now < escalate_at:
            return 0
        moderators = [
            m
            for person, (m, ms) in members.items()
            if ms.role >= Role.MODERATOR and person not in already
        ]
        if not moderators:
            return 0
        plan = await planner.nudge(
            NudgeKind.ESCALATED,
            ref,
            moderators,
            personal=lambda m, locale: OutboundMessage(
                self._services.catalogue.render(
                    locale,
                    "nudges.unanswered.moderator_private",
                    name=m.display_name,
                    community=community.title,
                    count=hours,
                    question=text,
                )
            ),
            group=lambda locale: self._services.catalogue.render(
                locale, "nudges.unanswered.moderators_group", count=hours
            ),
            reply_to=question.message_id,
            thread_id=question.thread_id,
        )
        return len(plan.direct) + len(plan.mentioned)


def _purpose(community: Community, locale: str) -> str:
    purposes = community.setting("purpose", {})
    if isinstance(purposes, dict):
        return str(purposes.get(locale) or purposes.get("en") or "")
    return ""


def _silent_since(activity: Activity | None, joined_at: datetime) -> bool:
    return activity is None or activity.last_at is None or activity.last_at < joined_at
