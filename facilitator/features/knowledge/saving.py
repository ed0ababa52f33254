"""Answers given in chat become knowledge, and contributions get answered.

`/save` (a reply to the answer on Telegram, `^ /save` in the demo) or the moderators' "Save"
button under a gap's candidate answer turns a chat message into a draft FAQ: the question is
the gap the message answered, or the words after `/save`. Drafts wait in the approval queue
like `/share` proposals; the answer's author is told privately and may withdraw it until it
is approved. Approval credits the author (or the proposer) in the ledger, and both approval
and rejection (with its reason) are told to them privately. Moderators hear of new proposals
in one private message per batch (`ProposalNotice`, a job)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from facilitator.commands.forms import FieldSpec, FormInput, FormSpec, render_form
from facilitator.commands.spec import ArgumentError, parse_id
from facilitator.context import CommandContext, Services
from facilitator.domain.events import ReplyTarget
from facilitator.domain.model import Community, LedgerEntry, Member, ParticipationKind, Role
from facilitator.features.knowledge.domain import ItemStatus, ItemType, KnowledgeItem
from facilitator.features.knowledge.gaps import (
    MAX_ANSWER,
    locale_of,
    member_of_identity,
    staff_of,
    tell,
)
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.render import clip
from facilitator.features.knowledge.text import guess_language
from facilitator.markup import Button, FieldKind, Form, OutboundMessage, RichText
from facilitator.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

WITHDRAW_ACTION = "kb_withdraw"
APPROVE_ACTION = "kb_approve"
SAVED_KIND = "knowledge.saved"
DECISION_KIND = "knowledge.decision"
PROPOSALS_KIND = "knowledge.proposals"
ANNOUNCED_AT_ONCE = 10  # proposals listed in one message to a moderator


@dataclass(frozen=True)
class SaveArgs:
    question: str | None


@dataclass(frozen=True)
class SubmittedSave(SaveArgs):
    """The save form's fields (Slack's message shortcut): the answer as edited, and the
    message it is (the form's context)."""

    answer: str = ""
    context: str = ""


@dataclass(frozen=True)
class Answer:
    """A chat message to save: its words, whose they are and where it is."""

    text: str
    author: Member | None
    key: str
    link: str | None


async def save(ctx: CommandContext, args: SaveArgs) -> None:
    """`/save [question]` as a reply to the answer; or the form it opens where the platform
    draws forms (Slack's message shortcut), submitted."""
    community = ctx.here
    if isinstance(args, SubmittedSave):
        await _save_submitted(ctx, community, args)
        return
    target = ctx.replied
    if target is None or target.is_bot or not (target.text or "").strip():
        ctx.say("kb.save_reply_needed", private=True)
        return
    author = None
    if target.user_id:
        author = await ctx.uow.members.identity(ctx.origin.platform, target.user_id)
    own = author is not None and author.person_id == ctx.member.person_id
    if ctx.role < Role.MODERATOR and not own:
        log.warning("save refused for lack of role", extra={"role": ctx.role.label})
        ctx.say("kb.save_not_allowed", private=True)
        return
    question = (args.question or "").strip()
    if not question:
        gap = await ctx.uow.repo(KnowledgeRepository).gap_answered_by(
            community.id, ctx.origin.platform.value, ctx.origin.chat_id, target.message_id
        )
        question = gap.query if gap is not None else ""
    if ctx.origin.interactive:
        # The platform shows a form at once: question and answer to check before saving.
        form = save_form(ctx, question, clip((target.text or "").strip(), MAX_ANSWER), target)
        ctx.reply(
            OutboundMessage(ctx.rich("kb.save_needs_question"), form=form, ephemeral=True),
            private=True,
        )
        return
    if not question:
        ctx.say("kb.save_needs_question", private=True)
        return
    answer = Answer(
        text=clip((target.text or "").strip(), MAX_ANSWER),
        author=author,
        key=f"chat:{ctx.origin.platform.value}:{ctx.origin.chat_id}:{target.message_id}",
        link=target.link,
    )
    await _draft(ctx, community, question, answer)


def save_form(ctx: CommandContext, question: str, answer: str, target: ReplyTarget) -> Form:
    zone = ctx.here.timezone
    form = render_form(ctx.t, SAVE_FORM, "save", ctx.origin.chat_id, zone)
    initial = {"question": question, "answer": answer}
    context = json.dumps(
        {"message": target.message_id, "author": target.user_id, "link": target.link}
    )
    return replace(
        form,
        fields=tuple(replace(f, initial=initial.get(f.name, f.initial)) for f in form.fields),
        context=context,
    )


async def _save_submitted(ctx: CommandContext, community: Community, args: SubmittedSave) -> None:
    """The form came back: the message it names (kept by the platform, not by the member's
    hands) is checked again, as `/save` checks it."""
    try:
        context = json.loads(args.context)
    except ValueError:
        context = None
    message = context.get("message") if isinstance(context, dict) else None
    if not isinstance(message, str) or not message:
        log.warning("save form without its message")
        ctx.say("errors.stale_button", private=True)
        return
    author_id = context.get("author")
    link = context.get("link")
    author = None
    if isinstance(author_id, str) and author_id:
        author = await ctx.uow.members.identity(ctx.origin.platform, author_id)
    own = author is not None and author.person_id == ctx.member.person_id
    if ctx.role < Role.MODERATOR and not own:
        log.warning("save refused for lack of role", extra={"role": ctx.role.label})
        ctx.say("kb.save_not_allowed", private=True)
        return
    answer = Answer(
        text=clip((args.answer or "").strip(), MAX_ANSWER),
        author=author,
        key=f"chat:{ctx.origin.platform.value}:{ctx.origin.chat_id}:{message}",
        link=link if isinstance(link, str) else None,
    )
    # Saved from a form: the confirmation is for the moderator alone.
    await _draft(ctx, community, (args.question or "").strip(), answer, private=True)


def save_from_form(form: FormInput) -> SubmittedSave:
    question, answer = (form.text(name) for name in ("question", "answer"))
    if not question or not answer:
        raise ArgumentError(
            "errors.missing_argument", arg="question" if not question else "answer"
        )
    return SubmittedSave(question=question[:300], answer=answer[:MAX_ANSWER], context=form.context)


SAVE_FORM: FormSpec[SaveArgs] = FormSpec(
    title_key="forms.save.title",
    submit_key="forms.save.submit",
    fields=(
        FieldSpec("question", "forms.save.question", max_length=300),
        FieldSpec("answer", "forms.save.answer", FieldKind.LONG_TEXT, max_length=MAX_ANSWER),
    ),
    convert=save_from_form,
)


async def save_gap_answer(ctx: CommandContext, value: str) -> None:
    """The moderators' "Save" button under a gap's candidate answer."""
    gap_id = parse_id(value)
    repo = ctx.uow.repo(KnowledgeRepository)
    gap = await repo.gap(gap_id) if gap_id is not None else None
    community = await ctx.uow.communities.get(gap.community_id) if gap is not None else None
    if gap is None or community is None or not gap.answer_text:
        ctx.say("errors.stale_button", private=True)
        return
    if await ctx.acting_role_in(community) < Role.MODERATOR:
        log.warning("save button refused for lack of role", extra={"role": ctx.role.label})
        ctx.say("kb.save_not_allowed", private=True)
        return
    answer = Answer(
        text=gap.answer_text,
        author=await member_of_identity(ctx.uow, gap.answer_identity),
        key=f"chat:{gap.platform}:{gap.chat_id}:{gap.answer_message_id}",
        link=gap.answer_link,
    )
    await _draft(ctx, community, gap.query, answer)


async def _draft(
    ctx: CommandContext,
    community: Community,
    question: str,
    answer: Answer,
    *,
    private: bool = False,
) -> None:
    repo = ctx.uow.repo(KnowledgeRepository)
    now = ctx.services.clock.now()
    existing = await repo.by_key(community.id, answer.key)
    if existing is not None and existing.status is ItemStatus.PUBLISHED:
        ctx.say("kb.save_already", id=existing.id, private=True)
        return
    item = await repo.upsert(
        KnowledgeItem(
            key=answer.key,
            type=ItemType.FAQ,
            title=clip(question, 300),
            body=answer.text,
            lang=guess_language(f"{question} {answer.text}", default=community.language),
            owner=answer.author.display_name if answer.author else None,
            status=ItemStatus.PROPOSED,
            author_id=answer.author.identity_id if answer.author else None,
            owner_id=answer.author.identity_id if answer.author else None,
            source_link=answer.link,
        ),
        community.id,
        now,
        created_by=ctx.member.identity_id,
    )
    log.info("answer saved as a draft", extra={"item": item.id, "community": community.key})
    ctx.say(
        "kb.saved",
        id=item.id,
        title=clip(item.title, 200),
        private=private or ctx.origin.is_direct,
    )
    author = answer.author
    if author is not None and author.person_id != ctx.member.person_id:
        locale = locale_of(author, community)
        catalogue = ctx.catalogue
        body = catalogue.render(locale, "kb.saved_yours", id=item.id, title=clip(item.title, 200))
        button = Button(
            catalogue.text(locale, "kb.withdraw_button"), WITHDRAW_ACTION, str(item.id)
        )
        await tell(
            ctx.uow,
            community,
            author,
            f"{SAVED_KIND}:{item.id}",
            SAVED_KIND,
            OutboundMessage(body, buttons=((button,),)),
            now,
            # Their answer was in the group: if the bot cannot write to them, it names them
            # there, with a link to open a private chat.
            fallback_in_group=True,
        )


@dataclass(frozen=True)
class WithdrawArgs:
    id: int


async def withdraw(ctx: CommandContext, args: WithdrawArgs) -> None:
    await _withdraw(ctx, args.id)


async def withdraw_button(ctx: CommandContext, value: str) -> None:
    item_id = parse_id(value)
    if item_id is None:
        ctx.say("errors.stale_button", private=True)
        return
    await _withdraw(ctx, item_id)


async def _withdraw(ctx: CommandContext, item_id: int) -> None:
    """The author of a saved answer (or the proposer of a resource) takes it back, until a
    moderator has approved it."""
    repo = ctx.uow.repo(KnowledgeRepository)
    item = await repo.get(item_id)
    mine = {m.identity_id for m in await ctx.uow.members.by_person(ctx.member.person_id)}
    if item is None or not ({item.author_id, item.created_by} & mine):
        log.info("withdrawal refused: not the author's")
        ctx.say("kb.not_yours", id=item_id, private=True)
        return
    if item.status is not ItemStatus.PROPOSED:
        ctx.say("kb.not_pending", id=item.id, private=True)
        return
    await repo.save(replace(item, status=ItemStatus.WITHDRAWN), ctx.services.clock.now())
    log.info("draft withdrawn", extra={"item": item.id})
    ctx.say("kb.withdrawn", id=item.id, title=clip(item.title, 200), private=True)


# -- decisions -----------------------------------------------------------------------------


async def credit_contributor(
    ctx: CommandContext, community: Community, item: KnowledgeItem
) -> None:
    """Points for an approved contribution: the author of a saved answer, else its proposer."""
    identity = item.author_id or item.created_by
    if identity is None:
        return
    person = await ctx.uow.members.person_of_identity(identity)
    if person is None:
        return
    kinds: tuple[ParticipationKind, ...] = (ParticipationKind.KNOWLEDGE_CONTRIBUTED,)
    if item.author_id is None:
        kinds = (ParticipationKind.RESOURCE_SHARED, ParticipationKind.KNOWLEDGE_CONTRIBUTED)
    for kind in kinds:
        await ctx.uow.ledger.record(
            LedgerEntry(
                community_id=community.id,
                person_id=person,
                identity_id=identity,
                kind=kind,
                occurred_at=ctx.origin.occurred_at,
                source_event_id=f"approve:{item.id}",
                ref=f"share:{item.id}",
            )
        )


async def tell_decision(
    ctx: CommandContext,
    community: Community,
    item: KnowledgeItem,
    approved: bool,
    reason: str | None,
) -> None:
    """The proposer, and the author of a saved answer, hear what became of it."""
    now = ctx.services.clock.now()
    told: set[int] = {ctx.member.person_id}
    # A saved answer is its author's; the moderator who saved it needs no notice.
    for identity in (item.author_id,) if item.author_id else (item.created_by,):
        member = await member_of_identity(ctx.uow, identity)
        if member is None or member.person_id in told:
            continue
        told.add(member.person_id)
        locale = locale_of(member, community)
        catalogue = ctx.catalogue
        if approved:
            body = catalogue.render(
                locale, "kb.decision_approved", id=item.id, title=clip(item.title, 200)
            )
        else:
            body = catalogue.render(
                locale,
                "kb.decision_rejected",
                id=item.id,
                title=clip(item.title, 200),
                reason=clip(reason, 300) if reason else catalogue.text(locale, "kb.no_reason"),
            )
        await tell(
            ctx.uow,
            community,
            member,
            f"{DECISION_KIND}:{item.id}:{member.person_id}",
            DECISION_KIND,
            OutboundMessage(body),
            now,
        )


# -- moderators hear of proposals ------------------------------------------------------------


class ProposalNotice:
    """The job: the proposals moderators have not heard of, one message per moderator and
    community, each proposal with a button to approve it."""

    def __init__(self, uow_factory: UnitOfWorkFactory, services: Services) -> None:
        self._uow_factory = uow_factory
        self._services = services

    async def run(self, now: datetime) -> int:
        sent = 0
        async with self._uow_factory() as uow:
            repo = uow.repo(KnowledgeRepository)
            waiting = await repo.unannounced()
            by_community: dict[int, list[KnowledgeItem]] = {}
            for item in waiting:
                if item.community_id is not None:
                    by_community.setdefault(item.community_id, []).append(item)
            for community_id, items in by_community.items():
                community = await uow.communities.get(community_id)
                if community is None:
                    continue
                sent += await self._notify(uow, community, items, now)
            await repo.mark_announced([i.id for i in waiting if i.id is not None], now)
            await uow.commit()
        return sent

    async def _notify(
        self, uow: UnitOfWork, community: Community, items: list[KnowledgeItem], now: datetime
    ) -> int:
        catalogue = self._services.catalogue
        sent = 0
        shown = items[:ANNOUNCED_AT_ONCE]
        for moderator in await staff_of(uow, self._services, community):
            if all(moderator.identity_id == i.created_by for i in items):
                continue  # their own proposals
            locale = locale_of(moderator, community)
            parts = [catalogue.render(locale, "kb.proposals_notice", count=len(items))]
            parts.extend(
                catalogue.render(
                    locale,
                    "kb.proposal_line",
                    id=item.id,
                    title=clip(item.title, 120),
                    url=item.url or item.source_link or "",
                    owner=item.owner or "?",
                )
                for item in shown
            )
            buttons = tuple(
                (
                    Button(
                        catalogue.text(locale, "kb.approve_button", id=item.id),
                        APPROVE_ACTION,
                        str(item.id),
                    ),
                )
                for item in shown
            )
            if await tell(
                uow,
                community,
                moderator,
                f"{PROPOSALS_KIND}:{community.id}:{moderator.person_id}:{shown[0].id}",
                PROPOSALS_KIND,
                OutboundMessage(RichText.join(parts), buttons=buttons),
                now,
            ):
                sent += 1
        return sent
