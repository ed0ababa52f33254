"""A fake Telegram Bot API HTTP server (aiohttp) that real python-telegram-bot objects talk to."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import math
import mimetypes
import re
import socket
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import TracebackType
from typing import Any, Self

from aiohttp import BodyPartReader, web

from tests.fake_credentials import TELEGRAM_TOKEN

__all__ = [
    "DEFAULT_TOKEN",
    "SEND_METHODS",
    "FakeTelegramAPI",
    "LimitViolation",
    "ManualClock",
    "RecordedCall",
    "UploadedFile",
    "callback_query_update",
    "chat_member_dict",
    "document_update",
    "group_chat",
    "private_chat",
    "supergroup_chat",
    "text_update",
    "user",
]

JSON = dict[str, Any]
Clock = Callable[[], float]

DEFAULT_TOKEN = TELEGRAM_TOKEN
# Methods whose calls count against the flood limits of `FakeTelegramAPI.enforce_limits`.
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendPoll"})
# Update types Telegram leaves out unless `allowed_updates` names them.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Parameters Telegram types as strings: a form value "42" must stay "42" for these.
_STRING_PARAMS = frozenset(
    {
        "business_connection_id",
        "callback_query_id",
        "caption",
        "custom_title",
        "description",
        "emoji",
        "explanation",
        "explanation_parse_mode",
        "file_id",
        "inline_message_id",
        "ip_address",
        "language_code",
        "message_effect_id",
        "parse_mode",
        "question",
        "question_parse_mode",
        "secret_token",
        "text",
        "title",
        "url",
    }
)
_MAX_TEXT_LENGTH = 4096
_MAX_CAPTION_LENGTH = 1024
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: fake error",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class ApiError(Exception):
    """An error answer of the fake API: becomes `{"ok": false, ...}` with that HTTP status."""

    def __init__(self, error_code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def envelope(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class RecordedCall:
    """One request the fake received; `status`/`response` are filled in once it was answered."""

    method: str
    params: JSON
    files: dict[str, bytes]
    at: float
    file_names: dict[str, str] = field(default_factory=dict)
    token: str = ""
    status: int | None = None
    response: JSON | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return None if self.response is None else self.response.get("result")


@dataclass(frozen=True)
class LimitViolation:
    """A send that `enforce_limits` found over a flood limit (answered 429 if enforcing)."""

    method: str
    chat_id: int | str | None
    limit: str  # "global", "per_chat" or "per_group"
    at: float
    retry_after: int


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str
    data: bytes
    file_path: str


@dataclass
class _Fault:
    method: str
    error: ApiError
    remaining: int | None
    chat_id: int | str | None


@dataclass
class _Pending:
    update: Any
    raw_batch: int | None  # id of the queue_raw batch, None for queue_updates items


class ManualClock:
    """A controllable monotonic clock for `FakeTelegramAPI(clock=...)`."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# ---------------------------------------------------------------------------------------------
# Builders of valid (python-telegram-bot 22.8 parseable) Bot API objects.


def user(
    user_id: int = 111,
    first_name: str = "Ada",
    *,
    username: str | None = None,
    last_name: str | None = None,
    language_code: str | None = "en",
    is_bot: bool = False,
) -> JSON:
    """A Bot API User object."""
    result: JSON = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if last_name is not None:
        result["last_name"] = last_name
    if username is not None:
        result["username"] = username
    if language_code is not None:
        result["language_code"] = language_code
    return result


def private_chat(of_user: Mapping[str, Any]) -> JSON:
    """The private Chat object of a conversation with `of_user`."""
    chat: JSON = {"id": of_user["id"], "type": "private", "first_name": of_user["first_name"]}
    for key in ("last_name", "username"):
        if key in of_user:
            chat[key] = of_user[key]
    return chat


def group_chat(chat_id: int = -4001, title: str = "Study group") -> JSON:
    """A basic group Chat object (negative id)."""
    return {"id": chat_id, "type": "group", "title": title}


def supergroup_chat(
    chat_id: int = -1001234567890, title: str = "Study supergroup", *, is_forum: bool = False
) -> JSON:
    """A supergroup Chat object (id starting with -100)."""
    chat: JSON = {"id": chat_id, "type": "supergroup", "title": title}
    if is_forum:
        chat["is_forum"] = True
    return chat


def text_update(
    text: str,
    *,
    from_user: Mapping[str, Any] | None = None,
    chat: Mapping[str, Any] | None = None,
    message_id: int | None = None,
    date: int | None = None,
    message_thread_id: int | None = None,
    update_id: int | None = None,
    edited: bool = False,
) -> JSON:
    """An update with a text message; a leading /command gets its bot_command entity.

    Without `message_id`/`update_id`, `FakeTelegramAPI.queue_updates` assigns them.
    """
    sender = dict(from_user) if from_user is not None else user()
    message: JSON = {
        "from": sender,
        "chat": dict(chat) if chat is not None else private_chat(sender),
        "date": date if date is not None else int(time.time()),
        "text": text,
    }
    command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
    if command:
        message["entities"] = [
            {"type": "bot_command", "offset": 0, "length": _utf16_len(command.group(0))}
        ]
    if message_thread_id is not None:
        message["message_thread_id"] = message_thread_id
        message["is_topic_message"] = True
    if edited:
        message["edit_date"] = message["date"]
    if message_id is not None:
        message["message_id"] = message_id
    update: JSON = {"edited_message" if edited else "message": message}
    if update_id is not None:
        update["update_id"] = update_id
    return update


def document_update(
    document: UploadedFile,
    *,
    from_user: Mapping[str, Any],
    chat: Mapping[str, Any],
    message_id: int,
    caption: str | None = None,
) -> JSON:
    """An update with a document message, for a file the fake serves (`add_file`)."""
    message: JSON = {
        "message_id": message_id,
        "from": dict(from_user),
        "chat": dict(chat),
        "date": int(time.time()),
        "document": {
            "file_id": document.file_id,
            "file_unique_id": document.file_unique_id,
            "file_name": document.file_name,
            "mime_type": document.mime_type,
            "file_size": len(document.data),
        },
    }
    if caption is not None:
        message["caption"] = caption
    return {"message": message}


def callback_query_update(
    data: str,
    *,
    message: Mapping[str, Any],
    from_user: Mapping[str, Any] | None = None,
    query_id: str = "4382bfdwdsb323b2d9",
    update_id: int | None = None,
) -> JSON:
    """An update with a callback query pressed on `message`, e.g. a recorded sendMessage result."""
    update: JSON = {
        "callback_query": {
            "id": query_id,
            "from": dict(from_user) if from_user is not None else user(),
            "message": dict(message),
            "chat_instance": str(zlib.crc32(str(message["chat"]["id"]).encode())),
            "data": data,
        }
    }
    if update_id is not None:
        update["update_id"] = update_id
    return update


_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)
_RESTRICTED_RIGHTS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
    "can_edit_tag",
    "can_react_to_messages",
)


def chat_member_dict(
    member_user: Mapping[str, Any], status: str = "member", **fields: Any
) -> JSON:
    """A ChatMember object with every field python-telegram-bot 22.8 requires for `status`."""
    member: JSON = {"user": dict(member_user), "status": status}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update({"can_be_edited": False, "is_anonymous": False})
        member.update(dict.fromkeys(_ADMIN_RIGHTS, True))
    elif status == "restricted":
        member.update({"is_member": True, "until_date": 0})
        member.update(dict.fromkeys(_RESTRICTED_RIGHTS, False))
    elif status == "kicked":
        member["until_date"] = 0
    elif status not in ("member", "left"):
        raise ValueError(f"unknown chat member status {status!r}")
    member.update(fields)
    return member


# ---------------------------------------------------------------------------------------------
# Formatting: what Telegram does to `text` with parse_mode before echoing it back.


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _TelegramHTML(HTMLParser):
    """Telegram's HTML parse mode: supported tags only, properly nested; yields text + entities."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.parts: list[str] = []
        self.entities: list[JSON] = []
        self.error: str | None = None
        self._length = 0
        self._stack: list[tuple[str, int, dict[str, str | None], JSON]] = []

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        return len(self._source[: self._line_starts[line - 1] + column].encode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.error:
            return
        attributes = dict(attrs)
        if tag not in _HTML_ENTITY_TYPES or (
            tag == "span" and attributes.get("class") != "tg-spoiler"
        ):
            self.error = f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}'
            return
        entity: JSON = {"type": _HTML_ENTITY_TYPES[tag]}
        if tag == "a":
            entity["url"] = attributes.get("href") or ""
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
        self._stack.append((tag, self._length, attributes, entity))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.error = self.error or f'Unsupported start tag "{tag}" at byte offset ' + str(
            self._byte_offset()
        )

    def handle_endtag(self, tag: str) -> None:
        if self.error:
            return
        if not self._stack:
            self.error = f"Unexpected end tag at byte offset {self._byte_offset()}"
            return
        open_tag, start, attributes, entity = self._stack.pop()
        if open_tag != tag:
            self.error = (
                f"Unmatched end tag at byte offset {self._byte_offset()}, "
                f'expected "</{open_tag}>", found "</{tag}>"'
            )
            return
        language = (attributes.get("class") or "").removeprefix("language-")
        if tag == "code" and self._stack and self._stack[-1][0] == "pre" and language:
            self._stack[-1][3]["language"] = language  # <pre><code class="language-x">
            return
        if self._length > start:
            self.entities.append({**entity, "offset": start, "length": self._length - start})

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self._length += _utf16_len(data)

    def finish(self) -> None:
        self.close()
        if not self.error and self._stack:
            self.error = f'Can\'t find end tag corresponding to start tag "{self._stack[-1][0]}"'


_MD2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MD2_DELIMITERS = ("```", "||", "__", "*", "_", "~", "`")


def _markdown_v2_plain(text: str) -> tuple[str, str | None]:
    """Strip MarkdownV2 markup; report the first unescaped reserved character or open entity."""
    out: list[str] = []
    open_at: dict[str, int] = {}
    i = 0
    while i < len(text):
        char = text[i]
        code_delimiter = next((d for d in ("```", "`") if d in open_at), None)
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if code_delimiter is not None:
            if text.startswith(code_delimiter, i):
                del open_at[code_delimiter]
                i += len(code_delimiter)
            else:
                out.append(char)
                i += 1
            continue
        delimiter = next((d for d in _MD2_DELIMITERS if text.startswith(d, i)), None)
        if delimiter is not None:
            if delimiter in open_at:
                del open_at[delimiter]
            else:
                open_at[delimiter] = len(text[:i].encode())
            i += len(delimiter)
            continue
        if char == "[":
            open_at["["] = len(text[:i].encode())
            i += 1
            continue
        if char == "]" and "[" in open_at and text.startswith("](", i):
            end = text.find(")", i + 2)
            if end == -1:
                break
            del open_at["["]
            i = end + 1
            continue
        if char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1
            continue
        if char in _MD2_RESERVED:
            return text, (
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        out.append(char)
        i += 1
    if open_at:
        return text, (
            f"Can't find end of the entity starting at byte offset {min(open_at.values())}"
        )
    return "".join(out), None


def _format(text: str, parse_mode: Any) -> tuple[str, list[JSON]]:
    """Return (text, entities) as Telegram would store them, or raise its parse error."""
    mode = str(parse_mode or "").lower()
    if mode == "html":
        parser = _TelegramHTML(text)
        parser.feed(text)
        parser.finish()
        if parser.error:
            raise _bad_request(f"can't parse entities: {parser.error}")
        entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(parser.parts), entities
    if mode == "markdownv2":
        plain, error = _markdown_v2_plain(text)
        if error:
            raise _bad_request(f"can't parse entities: {error}")
        return plain, []
    return text, []


# ---------------------------------------------------------------------------------------------
# The server.


def _decode_form_value(name: str, raw: str) -> Any:
    """PTB sends form fields JSON-encoded, except plain strings, which it sends as they are."""
    if name in _STRING_PARAMS:
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, dict | list | bool | int | float) else raw


def _normalise_params(params: JSON) -> JSON:
    """JSON-body clients may still send nested objects as JSON strings: decode those."""
    result: JSON = {}
    for key, value in params.items():
        if isinstance(value, str) and key not in _STRING_PARAMS and value[:1] in ("{", "["):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        result[key] = value
    return result


def _chat_key(value: Any) -> int | str:
    if isinstance(value, bool):
        raise _bad_request("chat_id is empty")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if not text:
        raise _bad_request("chat_id is empty")
    return text


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or value is None:
        raise _bad_request(f"{name} is empty")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad_request(f"invalid {name} specified") from None


def _update_type(update: Mapping[str, Any]) -> str | None:
    return next((key for key in update if key != "update_id"), None)


Handler = Callable[[JSON, dict[str, bytes], dict[str, str], str], Any]


class FakeTelegramAPI:
    """A fake Bot API on 127.0.0.1 with real method names, envelopes, errors and flood limits.

    Point python-telegram-bot at it with
    ``Bot(token, base_url=api.base_url, base_file_url=api.base_file_url)``.
    """

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        bot_first_name: str = "Facilitator",
        bot_username: str = "facilitator_test_bot",
        host: str = "127.0.0.1",
    ) -> None:
        self.clock = clock
        self.host = host
        self.bot_first_name = bot_first_name
        self.bot_username = bot_username
        self.calls: list[RecordedCall] = []
        self.offsets_requested: list[int | None] = []
        self.violations: list[LimitViolation] = []
        self.rate_limited_count = 0
        self.internal_errors: list[Exception] = []
        self.filtered_updates: list[JSON] = []
        self.chats: dict[int | str, JSON] = {}
        self.members: dict[int | str, dict[int, JSON]] = {}
        self.member_counts: dict[int | str, int] = {}
        self.messages: dict[tuple[int | str, int], JSON] = {}
        # Message ids pinned in each chat (pinChatMessage), in order.
        self.pinned: dict[int | str, list[int]] = {}
        self.polls: dict[str, JSON] = {}
        self.uploads: dict[str, UploadedFile] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.blocked_chats: set[int | str] = set()
        self.webhook: JSON = {"url": ""}
        self.allowed_updates: list[str] = []
        self._faults: list[_Fault] = []
        self.held: list[RecordedCall] = []
        self._hold: tuple[str, int] | None = None
        self._released = asyncio.Event()
        self._limits: tuple[int, int, int] | None = None
        self._answer_429 = True
        self._sent_global: deque[float] = deque()
        self._sent_chat: dict[int | str, deque[float]] = {}
        self._sent_group: dict[int | str, deque[float]] = {}
        self._pending: list[_Pending] = []
        self._next_update_id = 100_000_001
        self._raw_batches = itertools.count(1)
        self._last_message_id: dict[int | str, int] = {}
        self._ids = itertools.count(1)
        self._poll_generation = 0
        self._updates_changed = asyncio.Event()
        self._call_recorded = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._socket: socket.socket | None = None
        self.port = 0
        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPoll": self._send_poll,
            "stopPoll": self._stop_poll,
            "pinChatMessage": self._pin_chat_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "getChatMemberCount": self._get_chat_member_count,
            "leaveChat": self._leave_chat,
            "setMessageReaction": self._set_message_reaction,
        }
        self._canonical = {name.lower(): name for name in [*self._handlers, "getUpdates"]}

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> Self:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((self.host, 0))
        self.port = self._socket.getsockname()[1]
        await web.SockSite(self._runner, self._socket).start()
        return self

    async def stop(self) -> None:
        self._closing = True
        self._released.set()
        self._updates_changed.set()  # release long polls so the runner can shut down at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For `Bot(base_url=...)`: PTB appends the token, then `/{method}`."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def bot_user(self, token: str = DEFAULT_TOKEN) -> JSON:
        """The User object getMe answers for `token` (its id is the token's numeric prefix)."""
        prefix = token.split(":", 1)[0]
        return {
            "id": int(prefix) if prefix.isdigit() else 123456789,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # -- inspection ---------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    async def wait_for_calls(
        self,
        method: str,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the caller, not an I/O timeout
    ) -> list[RecordedCall]:
        """Wait until at least `n` calls to `method` arrived; return them all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.calls_to(method)
            if len(found) >= n:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [call.method for call in self.calls]
                raise TimeoutError(
                    f"expected {n} call(s) to {method} within {timeout}s, got {len(found)}; "
                    f"calls so far: {seen}"
                )
            self._call_recorded.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._call_recorded.wait(), min(remaining, 0.05))

    def sent_messages(self, chat_id: int | str | None = None) -> list[JSON]:
        """Messages the bot sent (current state, after edits), oldest first."""
        found = [m for m in self.messages.values() if m.get("from", {}).get("is_bot")]
        if chat_id is not None:
            key = _chat_key(chat_id)
            found = [m for m in found if m["chat"]["id"] == key]
        return found

    @property
    def pending_updates(self) -> list[Any]:
        return [item.update for item in self._pending]

    # -- fault injection and limits -------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int | None = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """Answer the next `times` calls to `method` (for `chat_id`, if given) with an error.

        `times=None` keeps failing until `clear_faults()`. The description defaults to
        Telegram's wording for the code, e.g. 403 "Forbidden: bot was blocked by the user".
        """
        parameters: JSON = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        if description is None:
            if migrate_to_chat_id is not None:
                description = "Bad Request: group chat was upgraded to a supergroup chat"
            else:
                template = _DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
                description = template.format(retry_after=retry_after)
        key = None if chat_id is None else _chat_key(chat_id)
        error = ApiError(error_code, description, parameters or None)
        self._faults.append(_Fault(self._canonical.get(method.lower(), method), error, times, key))

    def hold(self, method: str, *, after: int = 0) -> None:
        """Leave the calls to `method` after the first `after` unanswered (in `held`) until
        `release()`: requests in flight when the bot's process dies. Released, they are
        answered as any, as Telegram would once it got them."""
        self._hold = (self._canonical.get(method.lower(), method), after)
        self._released.clear()

    def release(self) -> None:
        self._hold = None
        self._released.set()

    def clear_faults(self) -> None:
        self._faults.clear()

    def block(self, chat_id: int | str) -> None:
        """Every later send to `chat_id` answers 403 (blocked by the user / kicked from group)."""
        self.blocked_chats.add(_chat_key(chat_id))

    def unblock(self, chat_id: int | str) -> None:
        self.blocked_chats.discard(_chat_key(chat_id))

    def enforce_limits(
        self,
        global_per_second: int = 30,
        per_chat_per_second: int = 1,
        per_group_per_minute: int = 20,
        *,
        answer_429: bool = True,
    ) -> None:
        """Count sends over Telegram's flood limits as violations and (by default) answer 429.

        Windows are sliding, measured on `self.clock`; refused sends do not count as sent.
        With `answer_429=False` violations are only counted, and the send succeeds.
        """
        self._limits = (global_per_second, per_chat_per_second, per_group_per_minute)
        self._answer_429 = answer_429

    def disable_limits(self) -> None:
        self._limits = None

    # -- state setup ----------------------------------------------------------------------------

    def add_file(self, file_name: str, data: bytes, mime_type: str | None = None) -> UploadedFile:
        """A file a member posted, served by getFile and the file download route."""
        upload = self._store_upload(
            "document",
            {"document": data},
            {"document": file_name, "document:content_type": mime_type or ""},
            "document",
        )
        if mime_type is not None and upload.mime_type != mime_type:
            upload = dataclasses.replace(upload, mime_type=mime_type)
            self.uploads[upload.file_id] = upload
        return upload

    def add_chat(self, chat: Mapping[str, Any], *, member_count: int | None = None) -> None:
        self.chats[_chat_key(chat["id"])] = dict(chat)
        if chat.get("username"):
            self.chats["@" + str(chat["username"])] = dict(chat)
        if member_count is not None:
            self.member_counts[_chat_key(chat["id"])] = member_count

    def set_chat_member(self, chat_id: int | str, member: Mapping[str, Any]) -> None:
        """Register a ChatMember object (see `chat_member_dict`) for getChatMember & co."""
        self.members.setdefault(_chat_key(chat_id), {})[int(member["user"]["id"])] = dict(member)

    def queue_updates(self, updates: Iterable[Mapping[str, Any]]) -> list[int]:
        """Queue well-formed updates for getUpdates; assign update_id and message_id if absent."""
        assigned: list[int] = []
        for original in updates:
            update = json.loads(json.dumps(original))
            if not isinstance(update.get("update_id"), int):
                update["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
            self._observe(update, assign_ids=True)
            self._pending.append(_Pending(update, None))
            assigned.append(update["update_id"])
        self._updates_changed.set()
        return assigned

    def queue_raw(self, batch: Any) -> None:
        """Queue one getUpdates result served exactly as given (malformed updates included).

        `batch` is a result list, a whole `{"ok": true, "result": [...]}` envelope, or one
        update object. It is served as one answer, ignoring `limit` and `allowed_updates`.
        """
        if isinstance(batch, Mapping) and "result" in batch:
            batch = batch["result"]
        if isinstance(batch, Mapping):
            batch = [batch]
        batch_id = next(self._raw_batches)
        for update in json.loads(json.dumps(list(batch))):
            if isinstance(update, dict):
                if isinstance(update.get("update_id"), int):
                    self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
                self._observe(update, assign_ids=False)
            self._pending.append(_Pending(update, batch_id))
        self._updates_changed.set()

    def get_commands(self, scope: Mapping[str, Any] | None = None, language_code: str = "") -> Any:
        return self.commands.get((self._scope_key(scope), language_code), [])

    # -- HTTP plumbing --------------------------------------------------------------------------

    async def _read_params(
        self, request: web.Request
    ) -> tuple[JSON, dict[str, bytes], dict[str, str], dict[str, str]]:
        params: JSON = {k: _decode_form_value(k, v) for k, v in request.query.items()}
        files: dict[str, bytes] = {}
        names: dict[str, str] = {}
        mimes: dict[str, str] = {}
        if request.method != "POST" or not request.can_read_body:
            return params, files, names, mimes
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad_request("can't parse JSON body") from None
            if not isinstance(body, dict):
                raise _bad_request("parameters must be a JSON object")
            params.update(_normalise_params(body))
        elif request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    files[part.name] = bytes(await part.read())
                    names[part.name] = part.filename
                    mimes[part.name] = part.headers.get("Content-Type", "")
                else:
                    params[part.name] = _decode_form_value(part.name, await part.text())
        else:
            form = await request.post()
            params.update({k: _decode_form_value(k, str(v)) for k, v in form.items()})
        return params, files, names, mimes

    async def _handle_method(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = self._canonical.get(request.match_info["method"].lower())
        try:
            params, files, names, mimes = await self._read_params(request)
        except ApiError as error:
            return web.json_response(error.envelope(), status=error.error_code)
        call = RecordedCall(
            method=method or request.match_info["method"],
            params=params,
            files=files,
            at=self.clock(),
            file_names=names,
            token=token,
        )
        self.calls.append(call)
        self._call_recorded.set()
        hold = self._hold
        if hold is not None and call.method == hold[0] and len(self.calls_to(hold[0])) > hold[1]:
            self.held.append(call)
            await self._released.wait()
        try:
            if method is None:
                raise ApiError(404, "Not Found")
            self._check_faults(method, params)
            if method == "getUpdates":
                result = await self._get_updates(params)
            else:
                windows = self._check_send_allowed(method, params)
                meta = {**names, **{f"{k}:content_type": v for k, v in mimes.items()}}
                result = self._handlers[method](params, files, meta, token)
                for sent in windows:  # only successful sends count against the limits
                    sent.append(call.at)
            body: JSON = {"ok": True, "result": result}
            status = 200
        except ApiError as error:
            body, status = error.envelope(), error.error_code
            if status == 429:
                self.rate_limited_count += 1
        except Exception as error:  # noqa: BLE001 - a bug in the fake: answer 500, keep it
            self.internal_errors.append(error)
            body = ApiError(500, f"Internal Server Error: {error!r}").envelope()
            status = 500
        call.status, call.response = status, body
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        upload = next((u for u in self.uploads.values() if u.file_path == path), None)
        if upload is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=upload.data, content_type=upload.mime_type)

    def _check_faults(self, method: str, params: JSON) -> None:
        for fault in self._faults:
            if fault.method != method:
                continue
            if fault.chat_id is not None and (
                "chat_id" not in params or _chat_key(params["chat_id"]) != fault.chat_id
            ):
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            raise fault.error

    def _check_send_allowed(self, method: str, params: JSON) -> list[deque[float]]:
        """Refuse sends to blocked chats or over the limits; return the windows to count in."""
        if method not in SEND_METHODS or "chat_id" not in params:
            return []
        key = _chat_key(params["chat_id"])
        chat = self._chat(key)
        if key in self.blocked_chats or chat["id"] in self.blocked_chats:
            if chat["type"] == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            kind = "supergroup" if chat["type"] == "supergroup" else "group"
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if self._limits is None:
            return []
        now = self.clock()
        per_second, per_chat, per_group = self._limits
        chat_id = chat["id"]
        is_group = chat["type"] != "private"
        windows = [
            ("global", self._sent_global, 1.0, per_second),
            ("per_chat", self._sent_chat.setdefault(chat_id, deque()), 1.0, per_chat),
        ]
        if is_group:
            windows.append(
                ("per_group", self._sent_group.setdefault(chat_id, deque()), 60.0, per_group)
            )
        for _, sent, span, _ in windows:
            while sent and sent[0] <= now - span:
                sent.popleft()
        for limit, sent, span, allowed in windows:
            if len(sent) >= allowed:
                retry_after = max(1, math.ceil(sent[0] + span - now))
                self.violations.append(LimitViolation(method, chat_id, limit, now, retry_after))
                if self._answer_429:
                    raise ApiError(
                        429,
                        f"Too Many Requests: retry after {retry_after}",
                        {"retry_after": retry_after},
                    )
                break
        return [sent for _, sent, _, _ in windows]

    # -- state helpers --------------------------------------------------------------------------

    def _observe(self, update: JSON, *, assign_ids: bool) -> None:
        """Learn chats, and message ids, from an update the bot will receive."""
        for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
            message = update.get(key)
            if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
                continue
            chat = message["chat"]
            if "id" not in chat:
                continue
            chat_id = _chat_key(chat["id"])
            self.chats.setdefault(chat_id, chat)
            if assign_ids and "message_id" not in message:
                message["message_id"] = self._new_message_id(chat_id)
            if isinstance(message.get("message_id"), int):
                last = self._last_message_id.get(chat_id, 0)
                self._last_message_id[chat_id] = max(last, message["message_id"])
                self.messages.setdefault((chat_id, message["message_id"]), message)

    def _new_message_id(self, chat_id: int | str) -> int:
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _chat(self, key: int | str) -> JSON:
        known = self.chats.get(key)
        if known is not None:
            return known
        chat: JSON
        if isinstance(key, str):  # "@username" of an unknown public chat: make it a channel
            chat_id = -1_000_000_000_000 - zlib.crc32(key.encode()) % 1_000_000_000
            chat = {"id": chat_id, "type": "channel", "title": key[1:], "username": key[1:]}
        elif key > 0:
            chat = {"id": key, "type": "private", "first_name": f"User {key}"}
        elif str(key).startswith("-100"):
            chat = {"id": key, "type": "supergroup", "title": f"Supergroup {key}"}
        else:
            chat = {"id": key, "type": "group", "title": f"Group {key}"}
        self.chats[key] = chat
        self.chats[chat["id"]] = chat
        return chat

    def _message(self, params: JSON) -> tuple[int | str, JSON | None]:
        chat = self._chat(_chat_key(params.get("chat_id", "")))
        message_id = _as_int(params.get("message_id"), "message_id")
        return chat["id"], self.messages.get((chat["id"], message_id))

    def _new_message(self, params: JSON, token: str, **content: Any) -> JSON:
        chat = self._chat(_chat_key(params.get("chat_id", "")))
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "from": self.bot_user(token),
            "chat": chat,
            "date": int(time.time()),
        }
        if params.get("message_thread_id") is not None:
            message["message_thread_id"] = _as_int(params["message_thread_id"], "thread id")
            if chat.get("is_forum"):
                message["is_topic_message"] = True
        reply_to = params.get("reply_parameters") or {}
        if isinstance(reply_to, dict) and reply_to.get("message_id") is not None:
            original = self.messages.get((chat["id"], int(reply_to["message_id"])))
            if original is None and not reply_to.get("allow_sending_without_reply"):
                raise _bad_request("message to be replied not found")
            if original is not None:
                message["reply_to_message"] = original
        message.update({k: v for k, v in content.items() if v is not None})
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes inline keyboards only
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    def _caption(self, params: JSON) -> tuple[str | None, list[JSON] | None]:
        caption = params.get("caption")
        if caption is None:
            return None, None
        if len(str(caption)) > _MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        text, entities = _format(str(caption), params.get("parse_mode"))
        return text, entities or None

    def _store_upload(
        self, field_name: str, files: dict[str, bytes], meta: dict[str, str], kind: str
    ) -> UploadedFile:
        number = next(self._ids)
        name = meta.get(field_name) or f"file_{number}"
        mime = (
            mimetypes.guess_type(name)[0]
            or meta.get(f"{field_name}:content_type")
            or "application/octet-stream"
        )
        suffix = "." + name.rsplit(".", 1)[1] if "." in name else ""
        upload = UploadedFile(
            file_id=f"{kind[:3].upper()}ACAgIAAxkBAAI{number:08d}",
            file_unique_id=f"AgAD{number:08d}",
            file_name=name,
            mime_type=mime,
            data=files[field_name],
            file_path=f"{kind}s/file_{number}{suffix}",
        )
        self.uploads[upload.file_id] = upload
        return upload

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not scope:
            return json.dumps({"type": "default"})
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad_request("can't parse BotCommandScope JSON object")
        normalised = dict(scope)
        if "chat_id" in normalised:
            normalised["chat_id"] = _chat_key(normalised["chat_id"])
        return json.dumps(normalised, sort_keys=True)

    # -- methods ------------------------------------------------------------------------------

    def _true(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        return True

    def _get_me(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        return self.bot_user(token)

    async def _get_updates(self, params: JSON) -> list[Any]:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = None if params.get("offset") is None else _as_int(params["offset"], "offset")
        limit = min(max(_as_int(params.get("limit", 100), "limit"), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        self.offsets_requested.append(offset)
        if isinstance(params.get("allowed_updates"), list):
            self.allowed_updates = [str(kind) for kind in params["allowed_updates"]]
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_changed.set()  # an older long poll of this bot ends with 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, _DEFAULT_DESCRIPTIONS[409])
            batch = self._take(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                return batch
            self._updates_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updates_changed.wait(), remaining)

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:
            keep = self._pending[offset:]
            self._pending = keep
            return
        self._pending = [
            item
            for item in self._pending
            if not (
                isinstance(item.update, dict)
                and isinstance(item.update.get("update_id"), int)
                and item.update["update_id"] < offset
            )
        ]

    def _take(self, limit: int) -> list[Any]:
        """The next answer: one whole raw batch, or up to `limit` queued updates."""
        allowed = set(self.allowed_updates)
        batch: list[_Pending] = []
        for item in list(self._pending):
            if batch and (
                item.raw_batch != batch[0].raw_batch
                or (item.raw_batch is None and len(batch) >= limit)
            ):
                break
            if item.raw_batch is None:
                kind = _update_type(item.update)
                opted_out = kind in _OPT_IN_UPDATES and kind not in allowed
                if opted_out or (allowed and kind not in allowed):
                    self._pending.remove(item)
                    self.filtered_updates.append(item.update)
                    continue
            batch.append(item)
        for item in batch:
            # An update without an update_id can never be confirmed: it is served once.
            update = item.update
            if not (isinstance(update, dict) and isinstance(update.get("update_id"), int)):
                self._pending.remove(item)
        return [item.update for item in batch]

    def _set_webhook(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = {"url": url}
        for key in ("secret_token", "max_connections", "ip_address"):
            if params.get(key) is not None:
                self.webhook[key] = params[key]
        if isinstance(params.get("allowed_updates"), list):
            self.allowed_updates = [str(kind) for kind in params["allowed_updates"]]
        self.webhook["has_custom_certificate"] = "certificate" in files
        return True

    def _delete_webhook(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = {"url": ""}
        return True

    def _get_webhook_info(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        info: JSON = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": bool(self.webhook.get("has_custom_certificate")),
            "pending_update_count": len(self._pending),
        }
        if info["url"]:
            info["max_connections"] = int(self.webhook.get("max_connections", 40))
            if "ip_address" in self.webhook:
                info["ip_address"] = self.webhook["ip_address"]
            if self.allowed_updates:
                info["allowed_updates"] = list(self.allowed_updates)
        return info

    def _send_message(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        raw_text = params.get("text")
        if raw_text is None or not str(raw_text).strip():
            raise _bad_request("message text is empty")
        text, entities = _format(str(raw_text), params.get("parse_mode"))
        if _utf16_len(text) > _MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        if not entities and isinstance(params.get("entities"), list):
            entities = params["entities"]
        return self._new_message(params, token, text=text, entities=entities or None)

    def _edit_message_text(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        raw_text = params.get("text")
        if raw_text is None or not str(raw_text).strip():
            raise _bad_request("message text is empty")
        text, entities = _format(str(raw_text), params.get("parse_mode"))
        if _utf16_len(text) > _MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        if params.get("inline_message_id") is not None:
            return True
        _, message = self._message(params)
        if message is None or not message.get("from", {}).get("is_bot"):
            raise _bad_request("message to edit not found")
        markup = params.get("reply_markup")
        new_markup = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if message.get("text") == text and message.get("reply_markup") == new_markup:
            raise _bad_request(_NOT_MODIFIED)
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        message.pop("reply_markup", None)
        if new_markup is not None:
            message["reply_markup"] = new_markup
        message["edit_date"] = int(time.time())
        return message

    def _edit_message_reply_markup(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        if params.get("inline_message_id") is not None:
            return True
        _, message = self._message(params)
        if message is None or not message.get("from", {}).get("is_bot"):
            raise _bad_request("message to edit not found")
        markup = params.get("reply_markup")
        new_markup = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if message.get("reply_markup") == new_markup:
            raise _bad_request(_NOT_MODIFIED)
        message.pop("reply_markup", None)
        if new_markup is not None:
            message["reply_markup"] = new_markup
        message["edit_date"] = int(time.time())
        return message

    def _delete_message(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        chat_id, message = self._message(params)
        if message is None:
            raise _bad_request("message to delete not found")
        bot_id = self.bot_user(token)["id"]
        if self._chat(chat_id)["type"] in ("group", "supergroup") and (
            message.get("from", {}).get("id") != bot_id
        ):
            # Another's message in a group: only an administrator with the right may.
            me = self.members.get(chat_id, {}).get(bot_id, {})
            allowed = me.get("status") == "creator" or (
                me.get("status") == "administrator" and me.get("can_delete_messages")
            )
            if not allowed:
                raise _bad_request("message can't be deleted")
        del self.messages[(chat_id, message["message_id"])]
        return True

    def _answer_callback_query(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        if not params.get("callback_query_id"):
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(params.get("text") or "")) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        return True

    def _send_poll(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        question = str(params.get("question") or "")
        if not question:
            raise _bad_request("poll question must be non-empty")
        raw_options = params.get("options")
        if not isinstance(raw_options, list) or not 2 <= len(raw_options) <= 12:
            raise _bad_request("poll must have at least 2 option")
        poll_id = str(5_834_976_086_823_272_000 + next(self._ids))
        poll_type = str(params.get("type") or "regular")
        options = [
            {
                "text": str(option.get("text") if isinstance(option, dict) else option),
                "voter_count": 0,
                "persistent_id": str(index),
            }
            for index, option in enumerate(raw_options)
        ]
        poll: JSON = {
            "id": poll_id,
            "question": question,
            "options": options,
            "total_voter_count": 0,
            "is_closed": bool(params.get("is_closed", False)),
            "is_anonymous": bool(params.get("is_anonymous", True)),
            "type": poll_type,
            "allows_multiple_answers": bool(params.get("allows_multiple_answers", False)),
            "allows_revoting": bool(params.get("allows_revoting", poll_type == "regular")),
            "members_only": bool(params.get("members_only", False)),
        }
        correct = params.get("correct_option_ids")
        if correct is None and params.get("correct_option_id") is not None:
            correct = [params["correct_option_id"]]
        if poll_type == "quiz":
            if not correct:
                raise _bad_request("wrong quiz correct option id")
            poll["correct_option_ids"] = [int(index) for index in correct]
            if params.get("explanation"):
                poll["explanation"] = str(params["explanation"])
        for key in ("open_period", "close_date"):
            if params.get(key) is not None:
                poll[key] = int(params[key])
        message = self._new_message(params, token, poll=poll)
        self.polls[poll_id] = poll
        return message

    def _stop_poll(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        _, message = self._message(params)
        if message is None or "poll" not in message:
            raise _bad_request("message with poll to stop not found")
        poll = message["poll"]
        if poll["is_closed"]:
            raise _bad_request("poll has already been closed")
        poll["is_closed"] = True
        return poll

    def _pin_chat_message(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        chat_id, message = self._message(params)
        if message is None:
            raise _bad_request("message to pin not found")
        self.pinned.setdefault(chat_id, []).append(message["message_id"])
        return True

    def _send_photo(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        if "photo" in files:
            upload = self._store_upload("photo", files, meta, "photo")
            file_id, unique_id, size = upload.file_id, upload.file_unique_id, len(upload.data)
        elif params.get("photo"):
            reference = str(params["photo"])
            known = self.uploads.get(reference)
            file_id = reference if known else f"AgACAgIAAxkBAAI{next(self._ids):08d}"
            unique_id = known.file_unique_id if known else f"AQAD{next(self._ids):08d}"
            size = len(known.data) if known else 0
        else:
            raise _bad_request("there is no photo in the request")
        caption, caption_entities = self._caption(params)
        sizes = [
            {
                "file_id": f"{file_id}-s",
                "file_unique_id": f"{unique_id}-s",
                "file_size": size,
                "width": 90,
                "height": 90,
            },
            {
                "file_id": file_id,
                "file_unique_id": unique_id,
                "file_size": size,
                "width": 320,
                "height": 320,
            },
        ]
        return self._new_message(
            params, token, photo=sizes, caption=caption, caption_entities=caption_entities
        )

    def _send_document(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        if "document" in files:
            upload = self._store_upload("document", files, meta, "document")
            document: JSON = {
                "file_id": upload.file_id,
                "file_unique_id": upload.file_unique_id,
                "file_name": upload.file_name,
                "mime_type": upload.mime_type,
                "file_size": len(upload.data),
            }
        elif params.get("document"):
            reference = str(params["document"])
            known = self.uploads.get(reference)
            document = {
                "file_id": reference,
                "file_unique_id": known.file_unique_id if known else f"AgAD{next(self._ids):08d}",
            }
            if known:
                document.update(
                    {
                        "file_name": known.file_name,
                        "mime_type": known.mime_type,
                        "file_size": len(known.data),
                    }
                )
        else:
            raise _bad_request("there is no document in the request")
        caption, caption_entities = self._caption(params)
        return self._new_message(
            params, token, document=document, caption=caption, caption_entities=caption_entities
        )

    def _get_file(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        upload = self.uploads.get(str(params.get("file_id") or ""))
        if upload is None:
            raise _bad_request("invalid file_id")
        return {
            "file_id": upload.file_id,
            "file_unique_id": upload.file_unique_id,
            "file_size": len(upload.data),
            "file_path": upload.file_path,
        }

    def _set_my_commands(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        cleaned: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.match(
                str(command.get("command", ""))
            ):
                raise _bad_request("BOT_COMMAND_INVALID")
            description = str(command.get("description") or "")
            if not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command["command"], "description": description})
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    def _get_my_commands(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        return self.get_commands(params.get("scope"), str(params.get("language_code") or ""))

    def _delete_my_commands(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.commands.pop(key, None)
        return True

    def _get_chat(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        chat = self._chat(_chat_key(params.get("chat_id", "")))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _get_chat_member(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        chat = self._chat(_chat_key(params.get("chat_id", "")))
        user_id = _as_int(params.get("user_id"), "user_id")
        member = self.members.get(chat["id"], {}).get(user_id)
        if member is not None:
            return member
        bot = self.bot_user(token)
        if user_id == bot["id"]:
            return chat_member_dict(bot)
        if chat["type"] == "private" and user_id == chat["id"]:
            return chat_member_dict(user(user_id, str(chat.get("first_name", "User"))))
        known = next(
            (
                m["from"]
                for m in self.messages.values()
                if m["chat"]["id"] == chat["id"] and m.get("from", {}).get("id") == user_id
            ),
            None,
        )
        if known is None:
            return chat_member_dict(user(user_id, f"User {user_id}"), "left")
        return chat_member_dict(known)

    def _get_chat_administrators(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        chat = self._chat(_chat_key(params.get("chat_id", "")))
        if chat["type"] == "private":
            raise _bad_request("there are no administrators in the private chat")
        members = self.members.get(chat["id"], {}).values()
        admins = [m for m in members if m["status"] in ("creator", "administrator")]
        return admins or [chat_member_dict(user(1, "Owner"), "creator")]

    def _get_chat_member_count(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        chat = self._chat(_chat_key(params.get("chat_id", "")))
        if chat["id"] in self.member_counts:
            return self.member_counts[chat["id"]]
        if chat["type"] == "private":
            return 2
        present = [
            m
            for m in self.members.get(chat["id"], {}).values()
            if m["status"] not in ("left", "kicked")
        ]
        return max(2, len(present))

    def _leave_chat(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        chat = self._chat(_chat_key(params.get("chat_id", "")))
        if chat["type"] == "private":
            raise _bad_request("chat member status can't be changed in private chats")
        return True

    def _set_message_reaction(
        self, params: JSON, files: dict[str, bytes], meta: dict[str, str], token: str
    ) -> Any:
        _, message = self._message(params)
        if message is None:
            raise _bad_request("message to react not found")
        reaction = params.get("reaction")
        if reaction is not None and not isinstance(reaction, list):
            raise _bad_request("can't parse reaction types JSON object")
        return True
