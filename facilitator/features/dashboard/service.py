"""Sign-in from the chat: one-time links, sessions, and who may see what.

`/dashboard` gives a coordinator a link that signs them in once, within
`LINK_MINUTES`, bound to them and to the community they asked in. Opening it shows a confirm
page (link previews fetch URLs: a GET never uses a link up); its POST redeems the link in one
UPDATE, so it works once across workers, and opens a session whose id only the browser
holds (the database keeps hashes of tokens and session ids, never the values). Every request
asks again, through the same rule as chat commands (`effective_role`), what the member may
see: a role lost in the chat is lost on the page at the next click.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from facilitator.context import Services, effective_role
from facilitator.domain.model import Community, Member, Platform, PlatformUser, Role
from facilitator.domain.outbox import OutboxEntry
from facilitator.features.dashboard.overview import WeekFigures, weekly_trend
from facilitator.features.dashboard.pages import (
    events_tables,
    knowledge_tables,
    members_tables,
    network_tables,
)
from facilitator.features.dashboard.ports import DashboardRepository, Grant
from facilitator.features.dashboard.tables import Table
from facilitator.features.knowledge.service import KnowledgeBase
from facilitator.features.participation.service import Participation
from facilitator.i18n import resolve_locale
from facilitator.markup import Destination, OutboundMessage
from facilitator.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

LINK_MINUTES = 15
SESSION_HOURS = 12
NOTICE_KIND = "signin.notice"
# The role every dashboard page needs: that of `/summary` and `/aplayers`.
PAGE_ROLE = Role.COORDINATOR


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Viewer:
    """Who is looking, where, with which role, in which language (checked on each request)."""

    member: Member
    community: Community
    role: Role
    locale: str
    expires_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role >= Role.ADMIN


@dataclass
class Dashboard:
    uow_factory: UnitOfWorkFactory
    services: Services
    public_url: str | None
    enabled: bool

    def link_for(self, token: str) -> str:
        base = (self.public_url or "http://127.0.0.1:8080").rstrip("/")
        return f"{base}/dashboard/signin?{urlencode({'t': token})}"

    async def issue(
        self, uow: UnitOfWork, member: Member, community: Community, now: datetime
    ) -> str:
        """A new one-time link for `member` in `community` (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        grant = Grant(
            member.person_id,
            member.identity_id,
            community.id,
            now + timedelta(minutes=LINK_MINUTES),
        )
        await uow.repo(DashboardRepository).add_link(digest(token), grant, now)
        log.info("dashboard link issued", extra={"community": community.key})
        return self.link_for(token)

    async def sign_in(self, token: str, now: datetime) -> str | None:
        """Use up a link: the new session's id, or None for an unknown, used or expired link
        (or one whose member may no longer see the dashboard). The member is told in the
        chat that someone signed in."""
        if not token or len(token) > 200:
            return None
        async with self.uow_factory() as uow:
            grant = await uow.repo(DashboardRepository).redeem_link(digest(token), now)
            if grant is None:
                await uow.commit()
                log.info("dashboard sign-in refused: link unknown, used or expired")
                return None
            viewer = await self._viewer(uow, grant)
            if viewer is None:
                await uow.commit()
                log.info("dashboard sign-in refused: role")
                return None
            session_id = secrets.token_urlsafe(32)
            session = Grant(
                grant.person_id,
                grant.identity_id,
                grant.community_id,
                now + timedelta(hours=SESSION_HOURS),
            )
            await uow.repo(DashboardRepository).add_session(digest(session_id), session, now)
            await self._notice(uow, viewer, now)
            await uow.commit()
        log.info("dashboard sign-in", extra={"community": viewer.community.key})
        return session_id

    async def viewer(self, session_id: str | None, now: datetime) -> Viewer | None:
        """The signed-in member of this session, with their role as of now; None when the
        session is unknown, ended or expired, or the role is no longer enough."""
        if not session_id or len(session_id) > 200:
            return None
        async with self.uow_factory() as uow:
            grant = await uow.repo(DashboardRepository).open_session(digest(session_id), now)
            if grant is None:
                return None
            return await self._viewer(uow, grant)

    async def overview(self, viewer: Viewer, now: datetime) -> list[WeekFigures]:
        async with self.uow_factory() as uow:
            return await weekly_trend(uow, viewer.community, now)

    async def members(self, viewer: Viewer, now: datetime) -> list[Table]:
        participation = self.services.feature(Participation)
        async with self.uow_factory() as uow:
            return await members_tables(
                uow, participation, viewer.community, now, self.services.catalogue, viewer.locale
            )

    async def knowledge(self, viewer: Viewer, now: datetime) -> list[Table]:
        base = self.services.feature(KnowledgeBase)
        async with self.uow_factory() as uow:
            return await knowledge_tables(uow, base, viewer.community, now)

    async def events(self, viewer: Viewer, now: datetime) -> list[Table]:
        async with self.uow_factory() as uow:
            return await events_tables(uow, viewer.community, now)

    async def network(self, viewer: Viewer, now: datetime) -> list[Table]:
        """Every community side by side: for admins only (PermissionError otherwise)."""
        if not viewer.is_admin:
            raise PermissionError("the network view is for admins")
        base = self.services.optional(KnowledgeBase)
        async with self.uow_factory() as uow:
            return await network_tables(uow, base, now, self.services.settings.default_timezone)

    async def sign_out(self, session_id: str, now: datetime) -> None:
        async with self.uow_factory() as uow:
            await uow.repo(DashboardRepository).end_session(digest(session_id), now)
            await uow.commit()

    async def _viewer(self, uow: UnitOfWork, grant: Grant) -> Viewer | None:
        community = await uow.communities.get(grant.community_id)
        members = [m for m in await uow.members.by_person(grant.person_id)]
        member = next((m for m in members if m.identity_id == grant.identity_id), None)
        if community is None or member is None:
            return None
        user = PlatformUser(member.platform, member.platform_user_id, member.display_name)
        role = await effective_role(uow, self.services.settings, member, community, user)
        if role < PAGE_ROLE:
            return None
        locale = resolve_locale(member.language, member.locale_hint, community.language)
        return Viewer(member, community, role, locale, grant.expires_at)

    async def _notice(self, uow: UnitOfWork, viewer: Viewer, now: datetime) -> None:
        member = viewer.member
        text = self.services.catalogue.render(
            viewer.locale, "dashboard.signed_in", community=viewer.community.title
        )
        await uow.outbox.add(
            OutboxEntry(
                dedup_key=f"dashboard:signin:{member.person_id}:{now.isoformat()}",
                kind=NOTICE_KIND,
                destination=Destination(
                    member.platform,
                    member.platform_user_id,
                    user_id=member.platform_user_id,
                    is_direct=True,
                ),
                message=OutboundMessage(text),
                due_at=now,
                community_id=viewer.community.id,
                person_id=member.person_id,
            ),
            now,
        )


async def link_for_operator(
    uow: UnitOfWork,
    service: Dashboard,
    community_key: str,
    platform: Platform,
    user_id: str,
    now: datetime,
) -> str:
    """`facilitator dashboard link`: the link `/dashboard` would send that member. Refused
    (LookupError) unless they may see the dashboard of that community."""
    if not service.enabled:
        raise LookupError("the dashboard is off: set FACILITATOR_DASHBOARD_SECRET")
    community = await uow.communities.by_key(community_key)
    if community is None:
        raise LookupError(f"no community {community_key!r}")
    member = await uow.members.identity(platform, user_id)
    if member is None:
        raise LookupError(f"no member {platform.value}:{user_id}")
    user = PlatformUser(platform, user_id, member.display_name)
    role = await effective_role(uow, service.services.settings, member, community, user)
    if role < PAGE_ROLE:
        raise LookupError(
            f"{platform.value}:{user_id} is {role.label} in {community_key}: "
            "the dashboard is for coordinators"
        )
    return await service.issue(uow, member, community, now)
