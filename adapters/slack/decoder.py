"""Stored Slack payloads (Events API envelopes, slash commands, interactions) -> core events."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from adapters.slack import home, render
from adapters.slack.commands import parse_slash
from adapters.slack.directory import Directory
from adapters.slack.manifest import REPORT_SHORTCUT, SAVE_SHORTCUT, SHARE_SHORTCUT
from adapters.slack.response_urls import INTERACTION_PREFIX, ResponseUrls
from adapters.slack.webapi import SlackWeb
from facilitator.domain.errors import UndecodablePayload
from facilitator.domain.events import (
    BotAdded,
    BotRemoved,
    ButtonPressed,
    CommandInvoked,
    FileRef,
    InboundEvent,
    MemberJoined,
    MemberLeft,
    MessageReceived,
    Origin,
    ReactionChanged,
    ReplyTarget,
)
from facilitator.domain.model import Platform, PlatformUser
from facilitator.ports import Clock

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]

# Message subtypes that are a person's message; every other subtype (joins, topic changes,
# deletions, bot messages, …) is not a message for the core.
MESSAGE_SUBTYPES = frozenset({"thread_broadcast", "file_share", "me_message"})
_TOKEN = re.compile(r"<([^<>\n]{1,2000})>")
_LINK = re.compile(r"<(?:https?://|mailto:)", re.I)
_TS = re.compile(r"^\d{1,12}(?:\.\d{1,9})?$")
# A message text that looks like a command is not a command on Slack (commands arrive as slash
# commands); a zero-width space in front keeps the core from reading it as one.
_NOT_A_COMMAND = "\u200b"


def _dict(value: object) -> JSONDict:
    return value if isinstance(value, dict) else {}


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _time(value: object, fallback: datetime) -> datetime:
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str) and _TS.match(value):
        return datetime.fromtimestamp(float(value), UTC)
    return fallback


def message_text(raw: str, bot_user_id: str | None) -> str:
    """Slack's message markup as plain text: mentions by name, links readable, the bot's own
    mention removed, entities undone."""

    def token(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            user_id = target[1:]
            return "" if user_id == bot_user_id else "@" + (label or user_id)
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            name = target[1:].split("^", 1)[0]
            if name == "date":
                return label
            return "@" + (label.lstrip("@") or name)
        if target.startswith("mailto:"):
            return label or target[len("mailto:") :]
        if label and label not in target:
            return f"{label} ({target})"
        return target

    text = render.unescape(_TOKEN.sub(token, raw)).strip()
    return _NOT_A_COMMAND + text if text.startswith("/") else text


class SlackDecoder:
    """Translates; the only side effects are look-ups (cached) and remembering response_urls."""

    def __init__(
        self,
        directory: Directory,
        response_urls: ResponseUrls,
        web: SlackWeb,
        clock: Clock,
    ) -> None:
        self._directory = directory
        self._response_urls = response_urls
        self._web = web
        self._clock = clock

    async def decode(self, payload: str) -> Sequence[InboundEvent]:
        try:
            body = json.loads(payload)
        except ValueError:
            raise UndecodablePayload("slack payload is not JSON") from None
        if not isinstance(body, dict):
            raise UndecodablePayload("slack payload is not an object")
        kind = body.get("type")
        if kind == "event_callback":
            return await self._event(body)
        if isinstance(body.get("command"), str):
            return await self._command(body)
        if kind == "block_actions":
            return await self._actions(body)
        if kind == "view_submission":
            return await self._submission(body)
        if kind == "message_action":
            return await self._message_action(body)
        log.info("slack payload not used", extra={"slack_type": str(kind)[:64]})
        return []

    # ------------------------------------------------------------------ Events API

    async def _event(self, body: JSONDict) -> Sequence[InboundEvent]:
        event = body.get("event")
        if not isinstance(event, dict):
            raise UndecodablePayload("event_callback without an event")
        kind = event.get("type")
        at = _time(body.get("event_time"), self._clock.now())
        event_id = _str(body, "event_id") or f"{kind}:{event.get('event_ts')}"
        match kind:
            case "message":
                return await self._message(event, at, mention=False)
            case "app_mention":
                return await self._message(event, at, mention=True)
            case "member_joined_channel":
                return await self._joined(event, event_id, at)
            case "member_left_channel":
                return await self._left(event, event_id, at)
            case "channel_left" | "group_left":
                return await self._bot_removed(event, event_id, at)
            case "reaction_added" | "reaction_removed":
                return await self._reaction(event, at, added=kind == "reaction_added")
            case "app_home_opened":
                return await self._home_opened(event, event_id, at)
            case "app_uninstalled":
                self._web.suspend("app_uninstalled")
                return []
            case "tokens_revoked":
                await self._tokens_revoked(event)
                return []
        log.info("slack event not used", extra={"event_type": str(kind)[:64]})
        return []

    async def _origin(
        self,
        *,
        event_id: str,
        channel: str,
        user: PlatformUser,
        at: datetime,
        is_direct: bool,
        thread_id: str | None = None,
        message_id: str | None = None,
        title: str | None = None,
    ) -> Origin:
        if not is_direct and title is None:
            title = (await self._directory.channel(channel)).title
        return Origin(
            platform=Platform.SLACK,
            event_id=event_id[:200],
            chat_id=channel,
            user=user,
            occurred_at=at,
            chat_title=None if is_direct else title,
            is_direct=is_direct,
            thread_id=thread_id,
            message_id=message_id,
        )

    async def _message(self, event: JSONDict, at: datetime, mention: bool) -> list[InboundEvent]:
        if event.get("hidden"):
            return []
        subtype = event.get("subtype")
        is_edit = subtype == "message_changed"
        message = _dict(event.get("message")) if is_edit else event
        if not is_edit and subtype is not None and subtype not in MESSAGE_SUBTYPES:
            return []
        channel = _str(event, "channel")
        ts = _str(message, "ts")
        user_id = _str(message, "user")
        if channel is None or ts is None:
            raise UndecodablePayload("message event without channel or ts")
        if user_id is None or message.get("bot_id") or message.get("subtype") == "bot_message":
            return []
        bot = await self._directory.bot_user_id()
        if user_id == bot:
            return []
        raw = _str(message, "text") or ""
        thread_ts = _str(message, "thread_ts")
        reply_to = None
        if thread_ts and thread_ts != ts:
            parent = _str(message, "parent_user_id")
            reply_to = ReplyTarget(thread_ts, parent, is_bot=parent is not None and parent == bot)
        is_direct = event.get("channel_type") == "im" or channel.startswith("D")
        event_id = f"{channel}:{ts}"
        if is_edit:
            edited = _str(_dict(message.get("edited")), "ts") or _str(event, "event_ts") or ""
            event_id = f"{channel}:{ts}:edit:{edited}"
        origin = await self._origin(
            event_id=event_id,
            channel=channel,
            user=await self._directory.user(user_id),
            at=_time(ts, at),
            is_direct=is_direct,
            thread_id=thread_ts,
            message_id=ts,
        )
        mentions_bot = mention or is_direct or (bot is not None and f"<@{bot}" in raw)
        files = message.get("files")
        return [
            MessageReceived(
                origin,
                message_text(raw, bot),
                reply_to=reply_to,
                mentions_bot=mentions_bot,
                has_link=bool(_LINK.search(raw)),
                has_file=bool(files) or message.get("subtype") == "file_share",
                is_edit=is_edit,
            )
        ]

    async def _joined(self, event: JSONDict, event_id: str, at: datetime) -> list[InboundEvent]:
        user_id, channel = _str(event, "user"), _str(event, "channel")
        if user_id is None or channel is None:
            raise UndecodablePayload("member_joined_channel without user or channel")
        bot = await self._directory.bot_user_id()
        inviter = _str(event, "inviter")
        info = await self._directory.channel(channel)
        if user_id == bot:
            # Whoever added the bot; without an inviter, the channel's creator.
            adder = inviter or info.creator
            if adder is None or adder == bot:
                log.info("bot added by nobody known", extra={"channel": channel})
                return []
            user = await self._directory.user(adder)
            if adder == info.creator and not user.is_platform_admin:
                # The channel's creator administers it, as a workspace admin does.
                user = replace(user, is_platform_admin=True)
            origin = await self._origin(
                event_id=event_id,
                channel=channel,
                user=user,
                at=at,
                is_direct=False,
                title=info.title,
            )
            return [BotAdded(origin)]
        member = await self._directory.user(user_id)
        actor = member
        if inviter and inviter != user_id:
            actor = await self._directory.user(inviter)
        origin = await self._origin(
            event_id=event_id,
            channel=channel,
            user=actor,
            at=at,
            is_direct=False,
            title=info.title,
        )
        return [MemberJoined(origin, member)]

    async def _left(self, event: JSONDict, event_id: str, at: datetime) -> list[InboundEvent]:
        user_id, channel = _str(event, "user"), _str(event, "channel")
        if user_id is None or channel is None:
            raise UndecodablePayload("member_left_channel without user or channel")
        if user_id == await self._directory.bot_user_id():
            # member_left_channel does not say who removed the bot, and the core acts only on
            # events from a person; channel_left / group_left carry that person.
            log.info("bot left a channel", extra={"channel": channel})
            return []
        member = await self._directory.user(user_id)
        origin = await self._origin(
            event_id=event_id, channel=channel, user=member, at=at, is_direct=False
        )
        return [MemberLeft(origin, member)]

    async def _bot_removed(
        self, event: JSONDict, event_id: str, at: datetime
    ) -> list[InboundEvent]:
        channel, actor = _str(event, "channel"), _str(event, "actor_id")
        if channel is None:
            raise UndecodablePayload("channel_left without a channel")
        if actor is None or actor == await self._directory.bot_user_id():
            log.info(
                "bot left a channel on its own or by someone unknown", extra={"channel": channel}
            )
            return []
        origin = await self._origin(
            event_id=event_id,
            channel=channel,
            user=await self._directory.user(actor),
            at=at,
            is_direct=False,
            title=channel,  # the bot can no longer read the channel's name
        )
        return [BotRemoved(origin)]

    async def _reaction(self, event: JSONDict, at: datetime, added: bool) -> list[InboundEvent]:
        item = _dict(event.get("item"))
        if item.get("type") != "message":
            return []
        user_id, channel, ts = _str(event, "user"), _str(item, "channel"), _str(item, "ts")
        emoji = _str(event, "reaction")
        if user_id is None or channel is None or ts is None or emoji is None:
            raise UndecodablePayload("reaction event without user, item or reaction")
        if user_id == await self._directory.bot_user_id():
            return []
        origin = await self._origin(
            event_id=f"{channel}:{ts}:reaction:{emoji}",
            channel=channel,
            user=await self._directory.user(user_id),
            at=_time(event.get("event_ts"), at),
            is_direct=channel.startswith("D"),
        )
        return [ReactionChanged(origin, emoji, ts, _str(event, "item_user"), added)]

    async def _home_opened(
        self, event: JSONDict, event_id: str, at: datetime
    ) -> list[InboundEvent]:
        user_id = _str(event, "user")
        if user_id is None or event.get("tab") != "home":
            return []
        origin = await self._origin(
            event_id=event_id,
            channel=home.home_chat(user_id),
            user=await self._directory.user(user_id),
            at=at,
            is_direct=True,
        )
        return [CommandInvoked(origin, home.HOME_COMMAND, "")]

    async def _tokens_revoked(self, event: JSONDict) -> None:
        bots = _dict(event.get("tokens")).get("bot")
        if not isinstance(bots, list) or not bots:
            return
        bot = self._directory.known_identity
        if bot is None or bot.user_id in bots:
            self._web.suspend("tokens_revoked")

    # ------------------------------------------------------------------ commands, interactions

    async def _command(self, body: JSONDict) -> list[InboundEvent]:
        user_id, channel = _str(body, "user_id"), _str(body, "channel_id")
        if user_id is None or channel is None:
            raise UndecodablePayload("slash command without user or channel")
        name, args = parse_slash(str(body["command"]), str(body.get("text") or ""))
        trigger = _str(body, "trigger_id")
        reference = f"{INTERACTION_PREFIX}{trigger}" if trigger else None
        if reference is not None:
            self._response_urls.remember(reference, _str(body, "response_url"))
        is_direct = channel.startswith("D") or body.get("channel_name") == "directmessage"
        title = None if is_direct else (await self._directory.channel(channel)).title
        origin = await self._origin(
            event_id=f"command:{trigger or body.get('response_url') or channel}",
            channel=channel,
            user=await self._directory.user(user_id, _str(body, "user_name") or ""),
            at=self._clock.now(),
            is_direct=is_direct,
            message_id=reference,
            title=title or _str(body, "channel_name"),
        )
        return [CommandInvoked(origin, name, args)]

    async def _interaction_origin(
        self, body: JSONDict, user_id: str, channel: str | None, suffix: str
    ) -> Origin:
        trigger = _str(body, "trigger_id")
        reference = f"{INTERACTION_PREFIX}{trigger}" if trigger else None
        if reference is not None:
            self._response_urls.remember(reference, _str(body, "response_url"))
        user = await self._directory.user(user_id, _str(_dict(body.get("user")), "name") or "")
        container = _dict(body.get("container"))
        chat = channel or user_id  # no conversation (Home tab, modal): the member's DM
        return await self._origin(
            event_id=f"{body.get('type')}:{trigger or container.get('message_ts')}:{suffix}",
            channel=chat,
            user=user,
            at=self._clock.now(),
            is_direct=channel is None or channel.startswith("D"),
            thread_id=_str(container, "thread_ts"),
            message_id=reference,
        )

    async def _actions(self, body: JSONDict) -> list[InboundEvent]:
        user_id = _str(_dict(body.get("user")), "id")
        if user_id is None:
            raise UndecodablePayload("block_actions without a user")
        container = _dict(body.get("container"))
        channel = None
        if container.get("type") != "view":
            channel = _str(_dict(body.get("channel")), "id") or _str(container, "channel_id")
        actions = body.get("actions")
        events: list[InboundEvent] = []
        for i, action in enumerate(actions if isinstance(actions, list) else []):
            action = _dict(action)
            action_id = _str(action, "action_id")
            if action_id is None:
                continue
            value = _str(action, "value") or _str(_dict(action.get("selected_option")), "value")
            origin = await self._interaction_origin(body, user_id, channel, str(i))
            events.append(ButtonPressed(origin, render.action_of(action_id), value or ""))
        return events

    async def _message_action(self, body: JSONDict) -> list[InboundEvent]:
        """A message shortcut: "Save to repository" is `/save` replying to that message, from
        a gesture that may open the form at once; "Share file to repository" is `/share`
        replying to it, for the file it carries; "Report message" is `/report` replying to it,
        without a reason (the moderators read the message itself)."""
        callback = _str(body, "callback_id")
        user_id = _str(_dict(body.get("user")), "id")
        channel = _str(_dict(body.get("channel")), "id")
        message = _dict(body.get("message"))
        ts = _str(message, "ts") or _str(body, "message_ts")
        commands = {SAVE_SHORTCUT: "save", SHARE_SHORTCUT: "share", REPORT_SHORTCUT: "report"}
        command = commands.get(callback or "")
        if command is None:
            log.info("slack shortcut not used", extra={"callback_id": str(callback)[:64]})
            return []
        if user_id is None or channel is None or ts is None or not _TS.match(ts):
            raise UndecodablePayload("message shortcut without user, channel or message")
        bot = await self._directory.bot_user_id()
        author = _str(message, "user")
        origin = await self._interaction_origin(body, user_id, channel, command)
        origin = replace(
            origin, interactive=command == "save", thread_id=_str(message, "thread_ts")
        )
        target = ReplyTarget(
            ts,
            author,
            is_bot=bool(message.get("bot_id")) or author == bot,
            text=message_text(_str(message, "text") or "", bot),
            link=f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}",
            file=_file_ref(message.get("files")),
        )
        return [CommandInvoked(origin, command, "", reply_to=target)]

    async def _submission(self, body: JSONDict) -> list[InboundEvent]:
        """A submitted modal reaches the core as a button press: the action is the view's
        callback_id and the value a JSON object of the fields (until the core has forms)."""
        user_id = _str(_dict(body.get("user")), "id")
        view = _dict(body.get("view"))
        callback = _str(view, "callback_id")
        if user_id is None or callback is None:
            raise UndecodablePayload("view_submission without user or callback_id")
        metadata = _str(view, "private_metadata") or ""
        channel = None
        with contextlib.suppress(ValueError):
            channel = _str(_dict(json.loads(metadata)), "channel")
        fields = form_fields(_dict(_dict(view.get("state")).get("values")))
        value = json.dumps(
            {"fields": fields, "metadata": metadata}, sort_keys=True, ensure_ascii=False
        )
        origin = await self._interaction_origin(body, user_id, channel, "submit")
        return [ButtonPressed(origin, callback, value)]


def _file_ref(files: object) -> FileRef | None:
    """The first file of a message, by its id: the fetcher asks files.info for the rest, so
    the name, type and size here only choose the reply when the file cannot be read."""
    for raw in files if isinstance(files, list) else []:
        entry = _dict(raw)
        file_id = _str(entry, "id")
        if file_id is None:
            continue
        size = entry.get("size")
        return FileRef(
            file_id[:64],
            _str(entry, "name"),
            _str(entry, "mimetype"),
            size if isinstance(size, int) and not isinstance(size, bool) else None,
        )
    return None


def form_fields(values: JSONDict) -> dict[str, object]:
    """A modal's state values by action_id: text, selected option(s), date, time, users."""
    fields: dict[str, object] = {}
    for block in values.values():
        for action_id, state in _dict(block).items():
            state = _dict(state)
            if "value" in state:
                fields[action_id] = state.get("value") or ""
            elif isinstance(state.get("selected_option"), dict):
                fields[action_id] = _dict(state["selected_option"]).get("value")
            elif isinstance(state.get("selected_options"), list):
                fields[action_id] = [_dict(o).get("value") for o in state["selected_options"]]
            else:
                for key in ("selected_date", "selected_time", "selected_user", "selected_users"):
                    if key in state:
                        fields[action_id] = state[key]
    return fields
