"""Stored raw updates -> core events: PTB parses each update, this module translates it."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from telegram import (
    Bot,
    CallbackQuery,
    Chat,
    ChatMember,
    ChatMemberRestricted,
    ChatMemberUpdated,
    Message,
    MessageEntity,
    MessageReactionUpdated,
    PollAnswer,
    ReactionType,
    ReactionTypeCustomEmoji,
    ReactionTypeEmoji,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from adapters.telegram.render import parse_callback_data
from facilitator.commands.spec import split_command
from facilitator.domain.errors import UndecodablePayload
from facilitator.domain.events import (
    BotAdded,
    BotRemoved,
    ButtonPressed,
    CommandInvoked,
    ConversationMoved,
    InboundEvent,
    MemberJoined,
    MemberLeft,
    MessageReceived,
    Origin,
    PollVoteCast,
    ReactionChanged,
    ReplyTarget,
)
from facilitator.domain.model import Platform, PlatformUser
from facilitator.ports import Clock

log = logging.getLogger(__name__)

_ADDRESSED = re.compile(r"^/[A-Za-z0-9_]{1,64}(?:@([A-Za-z0-9_]{1,64}))?(?=\s|$)")
_LINK = re.compile(r"https?://\S", re.IGNORECASE)
_PRESENT = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
_ADMINS = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}
_GROUPS = {ChatType.GROUP, ChatType.SUPERGROUP}
# User content that counts as a message even without text (service messages do not).
_CONTENT = (
    "animation",
    "audio",
    "checklist",
    "contact",
    "dice",
    "document",
    "location",
    "paid_media",
    "photo",
    "poll",
    "sticker",
    "story",
    "venue",
    "video",
    "video_note",
    "voice",
)
_FILES = ("animation", "audio", "document", "photo", "video", "video_note", "voice")


class BotIdentity:
    """The bot's own account (getMe), fetched once: its id, @username and privacy mode."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        self._me: User | None = None
        self._lock = asyncio.Lock()

    def remember(self, me: User) -> None:
        self._me = me

    async def me(self) -> User:
        if self._me is None:
            async with self._lock:
                if self._me is None:
                    self._me = await self._bot.get_me()
        return self._me


class AdminDirectory:
    """Who administers each group, from getChatAdministrators, cached per chat for a while.

    Commands and buttons carry `is_platform_admin`; one cached call per group every few
    minutes is cheaper than a getChatMember call per command, and admin changes seen in
    `chat_member` updates drop the cache at once."""

    def __init__(
        self, bot: Bot, ttl_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._bot = bot
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[int, tuple[float, frozenset[int]]] = {}

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        cached = self._cache.get(chat_id)
        if cached is None or cached[0] <= self._clock():
            try:
                members = await self._bot.get_chat_administrators(chat_id)
                admins = frozenset(member.user.id for member in members)
                expires = self._clock() + self._ttl
            except (TelegramError, TypeError, KeyError, ValueError) as error:
                # PTB fails with TypeError & co on a list it cannot parse. Unknown is not admin;
                # ask again soon rather than at every command.
                log.warning(
                    "group administrators unavailable",
                    extra={"chat_id": chat_id, "error": type(error).__name__},
                )
                admins, expires = frozenset(), self._clock() + min(self._ttl, 30.0)
            cached = (expires, admins)
            self._cache[chat_id] = cached
        return user_id in cached[1]

    def forget(self, chat_id: int) -> None:
        self._cache.pop(chat_id, None)


def _present(member: ChatMember) -> bool:
    if isinstance(member, ChatMemberRestricted):
        return member.is_member
    return member.status in _PRESENT


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def _reaction_key(reaction: ReactionType) -> str:
    if isinstance(reaction, ReactionTypeEmoji):
        return reaction.emoji
    if isinstance(reaction, ReactionTypeCustomEmoji):
        return f"custom:{reaction.custom_emoji_id}"
    return str(reaction.type)


class TelegramDecoder:
    """Implements the core's `Decoder` port for Telegram updates."""

    def __init__(
        self, bot: Bot, identity: BotIdentity, admins: AdminDirectory, clock: Clock
    ) -> None:
        self._bot = bot
        self._identity = identity
        self._admins = admins
        self._clock = clock

    async def decode(self, payload: str) -> Sequence[InboundEvent]:
        try:
            data = json.loads(payload)
        except ValueError as error:
            raise UndecodablePayload(f"not JSON: {error}") from error
        if not isinstance(data, dict):
            raise UndecodablePayload("an update must be a JSON object")
        try:
            update = Update.de_json(data, self._bot)
        except Exception as error:  # PTB raises TypeError/KeyError/ValueError on bad input
            raise UndecodablePayload(
                f"python-telegram-bot cannot parse the update: {type(error).__name__}: {error}"
            ) from error
        if update.message is not None:
            return await self._message(update.message, edited=False)
        if update.edited_message is not None:
            return await self._message(update.edited_message, edited=True)
        if update.callback_query is not None:
            return await self._button(update.callback_query)
        if update.poll_answer is not None:
            return self._vote(update.poll_answer)
        if update.my_chat_member is not None:
            return await self._bot_membership(update.my_chat_member)
        if update.chat_member is not None:
            return await self._membership(update.chat_member)
        if update.message_reaction is not None:
            return self._reactions(update.message_reaction)
        return []  # kinds the bot does not use (inline queries, channel posts, payments, …)

    # -- people and places ----------------------------------------------------------------------

    async def _person(self, user: User, chat: Chat | None = None) -> PlatformUser:
        """`chat` is given where the role matters (commands, buttons in a group)."""
        admin = False
        if chat is not None and chat.type in _GROUPS and not user.is_bot:
            admin = await self._admins.is_admin(chat.id, user.id)
        return PlatformUser(
            platform=Platform.TELEGRAM,
            user_id=str(user.id),
            display_name=user.full_name,
            locale_hint=user.language_code,
            is_bot=user.is_bot,
            is_platform_admin=admin,
        )

    @staticmethod
    def _origin(
        event_id: str,
        chat: Chat,
        user: PlatformUser,
        occurred_at: datetime,
        *,
        thread_id: int | None = None,
        message_id: int | None = None,
    ) -> Origin:
        return Origin(
            platform=Platform.TELEGRAM,
            event_id=event_id,
            chat_id=str(chat.id),
            user=user,
            occurred_at=occurred_at,
            chat_title=chat.title,
            is_direct=chat.type == ChatType.PRIVATE,
            thread_id=str(thread_id) if thread_id is not None else None,
            message_id=str(message_id) if message_id is not None else None,
        )

    # -- messages -------------------------------------------------------------------------------

    async def _message(self, message: Message, *, edited: bool) -> list[InboundEvent]:
        chat, sender = message.chat, message.from_user
        if sender is None or chat.type not in (*_GROUPS, ChatType.PRIVATE):
            return []  # channel posts
        if message.is_automatic_forward or (
            message.sender_chat is not None and message.migrate_to_chat_id is None
        ):
            # Posts of a linked channel, and messages sent on behalf of a chat (a channel, or an
            # anonymous admin): no person to attribute them to.
            return []
        if message.migrate_to_chat_id is not None:
            origin = self._origin(
                f"chat:{chat.id}:moved", chat, await self._person(sender), message.date
            )
            return [ConversationMoved(origin, str(message.migrate_to_chat_id))]
        if message.new_chat_members:
            return await self._joined_by_message(message, sender)
        if message.left_chat_member is not None:
            return await self._left_by_message(message, sender, message.left_chat_member)
        text = message.text or message.caption or ""
        if not text and not any(getattr(message, name, None) for name in _CONTENT):
            return []  # service messages: pins, video chats, topics, timers, migrations …
        thread_id = message.message_thread_id if message.is_topic_message else None
        event_id = f"chat:{chat.id}:msg:{message.message_id}"
        if edited and message.edit_date is not None:
            event_id += f":edit:{_stamp(message.edit_date)}"
        me = await self._identity.me()
        command = None if edited else self._command(text, me)
        if command == "elsewhere":
            return []  # `/cmd@other_bot`: addressed to another bot in the group
        person = await self._person(sender, chat if command else None)
        origin = self._origin(
            event_id,
            chat,
            person,
            message.edit_date if edited and message.edit_date else message.date,
            thread_id=thread_id,
            message_id=message.message_id,
        )
        if isinstance(command, tuple):
            return [CommandInvoked(origin, *command)]
        reply_to = self._reply_target(message)
        return [
            MessageReceived(
                origin,
                text,
                reply_to=reply_to,
                mentions_bot=origin.is_direct
                or (reply_to is not None and reply_to.user_id == str(me.id))
                or self._mentions(message, me),
                has_link=self._has_link(message, text),
                has_file=any(getattr(message, name, None) for name in _FILES),
                is_edit=edited,
            )
        ]

    @staticmethod
    def _command(text: str, me: User) -> tuple[str, str] | str | None:
        addressed = _ADDRESSED.match(text)
        if addressed is None:
            return None
        target = addressed.group(1)
        if target is not None and target.lower() != (me.username or "").lower():
            return "elsewhere"
        return split_command(text)

    @staticmethod
    def _reply_target(message: Message) -> ReplyTarget | None:
        replied = message.reply_to_message
        # In a forum topic every message "replies" to the topic's first service message.
        if replied is None or replied.forum_topic_created is not None:
            return None
        author = replied.from_user
        return ReplyTarget(
            message_id=str(replied.message_id),
            user_id=str(author.id) if author is not None else None,
            is_bot=author.is_bot if author is not None else False,
        )

    @staticmethod
    def _mentions(message: Message, me: User) -> bool:
        handle = f"@{me.username}".lower() if me.username else None
        kinds: list[str | None] = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
        found = {**message.parse_entities(kinds), **message.parse_caption_entities(kinds)}
        for entity, text in found.items():
            if entity.type == MessageEntity.TEXT_MENTION:
                if entity.user is not None and entity.user.id == me.id:
                    return True
            elif handle is not None and text.lower() == handle:
                return True
        # Telegram marks mentions as entities; recorded or relayed payloads may lack them.
        text = message.text or message.caption or ""
        return (
            handle is not None
            and re.search(rf"(?<!\w){re.escape(handle)}\b", text, re.I) is not None
        )

    @staticmethod
    def _has_link(message: Message, text: str) -> bool:
        kinds = {MessageEntity.URL, MessageEntity.TEXT_LINK}
        entities = (*message.entities, *message.caption_entities)
        return any(e.type in kinds for e in entities) or bool(_LINK.search(text))

    async def _joined_by_message(self, message: Message, sender: User) -> list[InboundEvent]:
        me = await self._identity.me()
        events: list[InboundEvent] = []
        for member in message.new_chat_members:
            if member.id == me.id:
                continue  # the bot itself: `my_chat_member` says so, with its status
            origin = self._origin(
                # The same key as the `chat_member` update of this join: welcomed once.
                f"chat:{message.chat.id}:join:{member.id}:{_stamp(message.date)}",
                message.chat,
                await self._person(sender),
                message.date,
                message_id=message.message_id,
            )
            events.append(MemberJoined(origin, await self._person(member)))
        return events

    async def _left_by_message(
        self, message: Message, sender: User, member: User
    ) -> list[InboundEvent]:
        if member.id == (await self._identity.me()).id:
            return []
        origin = self._origin(
            f"chat:{message.chat.id}:leave:{member.id}:{_stamp(message.date)}",
            message.chat,
            await self._person(sender),
            message.date,
            message_id=message.message_id,
        )
        return [MemberLeft(origin, await self._person(member))]

    # -- buttons, polls, reactions --------------------------------------------------------------

    async def _button(self, query: CallbackQuery) -> list[InboundEvent]:
        message = query.message
        if message is None or query.data is None:
            return []  # buttons under inline-mode messages, game buttons
        chat = message.chat
        if chat.type not in (*_GROUPS, ChatType.PRIVATE):
            return []
        thread_id = None
        if isinstance(message, Message) and message.is_topic_message:
            thread_id = message.message_thread_id
        origin = self._origin(
            f"callback:{query.id}",
            chat,
            await self._person(query.from_user, chat),
            self._clock.now(),  # a callback query carries no date
            thread_id=thread_id,
            message_id=message.message_id,
        )
        action, value = parse_callback_data(query.data)
        return [ButtonPressed(origin, action, value)]

    def _vote(self, answer: PollAnswer) -> list[InboundEvent]:
        voter = answer.user
        if voter is None:
            return []  # voted on behalf of a channel
        # A poll answer names no chat: it is attributed to the voter's private chat, and the
        # core records it in the voter's last community. The id is per poll and voter, so a
        # changed vote counts once.
        user = PlatformUser(
            Platform.TELEGRAM,
            str(voter.id),
            voter.full_name,
            locale_hint=voter.language_code,
            is_bot=voter.is_bot,
        )
        origin = Origin(
            platform=Platform.TELEGRAM,
            event_id=f"poll:{answer.poll_id}:voter:{voter.id}",
            chat_id=str(voter.id),
            user=user,
            occurred_at=self._clock.now(),
            is_direct=True,
        )
        return [PollVoteCast(origin, answer.poll_id, tuple(answer.option_ids))]

    def _reactions(self, change: MessageReactionUpdated) -> list[InboundEvent]:
        if change.user is None:
            return []  # anonymous: reacted on behalf of a chat
        chat = change.chat
        if chat.type not in (*_GROUPS, ChatType.PRIVATE):
            return []
        before = {_reaction_key(r) for r in change.old_reaction}
        after = {_reaction_key(r) for r in change.new_reaction}
        person = PlatformUser(
            Platform.TELEGRAM,
            str(change.user.id),
            change.user.full_name,
            locale_hint=change.user.language_code,
            is_bot=change.user.is_bot,
        )
        events: list[InboundEvent] = []
        for emoji, added in [
            *((e, True) for e in after - before),
            *((e, False) for e in before - after),
        ]:
            sign = "+" if added else "-"
            origin = self._origin(
                f"chat:{chat.id}:reaction:{change.message_id}:{person.user_id}:{sign}{emoji}:"
                f"{_stamp(change.date)}",
                chat,
                person,
                change.date,
                message_id=change.message_id,
            )
            events.append(ReactionChanged(origin, emoji, str(change.message_id), None, added))
        return events

    # -- membership -----------------------------------------------------------------------------

    async def _bot_membership(self, change: ChatMemberUpdated) -> list[InboundEvent]:
        chat = change.chat
        if chat.type not in _GROUPS:
            return []  # private chats (blocked / restarted) and channels are not communities
        was, now = _present(change.old_chat_member), _present(change.new_chat_member)
        origin = self._origin(
            f"chat:{chat.id}:bot:{change.new_chat_member.status}:{_stamp(change.date)}",
            chat,
            await self._person(change.from_user),
            change.date,
        )
        if not was and now:
            if change.new_chat_member.status in _ADMINS:
                can_read = True  # administrators receive every message
            else:
                can_read = bool((await self._identity.me()).can_read_all_group_messages)
            return [BotAdded(origin, can_read_all_messages=can_read)]
        if was and not now:
            return [BotRemoved(origin)]
        return []

    async def _membership(self, change: ChatMemberUpdated) -> list[InboundEvent]:
        chat = change.chat
        if chat.type not in _GROUPS:
            return []
        old, new = change.old_chat_member, change.new_chat_member
        if (old.status in _ADMINS) != (new.status in _ADMINS):
            self._admins.forget(chat.id)
        member = new.user
        if member.id == (await self._identity.me()).id:
            return []
        was, now = _present(old), _present(new)
        if was == now:
            return []
        kind = "join" if now else "leave"
        origin = self._origin(
            f"chat:{chat.id}:{kind}:{member.id}:{_stamp(change.date)}",
            chat,
            await self._person(change.from_user),
            change.date,
        )
        person = await self._person(member)
        return [MemberJoined(origin, person) if now else MemberLeft(origin, person)]
