"""Inbound events: what adapters hand to the core, each a frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from facilitator.domain.model import Platform, PlatformUser
from facilitator.domain.text import keep_printable


@dataclass(frozen=True)
class Origin:
    """Where and from whom an event came.

    `event_id` is the platform's own id for the event, unique per platform: redelivered
    events carry the same id, which is what makes the ledger count them once. Text in every
    event (here the chat's title) is kept without control characters.
    """

    platform: Platform
    event_id: str
    chat_id: str
    user: PlatformUser
    occurred_at: datetime
    chat_title: str | None = None
    is_direct: bool = False
    thread_id: str | None = None
    message_id: str | None = None
    # A gesture in the platform's own interface (Slack's message shortcut) whose reply may
    # open a form at once.
    interactive: bool = False
    # The community a command sent from another surface acts in (`facilitator.surface`: the
    # web dashboard's session names it); platforms' decoders never set it.
    community_key: str | None = None

    def __post_init__(self) -> None:
        keep_printable(self, "chat_title")


@dataclass(frozen=True)
class FileRef:
    """A file posted in a chat, as its platform names it: the id to fetch it by, and what the
    platform says of its name, type and size (in bytes), each unknown where it does not say."""

    file_id: str
    name: str | None = None
    mime_type: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        keep_printable(self, "name", "mime_type")


@dataclass(frozen=True)
class Forwarded:
    """Where a forwarded message came from, as far as the platform tells: its author (unless
    they hide their account: then a name only), when it was first sent, and, where the
    platform says so (a channel's post, a message sent on behalf of a group), its chat and
    message."""

    user_id: str | None = None
    user_name: str | None = None
    sent_at: datetime | None = None
    chat_id: str | None = None
    message_id: str | None = None

    def __post_init__(self) -> None:
        keep_printable(self, "user_name")


@dataclass(frozen=True)
class ReplyTarget:
    """The message a message or command replies to: on Telegram with its text and author,
    so that `/save` can turn it into a draft; `link` opens it in the chat, where the platform
    has such links."""

    message_id: str
    user_id: str | None
    is_bot: bool = False
    text: str | None = None
    user_name: str | None = None
    link: str | None = None
    # The document the message carries, for `/share` to propose its text.
    file: FileRef | None = None
    # A message forwarded to the bot privately: where it came from (`/report` on it).
    forwarded: Forwarded | None = None

    def __post_init__(self) -> None:
        keep_printable(self, "text", "user_name")


@dataclass(frozen=True)
class MessageReceived:
    origin: Origin
    text: str
    reply_to: ReplyTarget | None = None
    mentions_bot: bool = False
    has_link: bool = False
    has_file: bool = False
    is_edit: bool = False
    # Copied from elsewhere (Telegram's forward): the words are not the sender's own, so
    # they are neither a question of theirs nor one to the bot.
    forwarded: bool = False

    def __post_init__(self) -> None:
        keep_printable(self, "text")


@dataclass(frozen=True)
class CommandInvoked:
    origin: Origin
    name: str
    args: str
    reply_to: ReplyTarget | None = None
    # A document sent with the command itself (Telegram: a PDF captioned `/share #theme`).
    attached: FileRef | None = None

    def __post_init__(self) -> None:
        keep_printable(self, "name", "args")


@dataclass(frozen=True)
class ButtonPressed:
    origin: Origin
    action: str
    value: str

    def __post_init__(self) -> None:
        keep_printable(self, "action", "value")


@dataclass(frozen=True)
class PollVoteCast:
    origin: Origin
    poll_ref: str
    option_ids: tuple[int, ...]


@dataclass(frozen=True)
class MemberJoined:
    origin: Origin
    member: PlatformUser


@dataclass(frozen=True)
class MemberLeft:
    origin: Origin
    member: PlatformUser


@dataclass(frozen=True)
class ReactionChanged:
    origin: Origin
    emoji: str
    target_message_id: str
    target_user_id: str | None
    added: bool

    def __post_init__(self) -> None:
        keep_printable(self, "emoji")


@dataclass(frozen=True)
class BotAdded:
    """The bot was added to a group or channel; `origin.user` is who added it."""

    origin: Origin
    can_read_all_messages: bool | None = None  # False: Telegram privacy mode hides messages


@dataclass(frozen=True)
class BotRemoved:
    origin: Origin


@dataclass(frozen=True)
class ConversationMoved:
    """The conversation got a new id (a Telegram group became a supergroup)."""

    origin: Origin
    new_chat_id: str


InboundEvent = (
    MessageReceived
    | CommandInvoked
    | ButtonPressed
    | PollVoteCast
    | MemberJoined
    | MemberLeft
    | ReactionChanged
    | BotAdded
    | BotRemoved
    | ConversationMoved
)
