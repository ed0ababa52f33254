"""`/match on|off`, the consent buttons, the check-back buttons and the learning that
follows.

Consent is mutual and blind: until both accepted, each side knows only the other's
community and the theme (the asker also sees their own question). Only then does each get
the other's name and a mention (on the same platform), and the expert the question. A press
on a match that is not the presser's, or that is decided already, is refused with one log
line. The asker who met is asked what they learnt: their next private text is proposed to
their community's repository as a draft, through the knowledge feature's proposal queue."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from facilitator.commands.spec import Arg, ArgKind, CommandSpec, Topic, parse_id
from facilitator.context import CommandContext, Services
from facilitator.domain.events import MessageReceived
from facilitator.domain.model import Member
from facilitator.features.knowledge.domain import ItemStatus, ItemType, KnowledgeItem
from facilitator.features.knowledge.gaps import MAX_ANSWER
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.render import clip
from facilitator.features.knowledge.saving import WITHDRAW_ACTION
from facilitator.features.knowledge.text import guess_language
from facilitator.features.matchmaking.domain import Answer, Match
from facilitator.features.matchmaking.messages import (
    SKIP_ACTION,
    locale,
    queue,
    reachable,
)
from facilitator.features.matchmaking.ports import MatchRepository
from facilitator.features.matchmaking.rounds import not_this_month
from facilitator.markup import Block, Button, OutboundMessage, RichText, Span, Style
from facilitator.ports import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatchArgs:
    value: str | None


async def match(ctx: CommandContext, args: MatchArgs) -> None:
    """`/match`: whether the member takes part in the monthly rounds; `on` or `off`."""
    repo = ctx.uow.repo(MatchRepository)
    person = ctx.member.person_id
    if args.value is None:
        on = await repo.opted_in(person)
        ctx.say("matchmaking.is_on" if on else "matchmaking.is_off", private=True)
        return
    on = args.value == "on"
    await repo.set_opted_in(person, on, ctx.services.clock.now())
    log.info("matchmaking opt-in changed", extra={"on": on})
    ctx.say("matchmaking.on" if on else "matchmaking.off", private=True)


# -- consent ---------------------------------------------------------------------------------


async def _own(ctx: CommandContext, value: str) -> tuple[Match, str] | None:
    """The match a button names, if the presser is one of its two people."""
    match_id = parse_id(value)
    found = await ctx.uow.repo(MatchRepository).get(match_id) if match_id is not None else None
    side = found.side_of(ctx.member.person_id) if found is not None else None
    if found is None or side is None:
        log.warning("match button refused: not theirs", extra={"match": match_id})
        ctx.say("errors.stale_button", private=True)
        return None
    return found, side


async def accept_button(ctx: CommandContext, value: str) -> None:
    await _answer(ctx, value, Answer.ACCEPTED)


async def decline_button(ctx: CommandContext, value: str) -> None:
    await _answer(ctx, value, Answer.DECLINED)


async def _answer(ctx: CommandContext, value: str, answer: Answer) -> None:
    own = await _own(ctx, value)
    if own is None:
        return
    found, side = own
    assert found.id is not None
    repo = ctx.uow.repo(MatchRepository)
    updated = await repo.answer(found.id, side, answer)
    if updated is None:
        log.warning("match button refused: decided", extra={"match": found.id})
        ctx.say("matchmaking.decided", private=True)
        return
    now = ctx.services.clock.now()
    if answer is Answer.DECLINED:
        await repo.decline(found.id)
        log.info("match declined", extra={"match": found.id})
        await not_this_month(
            ctx.uow, ctx.services, updated, now, "declined", skip=ctx.member.person_id
        )
        ctx.say("matchmaking.declined", private=True)
        return
    if await repo.introduce(found.id, now):
        log.info("match introduced", extra={"match": found.id})
        await introduce(ctx.uow, ctx.services, updated, now)
        ctx.say("matchmaking.both_accepted", private=True)
        return
    ctx.say("matchmaking.waiting", private=True)


def _reach(member: Member, other: Member) -> RichText:
    """The other's name as a mention where both are on one platform (the only way the
    platform lets one reach the other), else as text."""
    if member.platform is other.platform:
        return RichText(
            (Block((Span(other.display_name, Style.MENTION, user_id=other.platform_user_id),)),)
        )
    return RichText((Block((Span(f"{other.display_name} ({other.platform.value})"),)),))


async def introduce(uow: UnitOfWork, services: Services, match: Match, now: datetime) -> None:
    """Both accepted: each learns the other's name, community and a way to reach them; the
    expert learns the question."""
    assert match.id is not None
    asker_home = await uow.communities.get(match.asker_community_id)
    expert_home = await uow.communities.get(match.expert_community_id)
    if asker_home is None or expert_home is None:
        return
    asker = await reachable(uow, match.asker_id, asker_home)
    expert = await reachable(uow, match.expert_id, expert_home)
    if asker is None or expert is None:
        return
    catalogue = services.catalogue
    lang = locale(asker, asker_home)
    await queue(
        uow,
        asker_home,
        asker,
        f"intro:{match.id}:asker",
        catalogue.render(
            lang,
            "matchmaking.intro_asker",
            name=expert.display_name,
            community=expert_home.title,
            theme=match.theme,
        )
        + catalogue.render(lang, "matchmaking.write_to")
        + _reach(asker, expert),
        now,
    )
    lang = locale(expert, expert_home)
    await queue(
        uow,
        expert_home,
        expert,
        f"intro:{match.id}:expert",
        catalogue.render(
            lang,
            "matchmaking.intro_expert",
            name=asker.display_name,
            community=asker_home.title,
            theme=match.theme,
            question=match.question,
        )
        + catalogue.render(lang, "matchmaking.write_to")
        + _reach(expert, asker),
        now,
    )


# -- check-back ------------------------------------------------------------------------------


async def met_button(ctx: CommandContext, value: str) -> None:
    await _met(ctx, value, True)


async def missed_button(ctx: CommandContext, value: str) -> None:
    await _met(ctx, value, False)


async def _met(ctx: CommandContext, value: str, met: bool) -> None:
    own = await _own(ctx, value)
    if own is None:
        return
    found, side = own
    assert found.id is not None
    updated = await ctx.uow.repo(MatchRepository).met(found.id, side, met)
    if updated is None:
        log.warning("match check-back refused: not due or answered", extra={"match": found.id})
        ctx.say("matchmaking.decided", private=True)
        return
    log.info("match check-back answered", extra={"match": found.id, "met": met})
    if not met:
        ctx.say("matchmaking.missed", private=True)
        return
    if side == "expert":
        ctx.say("matchmaking.glad", private=True)
        return
    home = await ctx.uow.communities.get(found.asker_community_id)
    ctx.reply(
        OutboundMessage(
            ctx.rich("matchmaking.learning_ask", community=home.title if home else ""),
            buttons=((Button(ctx.t("matchmaking.skip_button"), SKIP_ACTION, str(found.id)),),),
        ),
        private=True,
    )


async def skip_button(ctx: CommandContext, value: str) -> None:
    own = await _own(ctx, value)
    if own is None:
        return
    found, side = own
    assert found.id is not None
    if side != "asker" or not await ctx.uow.repo(MatchRepository).learnt(found.id, None):
        log.warning("match learning skip refused", extra={"match": found.id})
        ctx.say("matchmaking.decided", private=True)
        return
    ctx.say("matchmaking.skipped", private=True)


async def take_learning(ctx: CommandContext, event: MessageReceived) -> bool:
    """The asker's next private text after saying they met: what they learnt, proposed to
    their community's repository (question: their question; answer: their words). Only a
    private message is taken: what someone says in a group is never their learning."""
    if event.is_edit or not ctx.origin.is_direct:
        return False
    repo = ctx.uow.repo(MatchRepository)
    found = await repo.awaiting_learning(ctx.member.person_id)
    text = event.text.strip()
    if found is None or found.id is None or not text:
        return False
    home = await ctx.uow.communities.get(found.asker_community_id)
    membership = (
        await ctx.uow.members.membership(found.asker_id, home.id) if home is not None else None
    )
    if home is None or membership is None or membership.left_at is not None:
        # They left the community: nothing is proposed there in their name.
        await repo.learnt(found.id, None)
        ctx.say("matchmaking.learning_kept_out", private=True)
        return True
    now = ctx.services.clock.now()
    question = clip(found.question, 300)
    item = await ctx.uow.repo(KnowledgeRepository).upsert(
        KnowledgeItem(
            key=f"match:{found.id}",
            type=ItemType.FAQ,
            title=question,
            body=clip(text, MAX_ANSWER),
            lang=guess_language(f"{question} {text}", default=home.language),
            owner=ctx.member.display_name,
            status=ItemStatus.PROPOSED,
            author_id=ctx.member.identity_id,
            owner_id=ctx.member.identity_id,
        ),
        home.id,
        now,
        created_by=ctx.member.identity_id,
    )
    await repo.learnt(found.id, item.id)
    log.info("match learning proposed", extra={"match": found.id, "item": item.id})
    ctx.reply(
        OutboundMessage(
            ctx.rich("matchmaking.learning_proposed", id=item.id, community=home.title),
            buttons=((Button(ctx.t("kb.withdraw_button"), WITHDRAW_ACTION, str(item.id)),),),
        ),
        private=True,
    )
    return True


COMMANDS = (
    CommandSpec(
        "match",
        match,
        MatchArgs,
        args=(Arg("value", ArgKind.CHOICE, required=False, choices=("on", "off")),),
        topic=Topic.PEOPLE,
    ),
)
