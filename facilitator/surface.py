"""Actions from a surface other than a chat (the web dashboard), as chat commands.

A surface does not run features itself: it stores the command a member chose, as a row of
the inbox like any platform's delivery, and the core runs it with the same role check, the
same budget and the same log as when the member types it. The row's delivery id starts with
`SURFACE`, and its payload is this module's own JSON, not a platform's: the inbox decodes it
here whatever the row's platform (the member's), so a worker that takes it up after a crash
runs it the same way.

The command runs as if sent privately by the member (`Origin.is_direct`), in the community
the surface names (`Origin.community_key`): its replies go to the member's private chat, where
they are the record of what was done, as for a command typed there."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from facilitator.domain.errors import UndecodablePayload
from facilitator.domain.events import CommandInvoked, InboundEvent, Origin
from facilitator.domain.model import Member, Platform, PlatformUser

SURFACE = "surface:"
FORMAT = 1
MAX_ARGS = 2000


def action(
    member: Member,
    community_key: str,
    command: str,
    args: str,
    at: datetime,
    surface: str,
) -> str:
    """The payload of `command args` chosen by `member` on `surface` for a community."""
    return json.dumps(
        {
            "v": FORMAT,
            "surface": surface,
            "platform": member.platform.value,
            "user_id": member.platform_user_id,
            "name": member.display_name,
            "community": community_key,
            "command": command,
            "args": args[:MAX_ARGS],
            "at": at.isoformat(),
        }
    )


def decode(delivery_id: str, payload: str) -> Sequence[InboundEvent]:
    try:
        data = json.loads(payload)
        if data.get("v") != FORMAT:
            raise UndecodablePayload("unknown surface payload format")
        platform = Platform(data["platform"])
        user_id = str(data["user_id"])
        origin = Origin(
            platform=platform,
            event_id=delivery_id,
            chat_id=user_id,
            user=PlatformUser(platform, user_id, str(data.get("name") or user_id)),
            occurred_at=datetime.fromisoformat(data["at"]),
            is_direct=True,
            community_key=str(data["community"]),
        )
        return [CommandInvoked(origin, str(data["command"]), str(data.get("args") or ""))]
    except UndecodablePayload:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise UndecodablePayload(f"surface payload: {type(error).__name__}") from error
