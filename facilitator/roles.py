"""Role assignment outside the chat: the CLI, configuration and the local demo."""

from __future__ import annotations

from facilitator.domain.model import Platform, PlatformUser, Role, RoleGrant
from facilitator.ports import Clock, UnitOfWorkFactory


class RoleService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def grant(
        self, platform: Platform, user_id: str, role: Role, community_key: str | None = None
    ) -> None:
        """Give a role everywhere, or in one community (creating the member if new)."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            if community_key is None:
                await uow.grants.grant(RoleGrant(platform, user_id, role), now)
            else:
                community = await uow.communities.by_key(community_key)
                if community is None:
                    raise LookupError(f"no community with key {community_key!r}")
                member = await uow.members.identity(platform, user_id)
                if member is None:
                    member = await uow.members.ensure(
                        PlatformUser(platform, user_id, user_id), now
                    )
                await uow.members.set_role(member.person_id, community.id, role, now)
            await uow.commit()

    async def revoke(
        self, platform: Platform, user_id: str, community_key: str | None = None
    ) -> bool:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            if community_key is None:
                removed = await uow.grants.revoke(platform, user_id, None)
            else:
                community = await uow.communities.by_key(community_key)
                member = await uow.members.identity(platform, user_id)
                if community is None or member is None:
                    return False
                await uow.members.set_role(member.person_id, community.id, Role.MEMBER, now)
                removed = True
            await uow.commit()
            return removed

    async def listing(self) -> list[tuple[str, str, str, str]]:
        """(identity, role, community key or '*', source) for every role above member."""
        rows: list[tuple[str, str, str, str]] = []
        async with self._uow_factory() as uow:
            communities = {c.id: c for c in await uow.communities.all()}
            for grant in await uow.grants.all():
                where = "*" if grant.community_id is None else communities[grant.community_id].key
                rows.append(
                    (
                        f"{grant.platform}:{grant.platform_user_id}",
                        grant.role.label,
                        where,
                        "grant",
                    )
                )
            for community in communities.values():
                for member, membership in await uow.members.members_of(community.id):
                    if membership.role > Role.MEMBER:
                        rows.append(
                            (
                                f"{member.platform}:{member.platform_user_id}",
                                membership.role.label,
                                community.key,
                                "membership",
                            )
                        )
        return rows


def parse_identity(text: str) -> tuple[Platform, str]:
    """`telegram:12345` -> (Platform.TELEGRAM, "12345")."""
    platform, sep, user_id = text.partition(":")
    if not sep or not user_id.strip():
        raise ValueError("expected platform:user_id, e.g. telegram:12345")
    return Platform(platform.strip().lower()), user_id.strip()
