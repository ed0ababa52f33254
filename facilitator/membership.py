"""Whether a person is still in a community, asked of the platform before privileged acts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from cachetools import TTLCache

from facilitator.context import CommandContext, Services, effective_role
from facilitator.domain.errors import MembershipUnknown
from facilitator.domain.model import Community, Member, Role
from facilitator.ports import MembershipCheck

log = logging.getLogger(__name__)

MAX_ANSWERS = 10_000  # (chat, person) answers kept; the oldest go first


class CachedMembershipCheck:
    """A platform's `MembershipCheck` whose answers are reused for `ttl_seconds` in this
    process (0: every question goes to the platform). A failure is never kept: the next
    question asks again."""

    def __init__(
        self,
        check: MembershipCheck,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._check = check
        self._answers: TTLCache[tuple[str, str], bool] | None = (
            TTLCache(MAX_ANSWERS, ttl_seconds, timer=clock) if ttl_seconds > 0 else None
        )

    async def is_member(self, chat_id: str, user_id: str) -> bool:
        if self._answers is None:
            return await self._check.is_member(chat_id, user_id)
        key = (chat_id, user_id)
        known = self._answers.get(key)
        if known is None:
            known = self._answers[key] = await self._check.is_member(chat_id, user_id)
        return known

    def forget(self, chat_id: str, user_id: str) -> None:
        """Drop a kept answer (the platform just said the person joined or left)."""
        if self._answers is not None:
            self._answers.pop((chat_id, user_id), None)


async def still_member(ctx: CommandContext, community: Community, required: Role) -> bool:
    """Whether a privileged act (one that needs `required`, above member) taken from a private
    chat may go ahead in `community`.

    A role that does not come from the membership (installation admin, grants) needs no
    check. Otherwise the platform is asked whether the member is still in the community's
    conversation: if not, the leave is recorded (which ends the membership's role) and the act
    refused; if the platform cannot tell, the act is refused with a "try again"."""
    if not ctx.origin.is_direct or required <= Role.MEMBER:
        return True
    standing = await effective_role(
        ctx.uow,
        ctx.services.settings,
        ctx.member,
        community,
        ctx.origin.user,
        with_membership=False,
    )
    if standing >= required:
        return True
    check = ctx.services.memberships.get(community.platform)
    if check is None:
        return True  # a platform that cannot be asked (the console)
    identity = await _identity_on(ctx, community)
    try:
        present = identity is not None and await check.is_member(community.chat_id, identity)
    except MembershipUnknown as error:
        log.warning(
            "privileged command refused: membership could not be checked",
            extra={"community": community.key, "error": str(error)[:200]},
        )
        ctx.say("errors.membership_unknown", private=True)
        return False
    if present:
        return True
    await ctx.uow.members.leave(ctx.member.person_id, community.id, ctx.services.clock.now())
    log.warning(
        "privileged command refused: no longer a member, membership closed",
        extra={"community": community.key, "needs": required.label},
    )
    ctx.say("errors.not_a_member", community=community.title, private=True)
    return False


async def in_community(ctx: CommandContext, community: Community) -> bool:
    """Whether the member is in `community` now: a current membership, or else the platform's
    word (someone who never wrote in the group has no membership yet). Nothing is recorded;
    a platform that cannot tell counts as "no"."""
    if await ctx.belongs_to(community.id):
        return True
    check = ctx.services.memberships.get(community.platform)
    identity = await _identity_on(ctx, community)
    if check is None or identity is None:
        return False
    try:
        return await check.is_member(community.chat_id, identity)
    except MembershipUnknown as error:
        log.warning(
            "membership could not be checked",
            extra={"community": community.key, "error": str(error)[:200]},
        )
        return False


async def _identity_on(ctx: CommandContext, community: Community) -> str | None:
    """The member's user id on the community's platform (a linked person has one per
    platform), or None."""
    for known in await ctx.uow.members.by_person(ctx.member.person_id):
        if known.platform is community.platform:
            return known.platform_user_id
    return None


async def pressed_by_member(services: Services, community: Community, member: Member) -> bool:
    """Whether someone the database does not count in `community` who pressed a button in its
    conversation is in it, by the platform's word (a public group shows its buttons to people
    outside it). A platform that cannot be asked (the console) counts the press."""
    check = services.memberships.get(community.platform)
    if check is None:
        return True
    if member.platform is not community.platform:
        return False
    try:
        return await check.is_member(community.chat_id, member.platform_user_id)
    except MembershipUnknown as error:
        log.warning(
            "membership could not be checked",
            extra={"community": community.key, "error": str(error)[:200]},
        )
        return False
