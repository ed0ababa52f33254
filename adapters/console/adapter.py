"""Translates terminal lines into core events and renders replies as plain text."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from facilitator.commands.spec import split_command
from facilitator.domain.errors import UndecodablePayload
from facilitator.domain.events import (
    ButtonPressed,
    CommandInvoked,
    InboundEvent,
    MessageReceived,
    Origin,
    ReplyTarget,
)
from facilitator.domain.model import Platform, PlatformUser, Role
from facilitator.i18n import Catalogue
from facilitator.markup import Attachment, Button, Destination, OutboundMessage, RichText, Style

CHAT_ID = "demo"
REPLY_MARK = "^"
MAX_LINE = 20_000


def render(body: RichText) -> str:
    lines = []
    for block in body.blocks:
        text = "".join(
            f"`{span.text}`"
            if span.style is Style.CODE
            else f"{span.text} <{span.url}>"
            if span.style is Style.LINK and span.url
            else span.text
            for span in block.spans
        )
        lines.append(("  • " if block.bullet else "") + text)
    return "\n".join(lines)


class ConsoleMessenger:
    """Prints replies; remembers the last buttons so `/press N` can choose one. Files (a
    chart, a CSV) are written to `files_dir` when it is given, and their path printed."""

    def __init__(self, out: TextIO, files_dir: Path | None = None) -> None:
        self.out = out
        self.files_dir = files_dir
        self.buttons: list[Button] = []

    async def send(self, destination: Destination, message: OutboundMessage) -> str | None:
        text = render(message.body)
        prefix = "bot (only you)> " if message.ephemeral else "bot> "
        if destination.is_direct and destination.user_id:
            # The outbox writes to someone privately: everyone at this terminal sees it.
            prefix = f"bot (privately to {destination.user_id})> "
        self.out.write(prefix + text.replace("\n", "\n" + " " * len(prefix)) + "\n")
        if message.buttons:
            self.buttons = [b for row in message.buttons for b in row]
            choices = "  ".join(
                f"[{i}] {b.label}" + (f" <{b.url}>" if b.url else "")
                for i, b in enumerate(self.buttons, 1)
            )
            self.out.write(" " * len(prefix) + choices + "\n")
        if message.attachment is not None:
            self.out.write(" " * len(prefix) + self._file(message.attachment) + "\n")
        self.out.flush()
        return None

    def _file(self, attachment: Attachment) -> str:
        if self.files_dir is None:
            return f"(file: {attachment.filename})"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        # Only the name's last part, so a file name can never point outside the directory.
        path = self.files_dir / Path(attachment.filename).name
        path.write_bytes(attachment.content)
        return f"(file: {attachment.filename}, saved to {path})"


class ConsoleDecoder:
    async def decode(self, payload: str) -> Sequence[InboundEvent]:
        data = json.loads(payload)
        if not isinstance(data, dict) or not isinstance(data.get("user_id"), str):
            raise UndecodablePayload("console payload without a user")
        user = PlatformUser(
            Platform.CONSOLE,
            data["user_id"],
            str(data.get("name") or ""),
            locale_hint=data.get("locale"),
        )
        origin = Origin(
            platform=Platform.CONSOLE,
            event_id=str(data["id"]),
            chat_id=CHAT_ID,
            user=user,
            occurred_at=datetime.fromisoformat(data["at"]),
            chat_title="demo",
            message_id=str(data["id"]),
        )
        if data.get("kind") == "button":
            return [ButtonPressed(origin, str(data["action"]), str(data.get("value", "")))]
        text = str(data.get("text", ""))
        replied = data.get("reply_to")
        reply_to = None
        if isinstance(replied, dict) and isinstance(replied.get("id"), str):
            reply_to = ReplyTarget(
                message_id=replied["id"],
                user_id=str(replied.get("user_id") or ""),
                text=str(replied.get("text") or ""),
                user_name=str(replied.get("user_id") or ""),
            )
        command = split_command(text)
        if command is not None:
            return [CommandInvoked(origin, *command, reply_to=reply_to)]
        return [
            MessageReceived(
                origin,
                text,
                reply_to=reply_to,
                # A reply to another member's message is a conversation between members; the
                # rest of the demo's lines are spoken to the bot.
                mentions_bot=reply_to is None,
                has_link="http" in text,
            )
        ]


@dataclass
class Identity:
    user_id: str
    role: Role | None = None


RoleSetter = Callable[[str, Role], Awaitable[None]]
# `Inbox.accept`: platform, delivery id, payload, ordering key, sender.
Acceptor = Callable[[Platform, str, str, str, str | None], Awaitable[bool]]


class ConsoleChat:
    """Reads lines from a stream until it ends; `/as NAME [ROLE]` switches who is speaking."""

    def __init__(
        self,
        accept: Acceptor,
        process: Callable[[], Awaitable[int]],
        set_role: RoleSetter,
        messenger: ConsoleMessenger,
        catalogue: Catalogue,
        clock_now: Callable[[], datetime],
        user: str = "guest",
        locale: str = "en",
    ) -> None:
        self._accept = accept
        self._process = process
        self._set_role = set_role
        self._messenger = messenger
        self._catalogue = catalogue
        self._now = clock_now
        self.user = user
        self.locale = locale
        self._session = uuid.uuid4().hex[:12]
        self._seq = 0
        # What members said, newest last: `^ text` replies to the last one by someone else.
        self._said: list[dict[str, str]] = []

    def _note(self, key: str, **values: object) -> None:
        self._messenger.out.write(self._catalogue.text(self.locale, key, **values) + "\n")
        self._messenger.out.flush()

    async def switch(self, user: str, role: Role | None) -> None:
        self.user = user
        if role is not None:
            await self._set_role(user, role)
        if role is None:
            self._note("console.switched", user=user)
        else:
            self._note("console.switched_role", user=user, role=role.label)

    async def handle_line(self, line: str) -> bool:
        """Process one line; False when the chat should end."""
        line = line.rstrip("\r\n")[:MAX_LINE]
        if not line.strip():
            return True
        stripped = line.strip()
        if stripped in {"/quit", "/exit"}:
            return False
        if stripped.startswith("/as ") or stripped == "/as":
            await self._as(stripped[3:].split())
            return True
        if stripped.startswith("/press"):
            await self._press(stripped[6:].strip())
            return True
        if stripped.startswith(REPLY_MARK):
            await self._reply(stripped[len(REPLY_MARK) :].strip())
            return True
        await self._submit({"kind": "text", "text": line})
        return True

    async def _reply(self, text: str) -> None:
        """`^ text`: the line replies to the last message of someone else, as a reply in a
        Telegram group does (`^ /save` saves that message as an answer)."""
        target = next((m for m in reversed(self._said) if m["user_id"] != self.user), None)
        if target is None or not text:
            self._note("console.reply_usage")
            return
        await self._submit({"kind": "text", "text": text, "reply_to": target})

    async def _as(self, words: list[str]) -> None:
        if not words or len(words) > 2:
            self._note("console.as_usage")
            return
        role = None
        if len(words) == 2:
            try:
                role = Role.parse(words[1])
            except ValueError:
                self._note("console.as_usage")
                return
        await self.switch(words[0][:64], role)

    async def _press(self, choice: str) -> None:
        buttons = self._messenger.buttons
        if not choice.isdecimal() or not 1 <= int(choice) <= len(buttons):
            self._note("console.press_usage", count=len(buttons))
            return
        button = buttons[int(choice) - 1]
        await self._submit({"kind": "button", "action": button.action, "value": button.value})

    async def _submit(self, data: dict[str, object]) -> None:
        self._seq += 1
        event_id = f"{self._session}:{self._seq}"
        data.update(
            id=event_id,
            user_id=self.user,
            locale=self.locale,
            at=self._now().isoformat(),
        )
        if data.get("kind") == "text" and not str(data["text"]).startswith("/"):
            self._said.append({"id": event_id, "user_id": self.user, "text": str(data["text"])})
            del self._said[:-50]
        await self._accept(Platform.CONSOLE, event_id, json.dumps(data), CHAT_ID, self.user)
        await self._process()

    async def run(self, stream: TextIO) -> None:
        interactive = stream.isatty()
        if interactive:
            self._note("console.banner", user=self.user)
        while True:
            if interactive:
                self._messenger.out.write(f"{self.user}> ")
                self._messenger.out.flush()
            line = await asyncio.to_thread(stream.readline)
            if not line:
                break
            if not await self.handle_line(line):
                break


def default_streams() -> tuple[TextIO, TextIO]:
    return sys.stdin, sys.stdout
