"""The member's overview, shown on Slack's App Home tab.

For each community the member belongs to (on the platform they are looking from): their own
participation (as `/me` shows it, unless they opted out of tracking), the upcoming webinars
with the RSVP buttons, the open polls with the vote buttons, and the buttons that open the
forms to create a poll, a webinar or an FAQ item, each shown only to those whose role allows
the command. Buttons pressed here act on their community from the member's direct
conversation (`CommandContext.belongs_to`).
"""

from __future__ import annotations

import logging

from facilitator.commands.forms import render_form
from facilitator.commands.spec import CommandSpec, NoArgs, Topic, parse_id
from facilitator.context import CommandContext, permitted
from facilitator.domain.model import Community, Platform
from facilitator.features.participation.commands import badge_name, level_name, participation
from facilitator.features.polls.domain import Poll
from facilitator.features.polls.ports import PollRepository
from facilitator.features.polls.service import VOTE_ACTION
from facilitator.features.webinars.domain import Rsvp, Webinar
from facilitator.features.webinars.ports import WebinarRepository
from facilitator.features.webinars.service import RSVP_ACTION
from facilitator.localtime import show
from facilitator.markup import Button, OutboundMessage, RichText, Section

log = logging.getLogger(__name__)

HOME = "home"
OPEN_FORM_ACTION = "form_open"
# The commands whose forms the overview offers, in this order.
CREATABLE = ("poll", "webinar.add", "faq.add")
# Slack draws at most 100 blocks on a Home tab; each webinar or poll takes two (its text and
# its buttons), each community two more: 3 communities of 5 + 5 stay well inside.
MAX_COMMUNITIES = 3
MAX_WEBINARS = 5
MAX_POLLS = 5


async def home(ctx: CommandContext, args: NoArgs) -> None:
    communities = await _communities(ctx)
    sections = [Section(ctx.rich("home.greeting", name=ctx.member.display_name))]
    if not communities:
        sections.append(Section(ctx.rich("home.no_community")))
    for community in communities[:MAX_COMMUNITIES]:
        sections.extend(await _community(ctx, community))
    if len(communities) > MAX_COMMUNITIES:
        sections.append(Section(ctx.rich("home.more", count=len(communities) - MAX_COMMUNITIES)))
    ctx.reply(OutboundMessage.of_sections(sections, ephemeral=True), private=True)


async def _communities(ctx: CommandContext) -> list[Community]:
    found = []
    for membership in await ctx.uow.members.memberships(ctx.member.person_id):
        community = await ctx.uow.communities.get(membership.community_id)
        # Only communities on this platform: a form or a button here acts in their chat.
        if community and community.active and community.platform is ctx.origin.platform:
            found.append(community)
    return found


async def _community(ctx: CommandContext, community: Community) -> list[Section]:
    role = await ctx.role_in(community)
    header = ctx.rich("home.community", community=community.title, role=ctx.role_label(role))
    header += await _standing(ctx, community)
    creating = tuple(
        Button(
            ctx.t(f"home.new.{path.replace('.', '_')}"), OPEN_FORM_ACTION, f"{path} {community.id}"
        )
        for path in CREATABLE
        if (spec := ctx.services.registry.find(path)) is not None
        and spec.form is not None
        and spec.available_on(ctx.origin.platform)
        and role >= spec.role
    )
    sections = [Section(header, (creating,) if creating else ())]
    now = ctx.services.clock.now()
    webinars = (await ctx.uow.repo(WebinarRepository).upcoming(community.id, now))[:MAX_WEBINARS]
    polls = await ctx.uow.repo(PollRepository).open_in(community.id, MAX_POLLS)
    if not webinars and not polls:
        sections.append(Section(ctx.rich("home.nothing_open")))
    for webinar in webinars:
        sections.append(await _webinar(ctx, community, webinar))
    for poll in polls:
        sections.append(await _poll(ctx, community, poll))
    return sections


async def _standing(ctx: CommandContext, community: Community) -> RichText:
    if ctx.member.opted_out_tracking:
        return ctx.rich("participation.me.opted_out")
    service = participation(ctx)
    standing = await service.member(
        ctx.uow, community, ctx.member.person_id, ctx.services.clock.now()
    )
    parts = [
        ctx.rich(
            "home.score",
            level=level_name(ctx, standing.level),
            count=standing.rounded,
        )
    ]
    if standing.badges:
        names = ", ".join(badge_name(ctx, key) for key in standing.badges)
        parts.append(ctx.rich("participation.me.badges", badges=names))
    else:
        parts.append(ctx.rich("participation.me.no_badges"))
    return RichText.join(parts)


async def _webinar(ctx: CommandContext, community: Community, webinar: Webinar) -> Section:
    zone = ctx.member.timezone or community.timezone
    body = ctx.rich(
        "home.webinar",
        title=webinar.title,
        when=show(webinar.starts_at, zone),
        zone=zone,
    )
    mine = next(
        (
            a
            for a in await ctx.uow.repo(WebinarRepository).attendees(webinar.id)
            if a.person_id == ctx.member.person_id
        ),
        None,
    )
    if mine is not None:
        body += ctx.rich("home.answered", answer=ctx.t(f"webinars.rsvp.{mine.answer.value}"))
    buttons = tuple(
        Button(ctx.t(f"webinars.rsvp.{answer.value}"), RSVP_ACTION, f"{webinar.id}:{answer.value}")
        for answer in Rsvp
    )
    return Section(body, (buttons,))


async def _poll(ctx: CommandContext, community: Community, poll: Poll) -> Section:
    body = ctx.rich("home.poll", question=poll.question)
    if poll.closes_at is not None:
        body += ctx.rich(
            "polls.post.closes",
            when=show(poll.closes_at, community.timezone),
            zone=community.timezone,
        )
    chosen = (await ctx.uow.repo(PollRepository).votes(poll.id)).get(ctx.member.person_id, ())
    if chosen:
        choices = ", ".join(poll.options[i] for i in chosen if 0 <= i < len(poll.options))
        body += ctx.rich("home.voted", choices=choices)
    buttons = tuple(
        Button(option, VOTE_ACTION, f"{poll.id}:{index}")
        for index, option in enumerate(poll.options)
    )
    return Section(body, (buttons,))


async def open_form(ctx: CommandContext, value: str) -> None:
    """A "new poll / webinar / FAQ item" button: the form, for that button's community."""
    path, _, raw_id = value.partition(" ")
    spec = ctx.services.registry.find(path)
    community_id = parse_id(raw_id)
    community = await ctx.uow.communities.get(community_id) if community_id is not None else None
    if (
        spec is None
        or spec.form is None
        or community is None
        or community.platform is not ctx.origin.platform
        or not await ctx.belongs_to(community.id)
    ):
        ctx.say("errors.stale_button", private=True)
        return
    # The role that counts is the one in the community the form is for.
    if not permitted(ctx, spec, await ctx.role_in(community)):
        return
    form = render_form(ctx.t, spec.form, spec.path, community.chat_id, community.timezone)
    body = ctx.rich("errors.usage", usage=ctx.t(spec.usage_key))
    log.info("form offered", extra={"command": spec.path, "community": community.key})
    ctx.reply(OutboundMessage(body, ephemeral=True, form=form), private=True)


COMMANDS = (
    # The App Home tab is the one surface that shows it; elsewhere /me, /webinars and the
    # posted polls say the same.
    CommandSpec(
        HOME, home, NoArgs, platforms=frozenset({Platform.SLACK}), hidden=True, topic=Topic.BASICS
    ),
)
