"""What reports ask of a platform beyond sending: removing the visible `/report`, and reading
a link to a message."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from facilitator.domain.model import Platform
from facilitator.ports import DeletesMessages, LinkedMessage, MessageLinks, Messenger

log = logging.getLogger(__name__)


class ReportPlatforms:
    """The messengers' optional abilities, asked by platform; a platform without one (Slack:
    a slash command or a shortcut is seen by its sender alone) is simply not asked."""

    def __init__(self, messengers: Mapping[Platform, Messenger]) -> None:
        self._messengers = messengers  # filled in as adapters attach

    def can_hide(self, platform: Platform) -> bool:
        """Whether a `/report` there is seen in the group until the bot deletes it."""
        return isinstance(self._messengers.get(platform), DeletesMessages)

    async def hide(self, platform: Platform, chat_id: str, message_id: str | None) -> None:
        """Delete a member's `/report` from the group, where the bot has the right; where it
        has not, the command stays and the report goes on."""
        messenger = self._messengers.get(platform)
        if message_id is None or not isinstance(messenger, DeletesMessages):
            return
        if not await messenger.delete_message(chat_id, message_id):
            log.info("report command left in the group", extra={"chat_id": chat_id})

    def linked(self, platform: Platform, text: str) -> LinkedMessage | None:
        messenger = self._messengers.get(platform)
        if not text or not isinstance(messenger, MessageLinks):
            return None
        return messenger.linked_message(text)
