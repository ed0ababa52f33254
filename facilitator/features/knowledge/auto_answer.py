"""Answering questions asked in a group, when a community turns it on and nobody else has."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from facilitator.context import CommandContext, Reply, Services
from facilitator.domain.events import Origin
from facilitator.domain.model import Community, PlatformUser, Question, Role
from facilitator.features.knowledge.render import render_item
from facilitator.features.knowledge.service import KnowledgeBase, Outcome
from facilitator.i18n import resolve_locale
from facilitator.markup import OutboundMessage
from facilitator.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

SETTING = "auto_answer"
# Wait this long for a person to answer first; give up on questions older than the window.
DEFAULT_DELAY = timedelta(minutes=10)
WINDOW = timedelta(hours=24)
BATCH = 50


class AutoAnswer:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        services: Services,
        send: Callable[[Sequence[Reply]], Awaitable[None]],
        delay: timedelta = DEFAULT_DELAY,
    ) -> None:
        self._uow_factory = uow_factory
        self._services = services
        self._send = send
        self._delay = delay

    @property
    def _knowledge(self) -> KnowledgeBase:
        base = self._services.feature(KnowledgeBase)
        assert isinstance(base, KnowledgeBase)
        return base

    async def run(self, now: datetime) -> int:
        """Answer every due open question of the communities that turned this on."""
        async with self._uow_factory() as uow:
            communities = [
                c for c in await uow.communities.all() if c.active and c.setting(SETTING) is True
            ]
        answered = 0
        for community in communities:
            replies: list[Reply] = []
            async with self._uow_factory() as uow:
                await self._knowledge.sync(uow)
                due = await uow.questions.due_for_bot(
                    community.id, now - WINDOW, now - self._delay, BATCH
                )
                for question in due:
                    reply = await self._answer(uow, community, question, now)
                    if reply is not None:
                        replies.append(reply)
                await uow.commit()
            # Sent after the claim is committed: a crash in between loses an answer, never
            # repeats one.
            await self._send(replies)
            answered += len(replies)
        return answered

    async def _answer(
        self, uow: UnitOfWork, community: Community, question: Question, now: datetime
    ) -> Reply | None:
        text = question.text or ""
        vector = await self._knowledge.query_vector(text)
        result = self._knowledge.lookup(community.id, text, lang=question.lang, vector=vector)
        # Nobody asked the bot, so only an answer it would give outright is worth saying: never
        # "did you mean" choices, never an admission of not knowing.
        confident = result.outcome is Outcome.ANSWER and result.best is not None
        if not await uow.questions.mark_bot_checked(question.id, now, answered=confident):
            return None  # another process took it
        if not confident or result.best is None:
            return None
        asker = next(
            (
                m
                for m in await uow.members.by_person(question.person_id)
                if m.identity_id == question.identity_id
            ),
            None,
        )
        if asker is None:
            return None
        origin = Origin(
            platform=community.platform,
            event_id=f"auto-answer:{question.id}",
            chat_id=community.chat_id,
            user=PlatformUser(community.platform, asker.platform_user_id, asker.display_name),
            occurred_at=now,
            thread_id=question.thread_id,
            message_id=question.message_id,
        )
        locale = resolve_locale(asker.language, asker.locale_hint, community.language)
        ctx = CommandContext(uow, self._services, origin, asker, community, Role.MEMBER, locale)
        body = ctx.rich("kb.auto_answer") + render_item(ctx, result.best, result.see_also)
        log.info("question answered from the repository", extra={"question": question.id})
        return ctx.destination(), OutboundMessage(body)
