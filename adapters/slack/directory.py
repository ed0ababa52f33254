"""Cached Slack look-ups: the bot's identity, members (name, locale, admin), channels, DMs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache, TTLCache

from adapters.slack.webapi import Monotonic, SlackWeb
from facilitator.domain.errors import DeliveryError, MembershipUnknown
from facilitator.domain.model import Platform, PlatformUser

log = logging.getLogger(__name__)

USER_TTL = 3600.0  # a member's locale or name changes rarely; an hour keeps calls low
CHANNEL_TTL = 3600.0
MAX_ENTRIES = 20_000  # per table; the least recently used entries go first
MAX_MEMBER_PAGES = 50  # conversations.members pages read for one answer (50,000 members)


@dataclass(frozen=True)
class BotIdentity:
    user_id: str
    bot_id: str | None
    team_id: str | None


@dataclass(frozen=True)
class ChannelInfo:
    title: str | None
    creator: str | None


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class Directory:
    """Look-ups the decoder and messenger share; a failed look-up degrades, it never raises
    out of the decoder (a transient Slack error must not make an event undecodable)."""

    def __init__(self, web: SlackWeb, clock: Monotonic) -> None:
        self._web = web
        self._identity: BotIdentity | None = None
        # Fresh answers, used without asking Slack again.
        self._users: TTLCache[str, PlatformUser] = TTLCache(MAX_ENTRIES, USER_TTL, timer=clock)
        self._channels: TTLCache[str, ChannelInfo] = TTLCache(
            MAX_ENTRIES, CHANNEL_TTL, timer=clock
        )
        # The last answer, however old: what a failed look-up falls back to.
        self._known_users: LRUCache[str, PlatformUser] = LRUCache(MAX_ENTRIES)
        self._known_channels: LRUCache[str, ChannelInfo] = LRUCache(MAX_ENTRIES)
        self._dms: LRUCache[str, str] = LRUCache(MAX_ENTRIES)

    @property
    def known_identity(self) -> BotIdentity | None:
        return self._identity

    async def identity(self) -> BotIdentity:
        """Who the bot is (auth.test, once); DeliveryError when Slack cannot tell."""
        if self._identity is None:
            response = await self._web.auth_test()
            user_id = response.get("user_id")
            if not isinstance(user_id, str) or not user_id:
                raise DeliveryError("auth.test answered without a user_id")
            self._identity = BotIdentity(
                user_id=user_id,
                bot_id=response.get("bot_id"),
                team_id=response.get("team_id"),
            )
            log.info(
                "slack bot identified",
                extra={"bot_user_id": user_id, "team_id": self._identity.team_id},
            )
        return self._identity

    async def bot_user_id(self) -> str | None:
        try:
            return (await self.identity()).user_id
        except DeliveryError:
            return None

    async def user(self, user_id: str, fallback_name: str = "") -> PlatformUser:
        """The member as the core sees them, with Slack's locale and admin flags."""
        fresh = self._users.get(user_id)
        if fresh is not None:
            return fresh
        try:
            response = await self._web.user_info(user_id)
        except DeliveryError:
            log.warning("slack user look-up failed", extra={"user_id": user_id})
            known = self._known_users.get(user_id)
            return known or PlatformUser(Platform.SLACK, user_id, fallback_name)
        info = _dict(response.get("user"))
        profile = _dict(info.get("profile"))
        name = (
            _text(profile, "display_name")
            or _text(profile, "real_name")
            or _text(info, "real_name")
            or _text(info, "name")
            or fallback_name
        )
        user = PlatformUser(
            platform=Platform.SLACK,
            user_id=user_id,
            display_name=name,
            locale_hint=_text(info, "locale"),
            is_bot=bool(info.get("is_bot")) or user_id == "USLACKBOT",
            is_platform_admin=bool(
                info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner")
            ),
        )
        self._users[user_id] = self._known_users[user_id] = user
        return user

    async def channel(self, channel_id: str) -> ChannelInfo:
        fresh = self._channels.get(channel_id)
        if fresh is not None:
            return fresh
        try:
            response = await self._web.conversation_info(channel_id)
        except DeliveryError:
            return self._known_channels.get(channel_id) or ChannelInfo(None, None)
        info = _dict(response.get("channel"))
        found = ChannelInfo(title=_text(info, "name"), creator=_text(info, "creator"))
        self._channels[channel_id] = self._known_channels[channel_id] = found
        return found

    async def dm_channel(self, user_id: str) -> str:
        """The DM conversation with a member (conversations.open, cached); DeliveryError."""
        channel_id = self._dms.get(user_id)
        if channel_id is None:
            response = await self._web.open_dm(user_id)
            channel = response.get("channel")
            channel_id = _text(channel, "id") if isinstance(channel, dict) else None
            if channel_id is None:
                raise DeliveryError("conversations.open answered without a channel")
            self._dms[user_id] = channel_id
        return channel_id

    def locale_of(self, user_id: str) -> str | None:
        known = self._known_users.get(user_id)
        return known.locale_hint if known is not None else None


class ChannelMembers:
    """Implements the core's `MembershipCheck`: a deactivated account (users.info `deleted`)
    is out, whatever channels still list it; otherwise the person is in if
    conversations.members lists them. The core keeps the answers for a while
    (`CachedMembershipCheck`)."""

    def __init__(self, web: SlackWeb) -> None:
        self._web = web

    async def is_member(self, chat_id: str, user_id: str) -> bool:
        try:
            info = _dict((await self._web.user_info(user_id)).get("user"))
            if info.get("deleted"):
                return False
            cursor: str | None = None
            for _ in range(MAX_MEMBER_PAGES):
                page = await self._web.conversation_members(chat_id, cursor)
                members = page.get("members")
                if not isinstance(members, list):
                    raise MembershipUnknown("conversations.members answered without members")
                if user_id in members:
                    return True
                cursor = _text(_dict(page.get("response_metadata")), "next_cursor")
                if cursor is None:
                    return False
        except DeliveryError as error:
            raise MembershipUnknown(str(error)) from None
        raise MembershipUnknown("conversations.members: more pages than read")
