"""`/dashboard`: a one-time sign-in link to the coordinators' web dashboard, privately."""

from __future__ import annotations

from facilitator.commands.arguments import NoArgs
from facilitator.commands.spec import CommandSpec, Needs, Topic
from facilitator.context import CommandContext
from facilitator.domain.model import Role
from facilitator.features.dashboard.service import LINK_MINUTES, PAGE_ROLE, Dashboard
from facilitator.markup import Block, OutboundMessage, RichText, Span, Style


async def dashboard(ctx: CommandContext, args: NoArgs) -> None:
    service = ctx.services.feature(Dashboard)
    if not service.enabled:
        ctx.say("dashboard.off", private=True)
        return
    community = ctx.here
    if await ctx.acting_role_in(community) < PAGE_ROLE:
        ctx.say("dashboard.not_allowed", private=True)
        return
    link = await service.issue(ctx.uow, ctx.member, community, ctx.services.clock.now())
    body = RichText.join(
        [
            ctx.rich("dashboard.link", community=community.title, minutes=LINK_MINUTES),
            RichText((Block((Span(link, Style.LINK, url=link),)),)),
            ctx.rich("dashboard.keep"),
        ]
    )
    # Previews off: a platform fetching the link must not be the one who sees the page.
    ctx.reply(OutboundMessage(body, ephemeral=True, preview=False), private=True)


COMMANDS = (
    CommandSpec(
        "dashboard",
        dashboard,
        NoArgs,
        needs=Needs.COMMUNITY,
        role=Role.COORDINATOR,
        topic=Topic.MODERATION,
    ),
)
