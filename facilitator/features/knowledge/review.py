"""Review-by dates that keep the repository alive.

Once a month (`ReviewReminder`, a daily job that writes to each person at most once a month)
each item's owner is told which of their items are past or near their review date; items
whose owner is no longer a member go to the community's moderators. Each item comes with three
buttons: still valid (the date moves a year on), update (how to send the new text), retire.
An owner is a member: `owner_id` (set by `/faq add`, `/doc add`, a saved answer's author, or
`/faq edit <id> owner @member`), else the `owner` name of an ingested file when it names
exactly one member of the community."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta

from facilitator.commands.spec import parse_id
from facilitator.context import CommandContext, Services
from facilitator.domain.model import Community, Member, Role
from facilitator.features.knowledge.domain import ItemStatus, KnowledgeItem
from facilitator.features.knowledge.gaps import locale_of, member_of_identity, staff_of, tell
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.render import clip
from facilitator.localtime import local
from facilitator.markup import Button, OutboundMessage, Section
from facilitator.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

REVIEW_KIND = "knowledge.review"
KEEP_ACTION = "kb_review_keep"
EDIT_ACTION = "kb_review_edit"
RETIRE_ACTION = "kb_review_retire"
DUE_WITHIN_DAYS = 30  # items whose date falls within the coming month are due too
EXTENSION_DAYS = 365
SHOWN = 10  # items in one reminder (the rest wait for the next month, or /review)


async def owner_of(uow: UnitOfWork, community: Community, item: KnowledgeItem) -> Member | None:
    """The item's owner if they are still a member of its community."""
    member = await member_of_identity(uow, item.owner_id)
    if member is None and item.owner:
        found = await uow.members.find_in_community(community.id, item.owner.lstrip("@"))
        member = found[0] if len(found) == 1 else None
    if member is None:
        return None
    membership = await uow.members.membership(member.person_id, community.id)
    if membership is None or membership.left_at is not None:
        return None
    return member


def today_in(community: Community, now: datetime) -> date:
    return local(now, community.timezone).date()


class ReviewReminder:
    """The job: see the module's docstring; `run(now)` returns how many reminders it queued."""

    def __init__(self, uow_factory: UnitOfWorkFactory, services: Services) -> None:
        self._uow_factory = uow_factory
        self._services = services

    async def run(self, now: datetime) -> int:
        queued = 0
        async with self._uow_factory() as uow:
            for community in await uow.communities.all():
                if community.active:
                    queued += await self._community(uow, community, now)
            await uow.commit()
        return queued

    async def _community(self, uow: UnitOfWork, community: Community, now: datetime) -> int:
        horizon = today_in(community, now) + timedelta(days=DUE_WITHIN_DAYS)
        due = [
            item
            for item in await uow.repo(KnowledgeRepository).due_for_review(community.id, horizon)
            if item.community_id == community.id
        ]
        if not due:
            return 0
        by_person: dict[int, tuple[Member, list[KnowledgeItem]]] = {}
        staff = await staff_of(uow, self._services, community)
        for item in due:
            owner = await owner_of(uow, community, item)
            for person in [owner] if owner is not None else staff:
                by_person.setdefault(person.person_id, (person, []))[1].append(item)
        month = local(now, community.timezone).strftime("%Y-%m")
        queued = 0
        for person, items in by_person.values():
            message = self._message(person, community, items, now)
            key = f"{REVIEW_KIND}:{community.id}:{person.person_id}:{month}"
            if await tell(uow, community, person, key, REVIEW_KIND, message, now, nudge=True):
                queued += 1
        if queued:
            log.info(
                "review reminders queued", extra={"community": community.key, "count": queued}
            )
        return queued

    def _message(
        self, person: Member, community: Community, items: list[KnowledgeItem], now: datetime
    ) -> OutboundMessage:
        catalogue = self._services.catalogue
        locale = locale_of(person, community)
        today = today_in(community, now)
        sections = [Section(catalogue.render(locale, "kb.review_reminder", count=len(items)))]
        for item in items[:SHOWN]:
            when = item.review_by.isoformat() if item.review_by else ""
            key = (
                "kb.review_item_overdue"
                if item.review_by and item.review_by < today
                else ("kb.review_item_due")
            )
            buttons = (
                Button(catalogue.text(locale, "kb.review_keep"), KEEP_ACTION, str(item.id)),
                Button(catalogue.text(locale, "kb.review_update"), EDIT_ACTION, str(item.id)),
                Button(catalogue.text(locale, "kb.review_retire"), RETIRE_ACTION, str(item.id)),
            )
            body = catalogue.render(
                locale, key, id=item.id, title=clip(item.title, 120), date=when
            )
            sections.append(Section(body, (buttons,)))
        return OutboundMessage.of_sections(sections)


# -- the buttons ----------------------------------------------------------------------------


async def _reviewable(ctx: CommandContext, value: str) -> tuple[KnowledgeItem, Community] | None:
    """The item a review button names, if the presser is its owner or a moderator there."""
    item_id = parse_id(value)
    item = await ctx.uow.repo(KnowledgeRepository).get(item_id) if item_id is not None else None
    community = None
    if item is not None and item.community_id is not None:
        community = await ctx.uow.communities.get(item.community_id)
    if item is None or community is None or item.status is not ItemStatus.PUBLISHED:
        ctx.say("errors.stale_button", private=True)
        return None
    owner = await owner_of(ctx.uow, community, item)
    mine = owner is not None and owner.person_id == ctx.member.person_id
    if not mine and await ctx.acting_role_in(community) < Role.MODERATOR:
        log.warning("review button refused: not the owner", extra={"item": item.id})
        ctx.say("kb.review_not_yours", id=item.id, private=True)
        return None
    return item, community


async def keep(ctx: CommandContext, value: str) -> None:
    found = await _reviewable(ctx, value)
    if found is None:
        return
    item, community = found
    review_by = today_in(community, ctx.services.clock.now()) + timedelta(days=EXTENSION_DAYS)
    await ctx.uow.repo(KnowledgeRepository).save(
        replace(item, review_by=review_by), ctx.services.clock.now()
    )
    ctx.say("kb.review_kept", id=item.id, date=review_by.isoformat(), private=True)


async def retire(ctx: CommandContext, value: str) -> None:
    found = await _reviewable(ctx, value)
    if found is None:
        return
    item, _ = found
    await ctx.uow.repo(KnowledgeRepository).save(
        replace(item, status=ItemStatus.REMOVED), ctx.services.clock.now()
    )
    log.info("knowledge item retired at review", extra={"item": item.id})
    ctx.say("kb.review_retired", id=item.id, title=clip(item.title, 200), private=True)


async def edit(ctx: CommandContext, value: str) -> None:
    found = await _reviewable(ctx, value)
    if found is None:
        return
    item, _ = found
    ctx.say(
        "kb.review_how_to_edit",
        id=item.id,
        title=clip(item.title, 200),
        body=clip(item.body, 600),
        private=True,
    )
