"""Neutral rich text -> Telegram HTML, split to Telegram's length limits; buttons -> keyboards."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from facilitator.markup import Block, Button, RichText, Span, Style

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # characters after entity parsing, counted in UTF-16 code units
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
CALLBACK_SEPARATOR = "|"
BULLET = "• "
_LINK_SCHEMES = ("http://", "https://", "tg://", "mailto:")
# A Telegram user id: ASCII digits only ("²" and other Unicode digits are not numbers to int()).
_USER_ID = re.compile(r"-?[0-9]+")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def render_span(span: Span) -> str:
    """One span as HTML; its text is always escaped, tags come from its style only."""
    text = html.escape(span.text, quote=False)
    if not text:
        return ""
    match span.style:
        case Style.BOLD:
            return f"<b>{text}</b>"
        case Style.ITALIC:
            return f"<i>{text}</i>"
        case Style.CODE:
            return f"<code>{text}</code>"
        case Style.LINK if span.url and span.url.lower().startswith(_LINK_SCHEMES):
            return f'<a href="{html.escape(span.url, quote=True)}">{text}</a>'
        case Style.MENTION if span.user_id and _USER_ID.fullmatch(span.user_id):
            return f'<a href="tg://user?id={int(span.user_id)}">{text}</a>'
        case _:
            return text


@dataclass(frozen=True)
class _Line:
    spans: tuple[Span, ...]
    bullet: bool

    @property
    def length(self) -> int:
        return utf16_len(self.plain)

    @property
    def plain(self) -> str:
        return (BULLET if self.bullet else "") + "".join(span.text for span in self.spans)

    @property
    def blank(self) -> bool:
        return not self.plain.strip()

    def html(self) -> str:
        return (BULLET if self.bullet else "") + "".join(render_span(s) for s in self.spans)


def render_html(body: RichText) -> str:
    """The whole body as one HTML text (no length limit)."""
    return "\n".join(_Line(b.spans, b.bullet).html() for b in body.blocks).strip("\n")


def render_chunks(body: RichText, limit: int = MAX_TEXT) -> list[str]:
    """HTML texts of at most `limit` visible characters each, split at paragraph boundaries
    (blank lines), then at line boundaries, then (a single over-long line) anywhere."""
    chunks: list[list[_Line]] = []
    current: list[_Line] = []
    for paragraph in _paragraphs(body.blocks):
        joined = [*current, _Line((), False), *paragraph] if current else paragraph
        if _length(joined) <= limit:
            current = joined
            continue
        if current:
            chunks.append(current)
            current = []
        for line in paragraph:
            for piece in _cut(line, limit):
                candidate = [*current, piece]
                if current and _length(candidate) > limit:
                    chunks.append(current)
                    candidate = [piece]
                current = candidate
    if current:
        chunks.append(current)
    return [text for text in ("\n".join(ln.html() for ln in chunk) for chunk in chunks) if text]


def _paragraphs(blocks: Sequence[Block]) -> list[list[_Line]]:
    paragraphs: list[list[_Line]] = []
    current: list[_Line] = []
    for block in blocks:
        line = _Line(block.spans, block.bullet)
        if line.blank:
            if current:
                paragraphs.append(current)
                current = []
            continue
        current.append(line)
    if current:
        paragraphs.append(current)
    return paragraphs


def _length(lines: Sequence[_Line]) -> int:
    return sum(line.length for line in lines) + max(len(lines) - 1, 0)


def _cut(line: _Line, limit: int) -> list[_Line]:
    """Split one line into lines of at most `limit` UTF-16 units, keeping span styles."""
    if line.length <= limit:
        return [line]
    pieces: list[_Line] = []
    spans: list[Span] = []
    room = limit - (utf16_len(BULLET) if line.bullet else 0)
    bullet = line.bullet
    for span in line.spans:
        text = span.text
        while text:
            taken = _prefix_within(text, room)
            if taken:
                spans.append(Span(taken, span.style, span.url, span.user_id))
                text = text[len(taken) :]
                room -= utf16_len(taken)
            if text:
                pieces.append(_Line(tuple(spans), bullet))
                spans, bullet, room = [], False, limit
    if spans:
        pieces.append(_Line(tuple(spans), bullet))
    return pieces


def _prefix_within(text: str, units: int) -> str:
    """The longest prefix of `text` of at most `units` UTF-16 code units (whole code points)."""
    if utf16_len(text) <= units:
        return text
    total = 0
    for index, char in enumerate(text):
        total += 2 if ord(char) > 0xFFFF else 1
        if total > units:
            return text[:index]
    return text


def callback_data(button: Button) -> str | None:
    """`action|value`, or None when it cannot round-trip within Telegram's 64 bytes."""
    if not button.action or CALLBACK_SEPARATOR in button.action:
        return None
    data = f"{button.action}{CALLBACK_SEPARATOR}{button.value}" if button.value else button.action
    return data if len(data.encode()) <= MAX_CALLBACK_DATA else None


def parse_callback_data(data: str) -> tuple[str, str]:
    action, _, value = data.partition(CALLBACK_SEPARATOR)
    return action, value


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """An inline keyboard; a button whose data does not fit is dropped and logged."""
    built: list[list[InlineKeyboardButton]] = []
    for row in rows:
        buttons: list[InlineKeyboardButton] = []
        for button in row:
            if button.url and button.label.strip():
                buttons.append(InlineKeyboardButton(button.label, url=button.url))
                continue
            data = callback_data(button)
            if data is None or not button.label.strip():
                log.error(
                    "button dropped: empty label or callback data over 64 bytes",
                    extra={"action": button.action[:64], "bytes": len(button.value.encode())},
                )
                continue
            buttons.append(InlineKeyboardButton(button.label, callback_data=data))
        if buttons:
            built.append(buttons)
    return InlineKeyboardMarkup(built) if built else None
