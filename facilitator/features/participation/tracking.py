"""Participation credited to others: thanks, reactions, thanked answers, welcomes, resources.

The core records what a person does (a message, a question, an answer, a reaction given);
this hook records what others' events say about someone: the person thanked or reacted to,
the answerer whose answer was thanked, the member who welcomed a newcomer. Nobody is credited
for their own message, edits never count, and every entry has a key that a redelivered event
repeats, so it is recorded once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from facilitator.commands.spec import split_command
from facilitator.context import CommandContext
from facilitator.domain.events import InboundEvent, MessageReceived, ReactionChanged
from facilitator.domain.model import LedgerEntry, ParticipationKind
from facilitator.features.participation.config import ParticipationConfig
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.participation.signals import is_thanks, is_welcome, normalize_reaction


@dataclass(frozen=True)
class Credited:
    person_id: int
    identity_id: int


class Tracker:
    """The core's event hook for participation (registered by `participation.register`)."""

    def __init__(self, config: ParticipationConfig) -> None:
        self.config = config

    def config_for(self, ctx: CommandContext) -> ParticipationConfig:
        overrides = ctx.community.setting("participation") if ctx.community else None
        return self.config.overridden(overrides if isinstance(overrides, dict) else None)

    async def __call__(self, ctx: CommandContext, event: InboundEvent) -> None:
        if ctx.community is None or ctx.origin.is_direct:
            return
        match event:
            case MessageReceived(is_edit=False) if split_command(event.text) is None:
                await self._message(ctx, event)
            case ReactionChanged(added=True):
                await self._reaction(ctx, event)

    async def _message(self, ctx: CommandContext, event: MessageReceived) -> None:
        if event.has_link or event.has_file:
            await credit(
                ctx,
                ParticipationKind.RESOURCE_SHARED,
                _me(ctx),
                ref="file" if event.has_file else "link",
            )
        target = event.reply_to
        if target is None or target.is_bot:
            return
        recipient = await author(ctx, target.message_id, target.user_id)
        if recipient is None:
            return
        if is_thanks(event.text):
            await self._thanks(ctx, recipient, target.message_id)
        if is_welcome(event.text) and recipient.person_id != ctx.member.person_id:
            await self._welcome(ctx, recipient)

    async def _thanks(self, ctx: CommandContext, recipient: Credited, message_id: str) -> None:
        assert ctx.community is not None
        uow = ctx.uow
        if recipient.person_id == ctx.member.person_id:
            # Thanks in reply to one's own question (a Slack thread, say) thanks its answerer.
            question = await uow.questions.by_message(ctx.community.id, message_id)
            answerer = question.answered_by if question else None
            if question is None or answerer is None or answerer == ctx.member.person_id:
                return
            identities = await uow.members.by_person(answerer)
            if not identities:
                return
            thanked = Credited(answerer, identities[0].identity_id)
            await credit(ctx, ParticipationKind.THANKS_RECEIVED, thanked)
            await credit(
                ctx,
                ParticipationKind.ANSWER_THANKED,
                thanked,
                source=f"thanked:q:{question.id}",
            )
            return
        await credit(ctx, ParticipationKind.THANKS_RECEIVED, recipient)
        posted = await uow.repo(ParticipationRepository).message_author(
            ctx.community.id, message_id
        )
        if posted is not None and posted.was_answer and posted.person_id == recipient.person_id:
            # However many thank it, an answer is a thanked answer once.
            await credit(
                ctx,
                ParticipationKind.ANSWER_THANKED,
                recipient,
                source=f"thanked:{posted.source_event_id}",
            )

    async def _welcome(self, ctx: CommandContext, newcomer: Credited) -> None:
        assert ctx.community is not None
        since = ctx.origin.occurred_at - timedelta(days=self.config_for(ctx).newcomer_days)
        if await ctx.uow.repo(ParticipationRepository).joined_since(
            ctx.community.id, newcomer.person_id, since
        ):
            await credit(ctx, ParticipationKind.NEWCOMER_WELCOMED, _me(ctx))

    async def _reaction(self, ctx: CommandContext, event: ReactionChanged) -> None:
        emoji = normalize_reaction(event.emoji)
        if emoji not in self.config_for(ctx).reactions:
            return
        recipient = await author(ctx, event.target_message_id, event.target_user_id)
        if recipient is None or recipient.person_id == ctx.member.person_id:
            return
        # One credit per message, emoji and reacting person, however often it is toggled.
        reactor = hashlib.blake2b(
            str(ctx.member.person_id).encode(), digest_size=6, person=b"reaction"
        ).hexdigest()
        await credit(
            ctx,
            ParticipationKind.REACTION_RECEIVED,
            recipient,
            source=f"reaction:{event.target_message_id}:{emoji}:{reactor}",
            ref=emoji,
        )


def _me(ctx: CommandContext) -> Credited:
    return Credited(ctx.member.person_id, ctx.member.identity_id)


async def author(
    ctx: CommandContext, message_id: str, platform_user_id: str | None
) -> Credited | None:
    """Who wrote a message: the platform says so, or the ledger remembers who posted it."""
    if platform_user_id is not None:
        member = await ctx.uow.members.identity(ctx.origin.platform, platform_user_id)
        if member is not None:
            return Credited(member.person_id, member.identity_id)
    if ctx.community is None:
        return None
    posted = await ctx.uow.repo(ParticipationRepository).message_author(
        ctx.community.id, message_id
    )
    return Credited(posted.person_id, posted.identity_id) if posted else None


async def credit(
    ctx: CommandContext,
    kind: ParticipationKind,
    whom: Credited,
    *,
    source: str | None = None,
    ref: str | None = None,
) -> None:
    if ctx.community is None:
        return
    await ctx.uow.ledger.add(
        LedgerEntry(
            community_id=ctx.community.id,
            person_id=whom.person_id,
            identity_id=whom.identity_id,
            kind=kind,
            occurred_at=ctx.origin.occurred_at,
            source_event_id=source or ctx.origin.event_id,
            ref=ref,
        )
    )
