"""Neutral outbound messages: a tiny rich-text tree that each adapter renders and escapes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from facilitator.domain.model import Platform


class Style(StrEnum):
    PLAIN = "plain"
    BOLD = "bold"
    ITALIC = "italic"
    CODE = "code"
    LINK = "link"
    MENTION = "mention"


@dataclass(frozen=True)
class Span:
    """A run of text in one style. `text` is always literal: renderers escape it."""

    text: str
    style: Style = Style.PLAIN
    url: str | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class Block:
    spans: tuple[Span, ...]
    bullet: bool = False

    def plain(self) -> str:
        return "".join(span.text for span in self.spans)


@dataclass(frozen=True)
class RichText:
    blocks: tuple[Block, ...] = ()

    def plain(self) -> str:
        return "\n".join(("• " if b.bullet else "") + b.plain() for b in self.blocks)

    def __add__(self, other: RichText) -> RichText:
        return RichText(self.blocks + other.blocks)

    @classmethod
    def of(cls, text: str) -> RichText:
        """Literal text, one paragraph per line, with nothing interpreted as markup."""
        return cls(tuple(Block((Span(line),)) for line in text.split("\n")))

    @classmethod
    def join(cls, parts: Iterable[RichText]) -> RichText:
        blocks: tuple[Block, ...] = ()
        for part in parts:
            blocks += part.blocks
        return cls(blocks)


@dataclass(frozen=True)
class Button:
    label: str
    action: str
    value: str = ""
    # A link button opens this address (a private chat with the bot, say) instead of coming
    # back as a press.
    url: str = ""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str
    caption: RichText | None = None


@dataclass(frozen=True)
class NativePoll:
    """A poll the platform draws itself (Telegram). Platforms without one show the message's
    body and buttons instead, so a message with a poll carries those too."""

    question: str
    options: tuple[str, ...]
    multiple: bool = False
    anonymous: bool = False


class FieldKind(StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    OPTIONS = "options"  # a list, one item per line
    DATE = "date"  # YYYY-MM-DD
    TIME = "time"  # HH:MM
    TIMEZONE = "timezone"  # an IANA zone, chosen among the options
    CHOICE = "choice"  # one of the options
    CHECKBOX = "checkbox"  # any of the options, each on or off


@dataclass(frozen=True)
class FieldOption:
    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    """One field of a form, already in the member's language."""

    name: str
    kind: FieldKind
    label: str
    required: bool = True
    max_length: int | None = None
    initial: str | tuple[str, ...] | None = None
    options: tuple[FieldOption, ...] = ()
    hint: str | None = None


@dataclass(frozen=True)
class Form:
    """A form a platform can draw itself (a Slack modal). Its submission comes back as a
    `ButtonPressed` whose action is `form_id` and whose value is the fields as JSON, from the
    conversation named by `conversation`. Platforms without forms show the message's body,
    so a message with a form carries the command's usage too."""

    form_id: str
    title: str
    submit: str
    fields: tuple[FormField, ...]
    conversation: str | None = None
    # What the command needs back besides the fields (kept by the platform, not editable by
    # the member: Slack's private_metadata); `FormInput.context` on submission.
    context: str | None = None


@dataclass(frozen=True)
class Section:
    """Part of a message with its own buttons, for surfaces that place buttons next to the text
    they belong to (Slack's Home tab)."""

    body: RichText
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True)
class OutboundMessage:
    body: RichText
    buttons: tuple[tuple[Button, ...], ...] = ()
    ephemeral: bool = False
    attachment: Attachment | None = None
    poll: NativePoll | None = None
    form: Form | None = None
    # The same content as `body` and `buttons`, in parts; renderers that cannot interleave
    # buttons with text use body and buttons.
    sections: tuple[Section, ...] = ()
    # Keep it at the top of the conversation where the platform pins messages (Telegram);
    # elsewhere an ordinary message.
    pin: bool = False
    # False: platforms must not fetch a preview of its links (a one-time sign-in link).
    preview: bool = True

    @classmethod
    def of_sections(
        cls, sections: Iterable[Section], *, ephemeral: bool = False
    ) -> OutboundMessage:
        parts = tuple(sections)
        return cls(
            RichText.join(s.body for s in parts),
            buttons=tuple(row for s in parts for row in s.buttons),
            ephemeral=ephemeral,
            sections=parts,
        )


@dataclass(frozen=True)
class Destination:
    """Where a message goes: a conversation, optionally a thread, optionally one person only."""

    platform: Platform
    chat_id: str
    thread_id: str | None = None
    reply_to_message_id: str | None = None
    user_id: str | None = None
    is_direct: bool = False


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def from_markdown(text: str) -> RichText:
    """Repository text with light Markdown (`**bold**`, `-`/`*` bullets, `#` headings) as rich
    text. Only styles come out of it: renderers still escape every character."""
    blocks: list[Block] = []
    for raw in text.split("\n"):
        line = raw.rstrip()
        bullet = bool(re.match(r"^\s*[-*]\s+", line))
        if bullet:
            line = re.sub(r"^\s*[-*]\s+", "", line)
        heading = re.match(r"^#{1,6}\s+(.*)$", line)
        if heading:
            blocks.append(Block((Span(heading.group(1), Style.BOLD),)))
            continue
        spans: list[Span] = []
        position = 0
        for match in _BOLD.finditer(line):
            if match.start() > position:
                spans.append(Span(line[position : match.start()]))
            spans.append(Span(match.group(1), Style.BOLD))
            position = match.end()
        if position < len(line) or not spans:
            spans.append(Span(line[position:]))
        blocks.append(Block(tuple(spans), bullet=bullet))
    return RichText(tuple(blocks))
