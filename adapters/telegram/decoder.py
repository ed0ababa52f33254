"""Stored raw updates -> core events: PTB parses each update, this module translates it.

The commonest update, a person's plain message in a group or private chat, is read straight
from the JSON instead (`_fast_person_message`), but only when every key in it is one this
module knows reads the same as through PTB; anything else goes through PTB as before."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, NamedTuple, Protocol

from cachetools import TLRUCache
from telegram import (
    Animation,
    Audio,
    Bot,
    CallbackQuery,
    ChatMember,
    ChatMemberRestricted,
    ChatMemberUpdated,
    Document,
    ForumTopicCreated,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    MessageOrigin,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    MessageReactionUpdated,
    PhotoSize,
    PollAnswer,
    ReactionType,
    ReactionTypeCustomEmoji,
    ReactionTypeEmoji,
    Update,
    User,
    Video,
    VideoNote,
    Voice,
)
from telegram.constants import ZERO_DATE, ChatMemberStatus, ChatType
from telegram.error import BadRequest, TelegramError

from adapters.telegram.render import parse_callback_data
from facilitator.commands.spec import split_command
from facilitator.domain.errors import MembershipUnknown, UndecodablePayload
from facilitator.domain.events import (
    BotAdded,
    BotRemoved,
    ButtonPressed,
    CommandInvoked,
    ConversationMoved,
    FileRef,
    Forwarded,
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
_MENTION_KINDS: list[str | None] = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
_LINK_KINDS = {MessageEntity.URL, MessageEntity.TEXT_LINK}


# -- what the decoder reads of a message, however it was parsed ---------------------------------


class _UserLike(Protocol):
    """What the decoder reads of a person: PTB's `User`, or a `_User` read from the JSON."""

    @property
    def id(self) -> int: ...

    @property
    def is_bot(self) -> bool: ...

    @property
    def full_name(self) -> str: ...

    @property
    def language_code(self) -> str | None: ...


class _ChatLike(Protocol):
    """What the decoder reads of a chat: PTB's `Chat`, or a `_Chat` read from the JSON."""

    @property
    def id(self) -> int: ...

    @property
    def type(self) -> str: ...

    @property
    def title(self) -> str | None: ...


class _User(NamedTuple):
    id: int
    is_bot: bool
    full_name: str
    language_code: str | None


class _Chat(NamedTuple):
    id: int
    type: str
    title: str | None


class _Replied(NamedTuple):
    """The message replied to: its id, whether it opened a forum topic, and its author."""

    message_id: int
    opens_topic: bool
    author: _UserLike | None
    text: str | None = None  # its text or caption
    file: FileRef | None = None  # the document it carries
    forwarded: Forwarded | None = None  # where it came from, if it was forwarded


# A mention or text_mention entity: its type, its text, and the user a text_mention names.
_Mention = tuple[str, str, int | None]


class _PersonMessage(NamedTuple):
    """A person's message (text, caption, file) as the decoder reads it: from PTB's `Message`
    (`_person_message_of`), or on the fast path straight from the update's JSON
    (`_fast_person_message`). Not a channel post, which Telegram also calls a post: those
    have no person to attribute them to and are left out.

    Everything the decoder decides about such a message (`TelegramDecoder._person_message`)
    reads only this, so both ways of parsing share one set of rules."""

    chat: _ChatLike
    sender: _UserLike
    message_id: int
    date: datetime
    edit_date: datetime | None
    is_topic_message: bool | None
    message_thread_id: int | None
    text: str | None
    caption: str | None
    contents: tuple[str, ...]  # the `_CONTENT` fields the message carries
    entity_types: tuple[str, ...]  # of its entities, then its caption entities
    mentions: Callable[[], Iterable[_Mention]]  # parsed only when asked, as before
    reply: _Replied | None
    document: FileRef | None = None  # the document it carries
    forwarded: bool = False  # a copy of another message (never read on the fast path)


def _person_message_of(message: Message, sender: User) -> _PersonMessage:
    replied = message.reply_to_message

    def mentions() -> list[_Mention]:
        # Offsets count UTF-16 code units: PTB's parse_entities slices the text accordingly.
        found = {
            **message.parse_entities(_MENTION_KINDS),
            **message.parse_caption_entities(_MENTION_KINDS),
        }
        return [
            (e.type, text, e.user.id if e.user is not None else None) for e, text in found.items()
        ]

    return _PersonMessage(
        chat=message.chat,
        sender=sender,
        message_id=message.message_id,
        date=message.date,
        edit_date=message.edit_date,
        is_topic_message=message.is_topic_message,
        message_thread_id=message.message_thread_id,
        text=message.text,
        caption=message.caption,
        contents=tuple(name for name in _CONTENT if getattr(message, name, None)),
        entity_types=tuple(e.type for e in (*message.entities, *message.caption_entities)),
        mentions=mentions,
        reply=None
        if replied is None
        else _Replied(
            replied.message_id,
            replied.forum_topic_created is not None,
            replied.from_user,
            replied.text or replied.caption,
            _document_ref(replied.document),
            _forwarded(replied.forward_origin),
        ),
        document=_document_ref(message.document),
        forwarded=message.forward_origin is not None,
    )


def _forwarded(origin: MessageOrigin | None) -> Forwarded | None:
    """Where a forwarded message came from. A person's message names its author only (or,
    if they hide their account, their name), never its chat; a message sent on behalf of a
    chat names that chat, and a channel's post its message too. (Forwarded messages are
    read through PTB: `forward_origin` is not a key of the fast path.)"""
    if origin is None:
        return None
    match origin:
        case MessageOriginUser(sender_user=sender):
            return Forwarded(str(sender.id), sender.full_name, origin.date)
        case MessageOriginHiddenUser(sender_user_name=name):
            return Forwarded(None, name, origin.date)
        case MessageOriginChat(sender_chat=chat):
            return Forwarded(None, chat.title, origin.date, str(chat.id))
        case MessageOriginChannel(chat=chat, message_id=message_id):
            return Forwarded(None, chat.title, origin.date, str(chat.id), str(message_id))
    return Forwarded(sent_at=origin.date)


def _document_ref(document: Document | None) -> FileRef | None:
    if document is None:
        return None
    return FileRef(document.file_id, document.file_name, document.mime_type, document.file_size)


def _fast_document_ref(raw: object, bot: Bot) -> FileRef | None:
    """The document of a replied-to message read from its JSON, through PTB's own Document
    (as `_fast_contents` checked it), so that both paths give the same reference."""
    if not isinstance(raw, dict):
        return None
    return _document_ref(Document.de_json(raw, bot))


def message_link(chat_id: int, message_id: int) -> str | None:
    """A link that opens a message of a supergroup for its members (t.me/c/…); basic groups
    and private chats have none."""
    text = str(chat_id)
    if not text.startswith("-100") or not text[4:].isdecimal():
        return None
    return f"https://t.me/c/{text[4:]}/{message_id}"


# -- the fast path: a person's plain message read without PTB -----------------------------------
#
# Only updates made entirely of the keys below, each with exactly the JSON type given, are read
# here; any other key (a service message, a channel post, a field of a newer Bot API …), a
# missing required key or a value of another type sends the update through PTB. Each key is
# one the decoder reads the same way PTB would, or one it does not read at all and that PTB
# takes as it is. Objects the decoder does not look into (files, link preview options, the
# topic a reply opened) are parsed by PTB's own classes, so that whatever PTB refuses sends the
# update to PTB, which refuses it.

_UPDATE_FIELDS: dict[str, type] = {"update_id": int, "message": dict, "edited_message": dict}
_USER_FIELDS: dict[str, type] = {
    "id": int,
    "is_bot": bool,
    "first_name": str,
    "last_name": str,
    "username": str,
    "language_code": str,
    "is_premium": bool,
    "added_to_attachment_menu": bool,
}
_CHAT_FIELDS: dict[str, type] = {
    "id": int,
    "type": str,
    "title": str,
    "username": str,
    "first_name": str,
    "last_name": str,
    "is_forum": bool,
}
_ENTITY_FIELDS: dict[str, type] = {
    "type": str,
    "offset": int,
    "length": int,
    "url": str,
    "user": dict,
    "language": str,
    "custom_emoji_id": str,
}
# The files a caption comes with, each parsed as PTB's Message.de_json parses it.
_ATTACHMENTS: dict[str, tuple[type, Callable[[Any, Bot], object]]] = {
    "animation": (dict, Animation.de_json),
    "audio": (dict, Audio.de_json),
    "document": (dict, Document.de_json),
    "photo": (list, PhotoSize.de_list),
    "video": (dict, Video.de_json),
    "video_note": (dict, VideoNote.de_json),
    "voice": (dict, Voice.de_json),
}
_MESSAGE_FIELDS: dict[str, type] = {
    "message_id": int,
    "from": dict,
    "chat": dict,
    "date": int,
    "edit_date": int,
    "text": str,
    "entities": list,
    "caption": str,
    "caption_entities": list,
    "message_thread_id": int,
    "is_topic_message": bool,
    "reply_to_message": dict,
    "link_preview_options": dict,
    "media_group_id": str,
    "has_media_spoiler": bool,
    "show_caption_above_media": bool,
    "has_protected_content": bool,
    "is_from_offline": bool,
    **{name: kind for name, (kind, _) in _ATTACHMENTS.items()},
}
# A replied-to message comes without its own reply; in a forum topic it may be the topic's
# first (service) message.
_REPLIED_FIELDS: dict[str, type] = {
    **{k: v for k, v in _MESSAGE_FIELDS.items() if k != "reply_to_message"},
    "forum_topic_created": dict,
}
_PERSON_CHATS = frozenset({ChatType.PRIVATE, ChatType.GROUP, ChatType.SUPERGROUP})


def _typed(obj: Mapping[str, Any], fields: Mapping[str, type]) -> bool:
    """Every key of `obj` is one of `fields`, its value of exactly that JSON type."""
    # A loop: all() over a generator costs about twice as much, on every update.
    for key, value in obj.items():  # noqa: SIM110
        if type(value) is not fields.get(key):
            return False
    return True


def _fast_user(raw: Any) -> _User | None:
    if (
        type(raw) is not dict
        or not _typed(raw, _USER_FIELDS)
        or "id" not in raw
        or "is_bot" not in raw
        or not raw.get("first_name")  # PTB's full_name is None for an empty first name
    ):
        return None
    first, last = raw["first_name"], raw.get("last_name")
    full_name = f"{first} {last}" if last else first  # as PTB's User.full_name
    return _User(raw["id"], raw["is_bot"], full_name, raw.get("language_code"))


def _fast_chat(raw: dict[str, Any]) -> _Chat | None:
    if not _typed(raw, _CHAT_FIELDS) or "id" not in raw or "type" not in raw:
        return None
    return _Chat(raw["id"], raw["type"], raw.get("title"))


def _zoned(stamp: int, zone: tzinfo | None) -> datetime:
    """A timestamp as PTB's from_timestamp makes it: in the zone of the bot's Defaults, if it
    has any, else in UTC."""
    return datetime.fromtimestamp(stamp, UTC if zone is None else zone)


def _moment(stamp: int, zone: tzinfo | None) -> datetime:
    """A message's `date` as PTB makes it: 0 (an inaccessible message) is always UTC's."""
    return ZERO_DATE if stamp == 0 else _zoned(stamp, zone)


def _fast_contents(
    raw: dict[str, Any], fields: Mapping[str, type], bot: Bot
) -> tuple[str, ...] | None:
    """The `_CONTENT` fields of a message PTB would parse like this, or None if unsure.

    Its chat and sender are the caller's to read. Raises what PTB's classes raise on files
    they cannot parse."""
    if not _typed(raw, fields) or not ("message_id" in raw and "date" in raw and "chat" in raw):
        return None
    # PTB fails on a mention in entities without the text (or caption) they belong to.
    if ("entities" in raw and "text" not in raw) or (
        "caption_entities" in raw and "caption" not in raw
    ):
        return None
    for key in ("entities", "caption_entities"):
        for entity in raw.get(key, ()):
            if (
                type(entity) is not dict
                or not _typed(entity, _ENTITY_FIELDS)
                or not ("type" in entity and "offset" in entity and "length" in entity)
                or ("user" in entity and _fast_user(entity["user"]) is None)
            ):
                return None
    if "link_preview_options" in raw:
        LinkPreviewOptions.de_json(raw["link_preview_options"], bot)
    if "forum_topic_created" in raw:
        ForumTopicCreated.de_json(raw["forum_topic_created"], bot)
    return tuple(
        name for name, (_, parse) in _ATTACHMENTS.items() if name in raw and parse(raw[name], bot)
    )


def _fast_mentions(message: dict[str, Any]) -> list[_Mention]:
    """PTB's `{**parse_entities(kinds), **parse_caption_entities(kinds)}`, from the JSON.

    Entities are equal (one key of that dict) when type, offset and length are: the first
    keeps its place and its user, the text is the last one's."""
    found: dict[tuple[str, int, int], tuple[int | None, str]] = {}
    for text_key, entities_key in (("text", "entities"), ("caption", "caption_entities")):
        for entity in message.get(entities_key, ()):
            kind = entity["type"]
            if kind not in _MENTION_KINDS:
                continue
            offset, length = entity["offset"], entity["length"]
            # Offsets and lengths count UTF-16 code units, sliced as PTB slices them.
            encoded = message[text_key].encode("utf-16-le")
            text = encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le")
            key = (kind, offset, length)
            earlier = found.get(key)
            if earlier is not None:
                found[key] = (earlier[0], text)
            else:
                user = entity.get("user")
                found[key] = (user["id"] if user is not None else None, text)
    return [(kind, text, user_id) for (kind, _, _), (user_id, text) in found.items()]


def _fast_person_message(
    data: dict[str, Any], bot: Bot, zone: tzinfo | None
) -> tuple[_PersonMessage, bool] | None:
    """The message of a plain message update read straight from its JSON, and whether it is an
    edit; None for anything not known to read exactly as through PTB.

    May raise on malformed input (PTB then parses the update and fails on it as it must)."""
    # update_id and exactly one of message / edited_message
    if len(data) != 2 or "update_id" not in data or not _typed(data, _UPDATE_FIELDS):
        return None
    edited = "edited_message" in data
    message: dict[str, Any] = data["edited_message" if edited else "message"]
    contents = _fast_contents(message, _MESSAGE_FIELDS, bot)
    if contents is None:
        return None
    sender, chat = _fast_user(message.get("from")), _fast_chat(message["chat"])
    if sender is None or chat is None or chat.type not in _PERSON_CHATS:
        return None  # no person to attribute it to, or a channel: PTB's path says what it is
    reply = None
    if "reply_to_message" in message:
        replied: dict[str, Any] = message["reply_to_message"]
        if _fast_contents(replied, _REPLIED_FIELDS, bot) is None:
            return None
        author = _fast_user(replied["from"]) if "from" in replied else None
        if _fast_chat(replied["chat"]) is None or ("from" in replied and author is None):
            return None
        _moment(replied["date"], zone)  # PTB converts it: fail as PTB would
        if "edit_date" in replied:
            _zoned(replied["edit_date"], zone)
        said = replied.get("text") or replied.get("caption")
        reply = _Replied(
            replied["message_id"],
            "forum_topic_created" in replied,
            author,
            said if isinstance(said, str) else None,
            _fast_document_ref(replied.get("document"), bot),
        )
    edit_date = message.get("edit_date")
    read = _PersonMessage(
        chat=chat,
        sender=sender,
        message_id=message["message_id"],
        date=_moment(message["date"], zone),
        edit_date=None if edit_date is None else _zoned(edit_date, zone),
        is_topic_message=message.get("is_topic_message"),
        message_thread_id=message.get("message_thread_id"),
        text=message.get("text"),
        caption=message.get("caption"),
        contents=contents,
        entity_types=tuple(
            e["type"] for key in ("entities", "caption_entities") for e in message.get(key, ())
        ),
        mentions=lambda: _fast_mentions(message),
        reply=reply,
        document=_fast_document_ref(message.get("document"), bot),
    )
    return read, edited


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


MAX_CHATS = 10_000  # groups whose administrators are cached; the least recently used go first


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
        # A known list is kept `ttl_seconds`; an unknown one (the call failed) at most 30 s, so
        # Telegram is asked again soon rather than at every command: hence TLRUCache, whose
        # entries each have their own time to live, rather than TTLCache.
        self._cache: TLRUCache[int, _Admins] = TLRUCache(
            maxsize=MAX_CHATS, ttu=self._expiry, timer=clock
        )

    def _expiry(self, chat_id: int, admins: _Admins, now: float) -> float:
        return now + (self._ttl if admins.known else min(self._ttl, 30.0))

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        admins = self._cache.get(chat_id)
        if admins is None:
            try:
                members = await self._bot.get_chat_administrators(chat_id)
                admins = _Admins(frozenset(member.user.id for member in members), known=True)
            except (TelegramError, TypeError, KeyError, ValueError) as error:
                # PTB fails with TypeError & co on a list it cannot parse. Unknown is not admin.
                log.warning(
                    "group administrators unavailable",
                    extra={"chat_id": chat_id, "error": type(error).__name__},
                )
                admins = _Admins(frozenset(), known=False)
            self._cache[chat_id] = admins
        return user_id in admins.user_ids

    def forget(self, chat_id: int) -> None:
        self._cache.pop(chat_id, None)


class ChatMembers:
    """Implements the core's `MembershipCheck` with getChatMember: left or kicked (banned) is
    out; a member, an administrator, the creator, or a restricted member still in the chat
    is in. Any bot in a group may ask this, administrator or not. The core keeps the answers
    for a while (`CachedMembershipCheck`)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def is_member(self, chat_id: str, user_id: str) -> bool:
        try:
            member = await self._bot.get_chat_member(int(chat_id), int(user_id))
        except BadRequest as error:
            if _NEVER_THERE.search(error.message):
                return False  # an account Telegram does not know in this chat
            raise MembershipUnknown(f"getChatMember: {error.message[:200]}") from None
        except (TelegramError, TypeError, KeyError, ValueError) as error:
            # PTB fails with TypeError & co on an answer it cannot parse.
            raise MembershipUnknown(f"getChatMember: {type(error).__name__}") from None
        return _present(member)


# What Telegram answers for a user who is not, and never was, in a chat.
_NEVER_THERE = re.compile(r"user not found|participant_id_invalid", re.I)


class _Admins(NamedTuple):
    user_ids: frozenset[int]
    known: bool


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
    """Implements the core's `Decoder` port for Telegram updates.

    `fast=False` parses every update with PTB: the tests compare the fast path against it."""

    def __init__(
        self,
        bot: Bot,
        identity: BotIdentity,
        admins: AdminDirectory,
        clock: Clock,
        *,
        fast: bool = True,
    ) -> None:
        self._bot = bot
        self._identity = identity
        self._admins = admins
        self._clock = clock
        self._fast = fast
        # PTB gives dates in the time zone of the bot's Defaults, if it has any (ExtBot).
        defaults = getattr(bot, "defaults", None)
        self._zone: tzinfo | None = defaults.tzinfo if defaults else None
        self.fast_decoded = 0  # updates read on the fast path, without PTB

    async def decode(self, payload: str) -> Sequence[InboundEvent]:
        try:
            data = json.loads(payload)
        except ValueError as error:
            raise UndecodablePayload(f"not JSON: {error}") from error
        if not isinstance(data, dict):
            raise UndecodablePayload("an update must be a JSON object")
        if self._fast:
            try:
                fast = _fast_person_message(data, self._bot, self._zone)
            except Exception:  # noqa: BLE001 - malformed: PTB parses it below and fails as it must
                fast = None
            if fast is not None:
                self.fast_decoded += 1
                return await self._person_message(fast[0], edited=fast[1])
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

    async def _person(self, user: _UserLike, chat: _ChatLike | None = None) -> PlatformUser:
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
        chat: _ChatLike,
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
        return await self._person_message(_person_message_of(message, sender), edited=edited)

    async def _person_message(
        self, message: _PersonMessage, *, edited: bool
    ) -> list[InboundEvent]:
        """A person's message, whichever way it was parsed."""
        text = message.text or message.caption or ""
        if not text and not message.contents:
            return []  # service messages: pins, video chats, topics, timers, migrations …
        thread_id = message.message_thread_id if message.is_topic_message else None
        event_id = f"chat:{message.chat.id}:msg:{message.message_id}"
        if edited and message.edit_date is not None:
            event_id += f":edit:{_stamp(message.edit_date)}"
        me = await self._identity.me()
        command = None if edited else self._command(text, me)
        if command == "elsewhere":
            return []  # `/cmd@other_bot`: addressed to another bot in the group
        person = await self._person(message.sender, message.chat if command else None)
        origin = self._origin(
            event_id,
            message.chat,
            person,
            message.edit_date if edited and message.edit_date else message.date,
            thread_id=thread_id,
            message_id=message.message_id,
        )
        reply_to = self._reply_target(message.reply, message.chat)
        if isinstance(command, tuple):
            return [CommandInvoked(origin, *command, reply_to=reply_to, attached=message.document)]
        return [
            MessageReceived(
                origin,
                text,
                reply_to=reply_to,
                mentions_bot=origin.is_direct
                or (reply_to is not None and reply_to.user_id == str(me.id))
                or self._mentions(message, me),
                has_link=self._has_link(message, text),
                has_file=any(name in message.contents for name in _FILES),
                is_edit=edited,
                forwarded=message.forwarded,
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
    def _reply_target(replied: _Replied | None, chat: _ChatLike) -> ReplyTarget | None:
        # In a forum topic every message "replies" to the topic's first service message.
        if replied is None or replied.opens_topic:
            return None
        author = replied.author
        return ReplyTarget(
            message_id=str(replied.message_id),
            user_id=str(author.id) if author is not None else None,
            is_bot=author.is_bot if author is not None else False,
            text=replied.text,
            user_name=author.full_name if author is not None else None,
            link=message_link(chat.id, replied.message_id),
            file=replied.file,
            forwarded=replied.forwarded,
        )

    @staticmethod
    def _mentions(message: _PersonMessage, me: User) -> bool:
        handle = f"@{me.username}".lower() if me.username else None
        for kind, text, user_id in message.mentions():
            if kind == MessageEntity.TEXT_MENTION:
                if user_id is not None and user_id == me.id:
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
    def _has_link(message: _PersonMessage, text: str) -> bool:
        return any(kind in _LINK_KINDS for kind in message.entity_types) or bool(
            _LINK.search(text)
        )

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
        if not was and now:
            # Whether the one who added the bot administers the group decides whether they
            # become its moderator: asked afresh, not from a list kept from before.
            self._admins.forget(chat.id)
        origin = self._origin(
            f"chat:{chat.id}:bot:{change.new_chat_member.status}:{_stamp(change.date)}",
            chat,
            await self._person(change.from_user, chat),
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
