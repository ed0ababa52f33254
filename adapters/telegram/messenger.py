"""Neutral messages -> Bot API calls, paced by the flood limiter; SDK errors -> core errors."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)

from adapters.telegram.limiter import FloodLimiter, Sleep
from adapters.telegram.render import MAX_CAPTION, keyboard, render_chunks
from facilitator.delivery.handover import about_to_send
from facilitator.domain.errors import (
    ConversationMoved,
    ConversationUnavailable,
    DeliveryError,
    RecipientUnreachable,
    RetryLater,
)
from facilitator.markup import Attachment, Destination, NativePoll, OutboundMessage
from facilitator.ports import LinkedMessage

log = logging.getLogger(__name__)

_GONE = ("chat not found", "group chat was deactivated", "bot was kicked", "not enough rights")
# A message of a supergroup: t.me/c/<chat id without -100>/<message> or, in a forum topic,
# t.me/c/<chat>/<topic>/<message>; query (?single, ?thread=…) and fragment ignored.
_MESSAGE_LINK = re.compile(
    r"^(?:https?://)?(?:t\.me|telegram\.me)/c/(\d{1,15})/(?:\d{1,10}/)?(\d{1,10})/?(?:[?#]\S*)?$",
    re.I,
)
# A longer RetryAfter is not slept in line: the send fails with the core's RetryLater and the
# outbox tries again when Telegram allows, so that no other conversation waits behind this one.
MAX_INLINE_WAIT = 5.0


def retry_seconds(error: RetryAfter) -> float:
    """The delay Telegram asked for; a timedelta with PTB_TIMEDELTA=true (set by `build`)."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def requested_delay(state: RetryCallState) -> float:
    """tenacity's wait: the RetryAfter of the failed attempt."""
    error = state.outcome.exception() if state.outcome is not None else None
    return retry_seconds(error) if isinstance(error, RetryAfter) else 0.0


class _Refused(DeliveryError):
    """Telegram refused the request itself (400): retrying it unchanged cannot help."""


@dataclass
class _Target:
    chat_id: str
    thread_id: int | None
    reply_to: int | None

    @property
    def is_private(self) -> bool:
        return not self.chat_id.startswith("-")

    def reply_parameters(self) -> ReplyParameters | None:
        if self.reply_to is None:
            return None
        return ReplyParameters(self.reply_to, allow_sending_without_reply=True)


Call = Callable[[_Target], Awaitable[Message]]


class TelegramMessenger:
    """Sends HTML, split to 4,096 characters; a short RetryAfter is waited out, `max_attempts`
    sends at most, and one longer than `max_wait` is RetryLater at once."""

    announces_hand_over = True  # each request, once the flood limiter lets it go

    def __init__(
        self,
        bot: Bot,
        limiter: FloodLimiter,
        *,
        sleep: Sleep = asyncio.sleep,
        max_attempts: int = 2,
        max_wait: float = MAX_INLINE_WAIT,
    ) -> None:
        self._bot = bot
        self._limiter = limiter
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._max_wait = max_wait
        self._moved: dict[str, str] = {}

    def start_link(self, payload: str) -> str | None:
        """`https://t.me/<bot>?start=<payload>`: opens a private chat with the bot, which
        Telegram requires before the bot may write to someone."""
        try:
            username = self._bot.username
        except RuntimeError:  # before getMe, i.e. before the adapter started
            return None
        return f"https://t.me/{username}?start={payload}" if username else None

    async def send(self, destination: Destination, message: OutboundMessage) -> str | None:
        chat_id = self._moved.get(destination.chat_id, destination.chat_id)
        # Telegram has no ephemeral messages: a reply meant for one person goes to the same chat,
        # quoting the message it answers, so that person is notified and the others see whom
        # it is for. In a private chat it is just a message.
        quote = destination.user_id is not None and not destination.is_direct
        target = _Target(
            chat_id=chat_id,
            thread_id=int(destination.thread_id) if destination.thread_id else None,
            reply_to=int(destination.reply_to_message_id)
            if quote and destination.reply_to_message_id
            else None,
        )
        if message.poll is not None:
            # Telegram draws the poll itself: its question and options replace the body.
            sent_poll = await self._deliver(target, self._poll(message.poll))
            poll_id = sent_poll.poll.id if sent_poll.poll is not None else ""
            return f"{sent_poll.message_id}:{poll_id}"
        texts = render_chunks(message.body)
        attachment = message.attachment
        caption: str | None = None
        if attachment is not None and attachment.caption is not None:
            captions = render_chunks(attachment.caption, MAX_CAPTION)
            if len(captions) == 1:
                caption = captions[0]
            else:
                texts.extend(render_chunks(attachment.caption))
        markup = keyboard(message.buttons)
        sent: Message | None = None
        first: Message | None = None
        for index, text in enumerate(texts):
            last = index == len(texts) - 1 and attachment is None
            sent = await self._deliver(
                target, self._text(text, markup if last else None, preview=message.preview)
            )
            first = first or sent
            target.reply_to = None  # only the first part quotes the question
        if attachment is not None:
            sent = await self._send_file(target, attachment, caption, markup)
            first = first or sent
        if message.pin and first is not None and not target.is_private:
            await self._pin(target.chat_id, first.message_id)
        return None if sent is None else str(sent.message_id)

    async def _pin(self, chat_id: str, message_id: int) -> None:
        """pinChatMessage, after the message is sent: a refusal (the bot is no admin of the
        group) leaves an ordinary message, never a second one. Paced like a send."""
        try:
            async with self._limiter.slot(chat_id):
                await self._bot.pin_chat_message(chat_id, message_id, disable_notification=True)
        except TelegramError as error:
            log.warning(
                "telegram message not pinned",
                extra={"chat_id": chat_id, "error": type(error).__name__},
            )

    def _poll(self, poll: NativePoll) -> Call:
        async def call(target: _Target) -> Message:
            return await self._bot.send_poll(
                target.chat_id,
                poll.question,
                list(poll.options),
                # Votes are recorded per member only when Telegram tells who voted.
                is_anonymous=poll.anonymous,
                allows_multiple_answers=poll.multiple,
                message_thread_id=target.thread_id,
                reply_parameters=target.reply_parameters(),
            )

        return call

    async def close_poll(self, destination: Destination, message_id: str) -> list[int] | None:
        """stopPoll: the final count per option, or None if Telegram refused."""
        chat_id = self._moved.get(destination.chat_id, destination.chat_id)
        try:
            poll = await self._bot.stop_poll(chat_id, int(message_id))
        except (TelegramError, ValueError) as error:
            log.warning(
                "telegram poll not stopped",
                extra={"chat_id": chat_id, "error": type(error).__name__},
            )
            return None
        return [option.voter_count for option in poll.options]

    async def delete_message(self, chat_id: str, message_id: str) -> bool:
        """deleteMessage, paced like a send; False (logged at INFO) when Telegram refuses:
        the bot is not an administrator allowed to delete, or the message is gone or too
        old. Never retried."""
        chat_id = self._moved.get(chat_id, chat_id)
        try:
            async with self._limiter.slot(chat_id):
                return bool(await self._bot.delete_message(chat_id, int(message_id)))
        except (TelegramError, ValueError) as error:
            log.info(
                "telegram message not deleted",
                extra={"chat_id": chat_id, "error": type(error).__name__},
            )
            return False

    def linked_message(self, link: str) -> LinkedMessage | None:
        """The supergroup message a `t.me/c/…` link opens. Links to a public group's message
        by its username (t.me/<name>/<id>) name no chat id, and are not read."""
        found = _MESSAGE_LINK.match(link.strip())
        if found is None:
            return None
        internal, message_id = found.group(1), found.group(2)
        return LinkedMessage(
            f"-100{internal}", message_id, f"https://t.me/c/{internal}/{message_id}"
        )

    def _text(
        self, text: str, markup: InlineKeyboardMarkup | None, *, preview: bool = True
    ) -> Call:
        options = None if preview else LinkPreviewOptions(is_disabled=True)

        async def call(target: _Target) -> Message:
            return await self._bot.send_message(
                target.chat_id,
                text,
                parse_mode=ParseMode.HTML,
                link_preview_options=options,
                reply_markup=markup,
                message_thread_id=target.thread_id,
                reply_parameters=target.reply_parameters(),
            )

        return call

    async def _send_file(
        self,
        target: _Target,
        attachment: Attachment,
        caption: str | None,
        markup: InlineKeyboardMarkup | None,
    ) -> Message:
        async def photo(target: _Target) -> Message:
            return await self._bot.send_photo(
                target.chat_id,
                attachment.content,
                filename=attachment.filename,
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                message_thread_id=target.thread_id,
                reply_parameters=target.reply_parameters(),
            )

        async def document(target: _Target) -> Message:
            return await self._bot.send_document(
                target.chat_id,
                attachment.content,
                filename=attachment.filename,
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                message_thread_id=target.thread_id,
                reply_parameters=target.reply_parameters(),
            )

        if attachment.mime_type.lower().startswith("image/"):
            try:
                return await self._deliver(target, photo)
            except _Refused:
                # Telegram refuses some images as photos (size, proportions): a file always works
                log.warning("image refused as a photo, sent as a file instead")
        return await self._deliver(target, document)

    def _short_wait(self, error: BaseException) -> bool:
        return isinstance(error, RetryAfter) and retry_seconds(error) <= self._max_wait

    def _slowed_down(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        chat_id = state.args[0].chat_id if state.args else None
        if isinstance(error, RetryAfter) and isinstance(chat_id, str):
            self._limiter.hold(chat_id, retry_seconds(error))
        log.warning(
            "telegram asked to slow down",
            extra={"retry_after": requested_delay(state), "attempt": state.attempt_number},
        )

    async def _send_paced(self, target: _Target, call: Call) -> Message:
        async with self._limiter.slot(target.chat_id):
            await about_to_send()
            return await call(target)

    async def _send_waiting_briefly(self, target: _Target, call: Call) -> Message:
        """One send through the flood limiter, repeated after a RetryAfter short enough.

        A chat Telegram told to wait stays held (`FloodLimiter.hold`): while the wait is
        longer than `max_wait` every send to it fails at once with RetryLater, without asking
        Telegram again; a shorter one is waited out by this send alone."""
        held = self._limiter.held(target.chat_id)
        if held > self._max_wait:
            raise RetryLater(held)
        if held > 0:
            await self._sleep(held)
        retrying = AsyncRetrying(
            retry=retry_if_exception(self._short_wait),
            wait=requested_delay,
            stop=stop_after_attempt(self._max_attempts),
            sleep=self._sleep,
            before_sleep=self._slowed_down,
            reraise=True,
        )
        try:
            return await retrying(self._send_paced, target, call)
        except RetryAfter as error:
            delay = retry_seconds(error)
            self._limiter.hold(target.chat_id, delay)
            log.warning(
                "telegram asked to slow down: sending later",
                extra={"chat_id": target.chat_id, "retry_after": delay},
            )
            raise RetryLater(delay) from error

    async def _deliver(self, target: _Target, call: Call) -> Message:
        """Sends, following a group's move to a supergroup and a deleted forum topic."""
        followed_migration = False
        while True:
            try:
                return await self._send_waiting_briefly(target, call)
            except ChatMigrated as error:
                new_chat_id = str(error.new_chat_id)
                if followed_migration:
                    raise ConversationMoved(new_chat_id) from error
                followed_migration = True
                log.warning(
                    "group became a supergroup: sending to its new id",
                    extra={"chat_id": target.chat_id, "new_chat_id": new_chat_id},
                )
                self._moved[target.chat_id] = new_chat_id
                # Message ids and topics belong to the old chat.
                target.chat_id, target.reply_to, target.thread_id = new_chat_id, None, None
            except Forbidden as error:
                log.info(
                    "telegram refused the recipient",
                    extra={"chat_id": target.chat_id, "error": error.message[:200]},
                )
                if target.is_private:
                    raise RecipientUnreachable(error.message) from error
                raise ConversationUnavailable(error.message) from error
            except BadRequest as error:
                reason = error.message.lower()
                if "thread not found" in reason and target.thread_id is not None:
                    log.warning("forum topic gone: sending to the general topic")
                    target.thread_id = None
                    continue
                if any(gone in reason for gone in _GONE):
                    raise ConversationUnavailable(error.message) from error
                log.error(
                    "telegram refused a message",
                    extra={"chat_id": target.chat_id, "error": error.message[:300]},
                )
                raise _Refused(error.message) from error
            except NetworkError as error:
                # Whether Telegram got the request is unknown: not retried, so never sent twice.
                # Only the type is logged: some transport errors quote the URL, and the token.
                cause = type(error.__cause__ or error).__name__
                log.warning(
                    "telegram unreachable", extra={"chat_id": target.chat_id, "error": cause}
                )
                raise DeliveryError(f"network: {cause}") from error
            except TelegramError as error:
                log.error("telegram call failed", extra={"error": type(error).__name__})
                raise DeliveryError(type(error).__name__) from error
