"""Cached Slack look-ups: the bot's identity, members (name, locale, admin), channels, DMs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.slack.webapi import Monotonic, SlackWeb
from facilitator.domain.errors import DeliveryError
from facilitator.domain.model import Platform, PlatformUser

log = logging.getLogger(__name__)

USER_TTL = 3600.0  # a member's locale or name changes rarely; an hour keeps calls low
CHANNEL_TTL = 3600.0
MAX_ENTRIES = 20_000


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
        self._clock = clock
        self._identity: BotIdentity | None = None
        self._users: dict[str, tuple[float, PlatformUser]] = {}
        self._channels: dict[str, tuple[float, ChannelInfo]] = {}
        self._dms: dict[str, str] = {}

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
        now = self._clock()
        cached = self._users.get(user_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            response = await self._web.user_info(user_id)
        except DeliveryError:
            log.warning("slack user look-up failed", extra={"user_id": user_id})
            if cached is not None:
                return cached[1]
            return PlatformUser(Platform.SLACK, user_id, fallback_name)
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
        self._remember(self._users, user_id, (now + USER_TTL, user))
        return user

    async def channel(self, channel_id: str) -> ChannelInfo:
        now = self._clock()
        cached = self._channels.get(channel_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            response = await self._web.conversation_info(channel_id)
        except DeliveryError:
            return cached[1] if cached is not None else ChannelInfo(None, None)
        info = _dict(response.get("channel"))
        found = ChannelInfo(title=_text(info, "name"), creator=_text(info, "creator"))
        self._remember(self._channels, channel_id, (now + CHANNEL_TTL, found))
        return found

    async def dm_channel(self, user_id: str) -> str:
        """The DM conversation with a member (conversations.open, cached); DeliveryError."""
        if user_id not in self._dms:
            response = await self._web.open_dm(user_id)
            channel = response.get("channel")
            channel_id = _text(channel, "id") if isinstance(channel, dict) else None
            if channel_id is None:
                raise DeliveryError("conversations.open answered without a channel")
            self._remember(self._dms, user_id, channel_id)
        return self._dms[user_id]

    def locale_of(self, user_id: str) -> str | None:
        cached = self._users.get(user_id)
        return cached[1].locale_hint if cached is not None else None

    @staticmethod
    def _remember(table: dict[str, Any], key: str, value: Any) -> None:
        if len(table) >= MAX_ENTRIES:
            table.clear()
        table[key] = value
