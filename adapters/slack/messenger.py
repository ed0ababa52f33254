"""Sends neutral messages to Slack: channel posts, ephemerals, DMs, files, the Home tab."""

from __future__ import annotations

import logging
import re
from typing import Any

from adapters.slack import home, render
from adapters.slack.directory import Directory
from adapters.slack.render import SlackMessage
from adapters.slack.response_urls import INTERACTION_PREFIX, ResponseUrls, trigger_of
from adapters.slack.webapi import SlackWeb, post_to_response_url
from facilitator.delivery.handover import about_to_send
from facilitator.domain.errors import ConversationUnavailable, DeliveryError
from facilitator.i18n import Catalogue
from facilitator.markup import Destination, Form, OutboundMessage

log = logging.getLogger(__name__)

_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


class SlackMessenger:
    """Where a reply goes on Slack:

    - private (a `user_id` outside a DM): ephemeral. When the reply answers a slash command or
      button, its response_url is used first: it works even in conversations the bot is not a
      member of; otherwise chat.postEphemeral.
    - public: chat.postMessage (in the thread, or under the message it answers), paced about
      one per second per channel. If the bot is not in the conversation and the reply answers
      a slash command, the response_url posts it in the channel instead.
    - a user id as the chat: a DM, opened with conversations.open.
    - the Home tab of a member (`home:<user>`): views.publish.
    - a message with a form: a modal (views.open with the trigger_id of the interaction it
      answers). The trigger lives three seconds; without one, or when Slack refuses it, the
      message's body (the command's usage) is sent instead, as any message.
    """

    # Before each Web API call that may deliver (`SlackWeb`, after the channel's pacing) and
    # before each response_url post.
    announces_hand_over = True

    def __init__(
        self,
        web: SlackWeb,
        directory: Directory,
        response_urls: ResponseUrls,
        catalogue: Catalogue,
    ) -> None:
        self._web = web
        self._directory = directory
        self._response_urls = response_urls
        self._catalogue = catalogue

    async def send(self, destination: Destination, message: OutboundMessage) -> str | None:
        if message.form is not None and await self._open_modal(destination, message.form):
            return None
        home_user = home.home_user(destination.chat_id)
        if home_user is not None:
            await self._publish_home(home_user, message)
            return None
        private = destination.user_id is not None and not destination.is_direct
        if private and message.attachment is not None:
            # Files cannot be ephemeral: they go to the member's DM instead.
            destination = Destination(
                platform=destination.platform,
                chat_id=destination.user_id or destination.chat_id,
                is_direct=True,
            )
            private = False
        channel = await self._channel(destination)
        first: str | None = None
        for part in render.compose(message):
            ts = (
                await self._ephemeral(channel, destination, part)
                if private
                else await self._post(channel, destination, part)
            )
            first = first or ts
        if message.attachment is not None:
            attachment = message.attachment
            caption = (
                render.bounded(render.mrkdwn(attachment.caption)) if attachment.caption else None
            )
            await self._web.upload_file(
                channel,
                attachment.content,
                attachment.filename,
                caption,
                destination.thread_id,
            )
        return first

    async def update(self, destination: Destination, ts: str, message: OutboundMessage) -> None:
        """Refresh a message the bot posted (chat.update), e.g. a poll's running tally."""
        parts = render.compose(message)
        if not parts:
            return
        channel = await self._channel(destination)
        await self._web.update_message(channel, ts, parts[0].text, parts[0].blocks)

    async def _channel(self, destination: Destination) -> str:
        chat = destination.chat_id
        if _USER_ID.match(chat):
            return await self._directory.dm_channel(chat)
        return chat

    def _thread(self, destination: Destination) -> str | None:
        if destination.thread_id:
            return destination.thread_id
        reply_to = destination.reply_to_message_id
        if reply_to and _TS.match(reply_to) and not destination.is_direct:
            return reply_to
        return None

    async def _post(
        self, channel: str, destination: Destination, part: SlackMessage
    ) -> str | None:
        try:
            response = await self._web.post_message(
                channel, part.text, part.blocks, self._thread(destination)
            )
        except ConversationUnavailable:
            if await self._respond(destination, part, "in_channel"):
                return None
            raise
        ts = response.get("ts")
        return ts if isinstance(ts, str) else None

    async def _ephemeral(
        self, channel: str, destination: Destination, part: SlackMessage
    ) -> str | None:
        if await self._respond(destination, part, "ephemeral"):
            return None
        assert destination.user_id is not None
        response = await self._web.post_ephemeral(
            channel, destination.user_id, part.text, part.blocks, destination.thread_id
        )
        ts = response.get("message_ts")
        return ts if isinstance(ts, str) else None

    async def _respond(self, destination: Destination, part: SlackMessage, kind: str) -> bool:
        reference = destination.reply_to_message_id
        if not reference or not reference.startswith(INTERACTION_PREFIX):
            return False
        url = self._response_urls.take(reference)
        if url is None:
            return False
        if self._web.suspended is not None:
            return False
        await about_to_send()
        body: dict[str, Any] = {
            "response_type": kind,
            "replace_original": False,
            "text": part.text,
            "blocks": part.blocks,
        }
        return await post_to_response_url(url, body, self._response_urls.sdk_logger)

    async def _open_modal(self, destination: Destination, form: Form) -> bool:
        trigger = trigger_of(destination.reply_to_message_id)
        if trigger is None:
            log.info("form without a trigger, usage sent instead", extra={"form": form.form_id})
            return False
        try:
            await self._web.open_view(trigger, render.modal(form))
        except DeliveryError as error:
            log.info(
                "modal not opened, usage sent instead",
                extra={"form": form.form_id, "error": str(error)[:100]},
            )
            return False
        return True

    async def _publish_home(self, user_id: str, message: OutboundMessage) -> None:
        # The footer follows the member's Slack language; the body is the core's, in theirs.
        footer = home.hint(self._catalogue, self._directory.locale_of(user_id))
        await self._web.publish_home(user_id, home.home_view(message, footer))
