"""👍/👎 under every answer the bot gives.

Each answer is stored (`knowledge_answers`: the item, the question, for whom) and its buttons
name it. One vote per person per answer; voting again changes it. The first 👎 on an answer
records a gap with its question (later 👎 on that answer add no other) and offers the voter to
ask an expert, which tells the moderators privately. A gap recorded by a 👎 is not closed by
the item that was disliked, unless that item changes. Each item's score (👍 and 👎) shows in
`/review` and in the weekly summary."""

from __future__ import annotations

import logging

from facilitator.commands.spec import parse_id
from facilitator.context import CommandContext
from facilitator.features.knowledge.domain import GivenAnswer, KnowledgeGap, KnowledgeItem
from facilitator.features.knowledge.gaps import locale_of, staff_of, tell
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.render import clip
from facilitator.markup import Button, OutboundMessage

log = logging.getLogger(__name__)

VOTE_ACTION = "kb_vote"
ASK_EXPERT_ACTION = "kb_ask_expert"
EXPERT_KIND = "knowledge.expert_wanted"
UP, DOWN = "up", "down"


async def answer_buttons(
    ctx: CommandContext, item: KnowledgeItem, query: str, lang: str
) -> tuple[tuple[Button, ...], ...]:
    """Store the answer being given and return its 👍/👎 buttons (none outside a community)."""
    if ctx.community is None or item.id is None:
        return ()
    answer_id = await ctx.uow.repo(KnowledgeRepository).add_answer(
        GivenAnswer(
            community_id=ctx.community.id,
            item_id=item.id,
            person_id=ctx.member.person_id,
            query=clip(query, 500),
            lang=lang,
            created_at=ctx.services.clock.now(),
        )
    )
    return (
        (
            Button("👍", VOTE_ACTION, f"{answer_id}:{UP}"),
            Button("👎", VOTE_ACTION, f"{answer_id}:{DOWN}"),
        ),
    )


async def vote(ctx: CommandContext, value: str) -> None:
    number, _, choice = value.partition(":")
    answer_id = parse_id(number)
    repo = ctx.uow.repo(KnowledgeRepository)
    answer = await repo.answer(answer_id) if answer_id is not None else None
    if answer is None or answer.id is None or choice not in (UP, DOWN):
        log.info("vote with an unknown answer or choice")
        ctx.say("errors.stale_button", private=True)
        return
    if not await ctx.belongs_to(answer.community_id):
        log.warning("vote from outside the answer's community")
        ctx.say("errors.stale_button", private=True)
        return
    now = ctx.services.clock.now()
    await repo.vote(answer, ctx.member.person_id, 1 if choice == UP else -1, now)
    if choice == UP:
        ctx.say("kb.vote_thanks", private=True)
        return
    gap_id = answer.gap_id
    if gap_id is None:
        gap_id = await repo.add_gap(
            KnowledgeGap(
                community_id=answer.community_id,
                query=answer.query,
                lang=answer.lang,
                created_at=now,
                person_id=ctx.member.person_id,
                identity_id=ctx.member.identity_id,
                platform=ctx.origin.platform.value,
                chat_id=ctx.origin.chat_id,
                is_direct=ctx.origin.is_direct,
                disliked_item=answer.item_id,
            )
        )
        await repo.set_answer_gap(answer.id, gap_id)
        log.info("answer disliked: gap recorded", extra={"item": answer.item_id})
    button = Button(ctx.t("kb.ask_expert_button"), ASK_EXPERT_ACTION, str(gap_id))
    ctx.say("kb.vote_down", buttons=((button,),), private=True)


async def ask_expert(ctx: CommandContext, value: str) -> None:
    """The voter asks for an expert: the moderators are told, once per question."""
    gap_id = parse_id(value)
    repo = ctx.uow.repo(KnowledgeRepository)
    gap = await repo.gap(gap_id) if gap_id is not None else None
    community = await ctx.uow.communities.get(gap.community_id) if gap is not None else None
    if gap is None or community is None or gap.person_id != ctx.member.person_id:
        log.info("expert request for a question that is not the member's")
        ctx.say("errors.stale_button", private=True)
        return
    now = ctx.services.clock.now()
    for moderator in await staff_of(ctx.uow, ctx.services, community):
        locale = locale_of(moderator, community)
        body = ctx.catalogue.render(
            locale,
            "kb.expert_wanted",
            name=ctx.member.display_name,
            question=clip(gap.query, 300),
            id=gap.id,
        )
        await tell(
            ctx.uow,
            community,
            moderator,
            f"{EXPERT_KIND}:{gap.id}:{moderator.person_id}",
            EXPERT_KIND,
            OutboundMessage(body),
            now,
        )
    ctx.say("kb.expert_asked", private=True)


def score_text(scores: dict[int, tuple[int, int]], item_id: int | None) -> str:
    """ "👍 3 · 👎 1", or "" for an item nobody rated."""
    up, down = scores.get(item_id or -1, (0, 0))
    return f"👍 {up} · 👎 {down}" if up or down else ""
