"""`/bookmark ID`, `/bookmark remove ID` and `/bookmarks`: a member's own list of repository
items, kept per community and shown only to them."""

from __future__ import annotations

import logging

from facilitator.commands.arguments import IdArgs, NoArgs
from facilitator.commands.spec import Arg, ArgKind, CommandSpec, Needs, Topic, sub
from facilitator.context import CommandContext
from facilitator.features.bookmarks.ports import BookmarkRepository
from facilitator.features.knowledge.domain import ItemStatus
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.markup import OutboundMessage, RichText

log = logging.getLogger(__name__)

# How many items one member may keep in one community, and list at once.
LIMIT = 100


async def bookmark(ctx: CommandContext, args: IdArgs) -> None:
    community, person = ctx.here, ctx.member.person_id
    item = await ctx.uow.repo(KnowledgeRepository).get(args.id)
    if (
        item is None
        or item.status is not ItemStatus.PUBLISHED
        or item.community_id not in (community.id, None)
    ):
        # Another community's item, or one not published, reads as missing: nothing leaks.
        ctx.say("bookmarks.not_found", id=args.id, private=True)
        return
    bookmarks = ctx.uow.repo(BookmarkRepository)
    if await bookmarks.count(community.id, person) >= LIMIT:
        log.info("bookmark refused: list full", extra={"community": community.id})
        ctx.say("bookmarks.full", limit=LIMIT, private=True)
        return
    if not await bookmarks.add(community.id, person, args.id, ctx.services.clock.now()):
        ctx.say("bookmarks.already", id=args.id, private=True)
        return
    ctx.say("bookmarks.saved", id=args.id, title=item.title, private=True)


async def remove(ctx: CommandContext, args: IdArgs) -> None:
    removed = await ctx.uow.repo(BookmarkRepository).remove(
        ctx.here.id, ctx.member.person_id, args.id
    )
    ctx.say("bookmarks.removed" if removed else "bookmarks.not_saved", id=args.id, private=True)


async def listing(ctx: CommandContext, args: NoArgs) -> None:
    saved = await ctx.uow.repo(BookmarkRepository).saved(ctx.here.id, ctx.member.person_id, LIMIT)
    if not saved:
        ctx.say("bookmarks.none", private=True)
        return
    parts = [ctx.rich("bookmarks.header", count=len(saved))]
    for item in saved:
        key = "bookmarks.line_url" if item.url else "bookmarks.line"
        parts.append(ctx.rich(key, id=item.item_id, title=item.title, url=item.url or ""))
    ctx.reply(OutboundMessage(RichText.join(parts), ephemeral=True), private=True)


_ID = (Arg("id", ArgKind.INT),)

COMMANDS = (
    CommandSpec(
        "bookmark",
        bookmark,
        IdArgs,
        _ID,
        needs=Needs.COMMUNITY,
        subcommands=(
            sub("bookmark", CommandSpec("remove", remove, IdArgs, _ID, needs=Needs.COMMUNITY)),
        ),
        topic=Topic.ASK,
    ),
    CommandSpec("bookmarks", listing, NoArgs, needs=Needs.COMMUNITY, topic=Topic.ASK),
)
