"""`/report [reason]`, a reply to a message, and `/reports` for moderators.

A member reports in the group (a reply; the bot deletes the `/report` where it may), or
privately: a reply to a message they forwarded to the bot, or `/report LINK [reason]`; a
private report counts only in a community the member belongs to.

The reporter is thanked privately and named to nobody but the moderators' records; the
moderators (or, for a message by a moderator, the coordinators) hear of it privately through
the outbox, with a link to the message, its words and the reason. A member files at most
`PER_DAY` reports a day in a community. The message's words are kept only while the report
is open: resolving it clears them, and so does the expiry job after
`FACILITATOR_REPORT_EXPIRY_DAYS`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from facilitator.commands.arguments import NoArgs
from facilitator.commands.spec import Arg, ArgKind, CommandSpec, Needs, Topic, parse_id
from facilitator.context import CommandContext, effective_role
from facilitator.domain.events import Forwarded, MessageReceived
from facilitator.domain.model import Community, Member, Platform, PlatformUser, Role
from facilitator.features.knowledge.gaps import locale_of, tell
from facilitator.features.knowledge.render import clip
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.reports.domain import Report
from facilitator.features.reports.platforms import ReportPlatforms
from facilitator.features.reports.ports import ReportRepository
from facilitator.markup import Button, OutboundMessage, RichText
from facilitator.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

RESOLVE_ACTION = "report_resolve"
REPORT_KIND = "report.filed"
REPORTER_KIND = "report.reporter"
PER_DAY = 5  # reports one member may file in a community in 24 hours
LISTED = 10  # open reports /reports shows at once
MAX_TEXT = 1000
MAX_REASON = 300


@dataclass(frozen=True)
class ReportArgs:
    reason: str | None


@dataclass(frozen=True)
class _Flagged:
    """The message a report is about, wherever the member flagged it from: its community,
    where it is, what it said and who wrote it (their platform id), as far as known."""

    community: Community
    chat_id: str
    message_id: str
    link: str | None
    text: str | None
    author_user_id: str | None
    reason: str


async def report(ctx: CommandContext, args: ReportArgs) -> None:
    """`/report [reason]` as a reply in the group; privately, as a reply to a message the
    member forwarded to the bot, or `/report LINK [reason]` anywhere. In a group the
    command itself is deleted where the bot may, so that nobody sees who reported."""
    platforms = ctx.services.feature(ReportPlatforms)
    if not ctx.origin.is_direct:
        await platforms.hide(ctx.origin.platform, ctx.origin.chat_id, ctx.origin.message_id)
    flagged = await _flagged(ctx, platforms, (args.reason or "").strip())
    if flagged is None:
        return
    community = flagged.community
    repo = ctx.uow.repo(ReportRepository)
    now = ctx.services.clock.now()
    reporter = ctx.member.person_id
    if await repo.filed_since(community.id, reporter, now - timedelta(days=1)) >= PER_DAY:
        log.info("report refused: daily limit", extra={"community": community.id})
        await _tell_reporter(ctx, community, f"limit:{flagged.message_id}", "reports.limit")
        return
    author = None
    if flagged.author_user_id:
        author = await ctx.uow.members.identity(ctx.origin.platform, flagged.author_user_id)
    above = False
    if author is not None:
        user = PlatformUser(author.platform, author.platform_user_id, author.display_name)
        role = await effective_role(ctx.uow, ctx.services.settings, author, community, user)
        above = role >= Role.MODERATOR
    filed = await repo.add(
        Report(
            community_id=community.id,
            reporter_id=reporter,
            reported_id=author.person_id if author is not None else None,
            platform=ctx.origin.platform.value,
            chat_id=flagged.chat_id,
            message_id=flagged.message_id,
            link=flagged.link,
            text=clip((flagged.text or "").strip(), MAX_TEXT) or None,
            reason=clip(flagged.reason, MAX_REASON) or None,
            for_coordinators=above,
            created_at=now,
        )
    )
    if filed is None:
        await _tell_reporter(ctx, community, f"already:{flagged.message_id}", "reports.already")
        return
    told = await _tell_reviewers(ctx, community, filed, author, now)
    log.info(
        "message reported",
        extra={"report": filed.id, "community": community.key, "reviewers": told},
    )
    # Where their `/report` was seen in the group (until deleted), the reporter also learns
    # the private ways.
    visible = not ctx.origin.is_direct and platforms.can_hide(ctx.origin.platform)
    hints = ("reports.private_ways",) if visible else ()
    await _tell_reporter(ctx, community, f"thanks:{filed.id}", "reports.thanks", *hints)


async def _flagged(
    ctx: CommandContext, platforms: ReportPlatforms, reason: str
) -> _Flagged | None:
    """What the member reports; None (they were told why) when it cannot be told or is not
    from a community of theirs."""
    target = ctx.replied
    if target is not None and not ctx.origin.is_direct:
        return _Flagged(
            ctx.here,
            ctx.origin.chat_id,
            target.message_id,
            target.link,
            target.text,
            None if target.is_bot else target.user_id,
            reason,
        )
    first, *rest = reason.split(maxsplit=1) or [""]
    linked = platforms.linked(ctx.origin.platform, first)
    if linked is not None:
        community = await ctx.uow.communities.by_chat(ctx.origin.platform, linked.chat_id)
        if community is None or not await _member_of(ctx, community):
            log.info("report refused: the linked message is not from a community of theirs")
            ctx.say("reports.not_member", private=True)
            return None
        return _Flagged(
            community, linked.chat_id, linked.message_id, linked.link, None, None, "".join(rest)
        )
    if target is None or target.forwarded is None:
        # Slack has no reply to a message: its shortcut is the way there.
        slack = ctx.origin.platform is Platform.SLACK
        ctx.say("reports.how_slack" if slack else "reports.how", private=True)
        return None
    return await _forwarded(ctx, target.forwarded, target.text, reason)


async def _forwarded(
    ctx: CommandContext, origin: Forwarded, text: str | None, reason: str
) -> _Flagged | None:
    """A message the member forwarded to the bot. Its community: the chat it names, where
    the platform says (a post sent on behalf of a chat); else one the member and its author
    both belong to, the member's current one first; for an author the bot does not know
    (or who hides their account), the member's current community."""
    community: Community | None = None
    if origin.chat_id is not None:
        community = await ctx.uow.communities.by_chat(ctx.origin.platform, origin.chat_id)
    elif origin.user_id is not None and (
        author := await ctx.uow.members.identity(ctx.origin.platform, origin.user_id)
    ):
        mine = [m.community_id for m in await ctx.uow.members.memberships(ctx.member.person_id)]
        theirs = {m.community_id for m in await ctx.uow.members.memberships(author.person_id)}
        shared = [c for c in mine if c in theirs]
        chosen = ctx.here.id if ctx.here.id in shared else (shared[0] if shared else None)
        community = None if chosen is None else await ctx.uow.communities.get(chosen)
    else:
        community = ctx.here
    if community is None or not await _member_of(ctx, community):
        log.info("report refused: the forwarded message is from no community of theirs")
        ctx.say("reports.not_member", private=True)
        return None
    sent = int(origin.sent_at.timestamp()) if origin.sent_at is not None else 0
    # Without the message's own id, its author and time tell it apart: the same message
    # forwarded twice is one report.
    message_id = origin.message_id or f"forwarded:{origin.user_id or origin.user_name}:{sent}"
    return _Flagged(
        community,
        origin.chat_id or community.chat_id,
        message_id[:128],
        None,
        text,
        origin.user_id,
        reason,
    )


async def _member_of(ctx: CommandContext, community: Community) -> bool:
    membership = await ctx.uow.members.membership(ctx.member.person_id, community.id)
    return membership is not None and membership.left_at is None


async def forwarded_hint(ctx: CommandContext, event: MessageReceived) -> None:
    """A message forwarded to the bot privately is not answered as a question: the member
    is told how to report it."""
    if event.forwarded and ctx.origin.is_direct and not event.is_edit:
        ctx.say("reports.forwarded", private=True)


async def _tell_reporter(ctx: CommandContext, community: Community, key: str, *texts: str) -> None:
    """Answer the reporter in their private chat, never in the group: where a platform has
    no message only one person sees (Telegram), an answer in the group would name them. If
    the bot cannot write to them privately, they get no answer rather than a public one.
    Each answer goes once a day at most (the key names the day): a member repeating a report
    past the limit, or the same report, is not answered again and again."""
    now = ctx.services.clock.now()
    body = RichText.join(ctx.rich(text, limit=PER_DAY) for text in texts)
    await tell(
        ctx.uow,
        community,
        ctx.member,
        f"{REPORTER_KIND}:{ctx.member.person_id}:{key}:{now.date().isoformat()}",
        REPORTER_KIND,
        OutboundMessage(body),
        now,
    )


async def _reviewers(ctx: CommandContext, community: Community, report: Report) -> list[Member]:
    """Who judges the report: the moderators, or for a moderator's message the coordinators;
    never the reported person, and not the reporter (they were thanked)."""
    participation = ctx.uow.repo(ParticipationRepository)
    if report.for_coordinators:
        found = await participation.coordinators(community.id)
    else:
        found = await participation.staff_members(community.id, ctx.services.settings.admins)
    return [m for m in found if m.person_id not in (report.reported_id, report.reporter_id)]


async def _tell_reviewers(
    ctx: CommandContext,
    community: Community,
    report: Report,
    author: Member | None,
    now: datetime,
) -> int:
    catalogue = ctx.catalogue
    told = 0
    for reviewer in await _reviewers(ctx, community, report):
        locale = locale_of(reviewer, community)
        body = catalogue.render(
            locale,
            "reports.notice_coordinators" if report.for_coordinators else "reports.notice",
            id=report.id,
            community=community.title,
            author=author.display_name if author else catalogue.text(locale, "reports.unknown"),
            text=report.text or "",
            reason=report.reason or catalogue.text(locale, "reports.no_reason"),
            link=report.link or catalogue.text(locale, "reports.no_link"),
        )
        button = Button(
            catalogue.text(locale, "reports.resolve_button"), RESOLVE_ACTION, str(report.id)
        )
        if await tell(
            ctx.uow,
            community,
            reviewer,
            f"{REPORT_KIND}:{report.id}:{reviewer.person_id}",
            REPORT_KIND,
            OutboundMessage(body, buttons=((button,),)),
            now,
        ):
            told += 1
    return told


async def listing(ctx: CommandContext, args: NoArgs) -> None:
    """`/reports`: the open reports a moderator may judge (a coordinator's include those
    about moderators), each with a button to resolve it."""
    community = ctx.here
    role = await ctx.acting_role_in(community)
    if role < Role.MODERATOR:
        ctx.say("reports.not_allowed", private=True)
        return
    found = await ctx.uow.repo(ReportRepository).open_reports(
        community.id, for_coordinators=role >= Role.COORDINATOR, limit=LISTED + 1
    )
    mine = ctx.member.person_id
    shown = [r for r in found if r.reported_id != mine][:LISTED]
    if not shown:
        ctx.say("reports.none", private=True)
        return
    parts = [ctx.rich("reports.header", count=len(shown))]
    buttons = []
    for item in shown:
        author = await _name(ctx, item.reported_id)
        parts.append(
            ctx.rich(
                "reports.line",
                id=item.id,
                author=author or ctx.t("reports.unknown"),
                text=clip(item.text or "", 200),
                reason=item.reason or ctx.t("reports.no_reason"),
                link=item.link or ctx.t("reports.no_link"),
            )
        )
        buttons.append(
            (Button(ctx.t("reports.resolve_numbered", id=item.id), RESOLVE_ACTION, str(item.id)),)
        )
    ctx.reply(
        OutboundMessage(RichText.join(parts), buttons=tuple(buttons), ephemeral=True),
        private=True,
    )


async def _name(ctx: CommandContext, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    identities = await ctx.uow.members.by_person(person_id)
    return identities[0].display_name if identities else None


async def resolve_button(ctx: CommandContext, value: str) -> None:
    """A moderator resolves a report: its message's words are cleared."""
    report_id = parse_id(value)
    repo = ctx.uow.repo(ReportRepository)
    found = await repo.get(report_id) if report_id is not None else None
    community = await ctx.uow.communities.get(found.community_id) if found else None
    if found is None or found.id is None or community is None:
        ctx.say("errors.stale_button", private=True)
        return
    needed = Role.COORDINATOR if found.for_coordinators else Role.MODERATOR
    role = await ctx.acting_role_in(community)
    if role < needed or found.reported_id == ctx.member.person_id:
        log.warning("report resolution refused", extra={"role": role.label})
        ctx.say("reports.not_allowed", private=True)
        return
    if not await repo.resolve(found.id, ctx.member.person_id, ctx.services.clock.now()):
        ctx.say("reports.already_closed", id=found.id, private=True)
        return
    log.info("report resolved", extra={"report": found.id, "community": community.key})
    ctx.say("reports.resolved", id=found.id, private=True)


class ReportExpiry:
    """The job: reports nobody resolved within the expiry period close, and the words of
    their messages are cleared."""

    def __init__(self, uow_factory: UnitOfWorkFactory, days: int) -> None:
        self._uow_factory = uow_factory
        self._days = days

    async def run(self, now: datetime) -> int:
        async with self._uow_factory() as uow:
            expired = await uow.repo(ReportRepository).expire(
                now - timedelta(days=self._days), now
            )
            await uow.commit()
        if expired:
            log.info("reports expired", extra={"count": expired})
        return expired


COMMANDS = (
    CommandSpec(
        "report",
        report,
        ReportArgs,
        (Arg("reason", ArgKind.TEXT, required=False, max_length=MAX_REASON),),
        needs=Needs.COMMUNITY,
        topic=Topic.BASICS,
    ),
    CommandSpec(
        "reports",
        listing,
        NoArgs,
        needs=Needs.COMMUNITY,
        role=Role.MODERATOR,
        topic=Topic.MODERATION,
    ),
)
