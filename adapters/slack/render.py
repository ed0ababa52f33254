"""Neutral messages -> Slack Block Kit (rich_text, buttons) plus an escaped mrkdwn fallback.

The body goes out as a `rich_text` block: every span becomes a `text` element whose style
(bold, italic, code) is a structural flag, so nothing in a user's text is ever parsed as
formatting, as a mention (`<@U…>`, `<!channel>`) or as a link. Slack's own Block Kit reference
prefers rich_text for exactly this ("include user-defined formatted text").

Slack still needs a top-level `text` (notifications, screen readers) and file comments are
mrkdwn only, so `mrkdwn()` renders the same tree as mrkdwn: `&`, `<` and `>` in every value are
escaped (which also disarms `<!channel>`, `<!here>`, `<@U…>` and `<#C…>`), styles come only from
span styles, and a formatting character in a value that could open or close formatting (`*`,
`_`, `~`, a backtick, next to a word boundary) is replaced by a look-alike that Slack does not
interpret. Slack mrkdwn has no escape character, so substitution is the only robust choice.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from facilitator.markup import (
    Block,
    Button,
    FieldKind,
    Form,
    FormField,
    OutboundMessage,
    RichText,
    Section,
    Span,
    Style,
)

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]

# A message's body is split so that each part stays well inside Slack's limits (40,000
# characters of text, 50 blocks); 3,000 keeps parts readable and under every block limit.
MAX_PART_CHARS = 3000
# The top-level `text` is only the fallback of a message whose blocks carry it (notifications,
# screen readers). Slack's chat.postMessage reference: "For best results, limit the number of
# characters in the text field to 4,000 characters" (it truncates beyond 40,000). Escaping can
# make a 3,000-character part five times longer (`&` -> `&amp;`), so the fallback is cut.
MAX_FALLBACK_CHARS = 4000
MAX_BUTTON_LABEL = 75  # plain_text of a button
MAX_ACTION_ID = 255
MAX_BUTTON_VALUE = 2000
MAX_BUTTONS_PER_ROW = 25  # elements of one actions block
MAX_BUTTON_ROWS = 20
MAX_MESSAGE_BLOCKS = 50
# Modals (docs.slack.dev/reference/views/modal-views and the Block Kit element references):
# title and buttons 24 characters, 100 blocks, private_metadata 3,000 characters, callback_id
# 255; an input's label 2,000; a plain_text_input holds at most 3,000 characters; a select at
# most 100 options and checkboxes 10, whose text is at most 75 and value 150 characters.
MAX_VIEW_TITLE = 24
MAX_VIEW_BLOCKS = 100
MAX_METADATA = 3000
MAX_CALLBACK_ID = 255
MAX_LABEL = 2000
MAX_INPUT = 3000
MAX_SELECT_OPTIONS = 100
MAX_CHECKBOXES = 10
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
ACTION_SUFFIX = re.compile(r"#\d{1,3}\.\d{1,3}$")

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Formatting characters of mrkdwn and the look-alikes that replace them in user values.
_INERT = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
_SLACK_USER_ID = re.compile(r"^[UWB][A-Z0-9]{2,30}$")
_URL_SCHEMES = ("http", "https", "mailto")


def escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as control characters."""
    return text.translate(_ESCAPES)


def unescape(text: str) -> str:
    """Slack's own escaping of `&`, `<` and `>` in inbound text, undone."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def inert(text: str) -> str:
    """A user value made literal for mrkdwn: escaped, and unable to open or close formatting.

    A marker between two letters or digits (`snake_case`, `2*3`) cannot format in Slack and is
    kept as typed; any other marker is replaced by its look-alike.
    """
    escaped = escape(text)
    out: list[str] = []
    for i, char in enumerate(escaped):
        if char in _INERT:
            before = escaped[i - 1] if i > 0 else " "
            after = escaped[i + 1] if i + 1 < len(escaped) else " "
            if not (before.isalnum() and after.isalnum()):
                out.append(_INERT[char])
                continue
        out.append(char)
    return "".join(out)


def safe_url(url: str | None) -> str | None:
    """The URL if it is a web or mail address that cannot break out of `<url|label>`."""
    if not url or len(url) > 3000 or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme not in _URL_SCHEMES:
        return None
    return url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")


def slack_user_id(user_id: str | None) -> str | None:
    return user_id if user_id and _SLACK_USER_ID.match(user_id) else None


# --------------------------------------------------------------------------- mrkdwn


def _wrapped(marker: str, text: str) -> str:
    value = inert(text)
    core = value.strip()
    if not core:
        return value
    lead = value[: len(value) - len(value.lstrip())]
    trail = value[len(value.rstrip()) :]
    return f"{lead}{marker}{core}{marker}{trail}"


def _mrkdwn_span(span: Span) -> str:
    if span.style is Style.BOLD:
        return _wrapped("*", span.text)
    if span.style is Style.ITALIC:
        return _wrapped("_", span.text)
    if span.style is Style.CODE:
        code = escape(span.text).replace("`", _INERT["`"])
        return f"`{code}`" if code.strip() else code
    if span.style is Style.LINK:
        url = safe_url(span.url)
        if url is None:
            return inert(span.text)
        label = inert(span.text)
        return f"<{escape(url)}|{label}>" if label.strip() else f"<{escape(url)}>"
    if span.style is Style.MENTION:
        user_id = slack_user_id(span.user_id)
        return f"<@{user_id}>" if user_id else "@" + inert(span.text.lstrip("@"))
    return inert(span.text)


def mrkdwn(body: RichText) -> str:
    """The body as Slack mrkdwn, every value escaped and unable to format."""
    lines = []
    for block in body.blocks:
        text = "".join(_mrkdwn_span(span) for span in block.spans)
        lines.append("• " + text if block.bullet else text)
    return "\n".join(lines)


# --------------------------------------------------------------------------- rich_text


def _element(span: Span) -> JSONDict | None:
    if span.style is Style.MENTION:
        user_id = slack_user_id(span.user_id)
        if user_id:
            return {"type": "user", "user_id": user_id}
        return {"type": "text", "text": "@" + span.text.lstrip("@")} if span.text else None
    if not span.text:
        return None
    if span.style is Style.LINK:
        url = safe_url(span.url)
        if url is not None:
            return {"type": "link", "url": url, "text": span.text}
        return {"type": "text", "text": span.text}
    element: JSONDict = {"type": "text", "text": span.text}
    style = {Style.BOLD: "bold", Style.ITALIC: "italic", Style.CODE: "code"}.get(span.style)
    if style:
        element["style"] = {style: True}
    return element


def _elements(block: Block) -> list[JSONDict]:
    return [e for e in (_element(span) for span in block.spans) if e is not None]


def rich_text(body: RichText) -> JSONDict | None:
    """One rich_text block: paragraphs as sections (lines joined by newlines), bullets as lists."""
    parts: list[JSONDict] = []
    paragraph: list[JSONDict] = []
    items: list[JSONDict] = []
    pending_newlines = 0

    def flush_paragraph() -> None:
        nonlocal paragraph, pending_newlines
        if paragraph:
            parts.append({"type": "rich_text_section", "elements": paragraph})
        paragraph, pending_newlines = [], 0

    def flush_items() -> None:
        nonlocal items
        if items:
            parts.append({"type": "rich_text_list", "style": "bullet", "elements": items})
        items = []

    for block in body.blocks:
        elements = _elements(block)
        if block.bullet:
            flush_paragraph()
            if elements:
                items.append({"type": "rich_text_section", "elements": elements})
            continue
        flush_items()
        if paragraph:
            pending_newlines += 1
        if elements:
            if pending_newlines:
                paragraph.append({"type": "text", "text": "\n" * pending_newlines})
                pending_newlines = 0
            paragraph.extend(elements)
    flush_paragraph()
    flush_items()
    return {"type": "rich_text", "elements": parts} if parts else None


# --------------------------------------------------------------------------- buttons


def action_id(action: str, row: int, column: int) -> str:
    """Slack wants action ids unique within a message: the position goes after a `#`."""
    return f"{action[: MAX_ACTION_ID - 8]}#{row}.{column}"


def action_of(slack_action_id: str) -> str:
    """The neutral action of an action id this adapter rendered (others pass unchanged)."""
    return ACTION_SUFFIX.sub("", slack_action_id)


def _button(button: Button, row: int, column: int) -> JSONDict:
    label = button.label.strip()[:MAX_BUTTON_LABEL] or "·"
    element: JSONDict = {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id(button.action, row, column),
    }
    if button.url:
        element["url"] = button.url
    if button.value:
        if len(button.value) > MAX_BUTTON_VALUE:
            log.warning("button value clipped", extra={"action": button.action[:64]})
        element["value"] = button.value[:MAX_BUTTON_VALUE]
    return element


def actions(buttons: Sequence[Sequence[Button]]) -> list[JSONDict]:
    blocks = []
    for r, row in enumerate(buttons[:MAX_BUTTON_ROWS]):
        elements = [_button(b, r, c) for c, b in enumerate(row[:MAX_BUTTONS_PER_ROW])]
        if elements:
            blocks.append({"type": "actions", "block_id": f"actions.{r}", "elements": elements})
    return blocks


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class SlackMessage:
    """One Slack message: the `text` fallback (mrkdwn) and the blocks."""

    text: str
    blocks: list[JSONDict]


def _split_block(block: Block, limit: int) -> list[Block]:
    """A block longer than `limit` characters, cut into pieces (between or inside spans)."""
    pieces: list[Block] = []
    current: list[Span] = []
    size = 0
    for span in block.spans:
        text = span.text
        while text:
            room = limit - size
            if room <= 0:
                pieces.append(Block(tuple(current), block.bullet))
                current, size = [], 0
                continue
            chunk, text = text[:room], text[room:]
            current.append(Span(chunk, span.style, span.url, span.user_id))
            size += len(chunk)
    if current:
        pieces.append(Block(tuple(current), block.bullet))
    return pieces


def split(body: RichText, limit: int = MAX_PART_CHARS) -> list[RichText]:
    """Cut a body into parts of at most `limit` characters, between paragraphs if possible."""
    parts: list[RichText] = []
    current: list[Block] = []
    size = 0
    for block in body.blocks:
        pieces = _split_block(block, limit) if len(block.plain()) > limit else [block]
        for piece in pieces:
            length = len(piece.plain()) + 1
            if current and size + length > limit:
                parts.append(RichText(tuple(current)))
                current, size = [], 0
            current.append(piece)
            size += length
    if current:
        parts.append(RichText(tuple(current)))
    return parts


def section_blocks(sections: Sequence[Section]) -> list[list[JSONDict]]:
    """Each section's blocks (its text, then its buttons), kept apart so that a caller short
    of room can leave whole sections out."""
    rendered = []
    for section in sections:
        blocks: list[JSONDict] = []
        body = rich_text(section.body)
        if body is not None:
            blocks.append(body)
        blocks.extend(actions(section.buttons))
        if blocks:
            rendered.append(blocks)
    return rendered


def fitting(groups: Sequence[Sequence[JSONDict]], room: int) -> list[JSONDict]:
    """The groups of blocks, in order, as long as they fit in `room` blocks."""
    blocks: list[JSONDict] = []
    for group in groups:
        if len(blocks) + len(group) > room:
            log.warning("blocks left out for lack of room", extra={"room": room})
            break
        blocks.extend(group)
    return blocks


def bounded(text: str, limit: int = MAX_FALLBACK_CHARS) -> str:
    """mrkdwn cut to at most `limit` characters, ending with an ellipsis when cut, and never
    inside an entity (`&amp;`) or a mention or link (`<@U123>`), which would break it."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    entity = cut.rfind("&")
    if entity != -1 and ";" not in cut[entity:]:
        cut = cut[:entity]
    angle = cut.rfind("<")
    if angle != -1 and ">" not in cut[angle:]:
        cut = cut[:angle]
    return cut + "…"


def compose(message: OutboundMessage, limit: int = MAX_PART_CHARS) -> list[SlackMessage]:
    """The Slack messages for one neutral message; buttons go with the last part."""
    if message.sections and len(mrkdwn(message.body)) <= limit:
        laid_out = fitting(section_blocks(message.sections), MAX_MESSAGE_BLOCKS)
        if laid_out:
            return [SlackMessage(text=bounded(mrkdwn(message.body)) or "·", blocks=laid_out)]
    bodies = split(message.body, limit) or [RichText()]
    button_blocks = actions(message.buttons)
    composed = []
    for i, body in enumerate(bodies):
        blocks: list[JSONDict] = []
        block = rich_text(body)
        if block is not None:
            blocks.append(block)
        text = mrkdwn(body)
        if i == len(bodies) - 1 and button_blocks:
            blocks.extend(button_blocks)
            if not text.strip():
                text = inert(" · ".join(b.label for row in message.buttons for b in row))
        if not blocks:
            continue
        composed.append(SlackMessage(text=bounded(text) if text.strip() else "·", blocks=blocks))
    return composed


# --------------------------------------------------------------------------- forms


def _plain(text: str, limit: int) -> JSONDict:
    return {"type": "plain_text", "text": (text.strip() or "·")[:limit], "emoji": True}


def _option(value: str, label: str) -> JSONDict:
    return {"text": _plain(label, MAX_OPTION_TEXT), "value": value[:MAX_OPTION_VALUE]}


def _form_element(field: FormField) -> JSONDict:
    initial = field.initial
    kind = field.kind
    if kind in (FieldKind.SHORT_TEXT, FieldKind.LONG_TEXT, FieldKind.OPTIONS):
        element: JSONDict = {
            "type": "plain_text_input",
            "action_id": field.name,
            "multiline": kind is not FieldKind.SHORT_TEXT,
            "max_length": min(field.max_length or MAX_INPUT, MAX_INPUT),
        }
        if isinstance(initial, str) and initial:
            element["initial_value"] = initial[:MAX_INPUT]
        return element
    if kind is FieldKind.DATE:
        element = {"type": "datepicker", "action_id": field.name}
        if isinstance(initial, str) and initial:
            element["initial_date"] = initial
        return element
    if kind is FieldKind.TIME:
        element = {"type": "timepicker", "action_id": field.name}
        if isinstance(initial, str) and initial:
            element["initial_time"] = initial
        return element
    if kind is FieldKind.CHECKBOX:
        options = [_option(o.value, o.label) for o in field.options[:MAX_CHECKBOXES]]
        element = {"type": "checkboxes", "action_id": field.name, "options": options}
        chosen = {initial} if isinstance(initial, str) else set(initial or ())
        selected = [o for o in options if o["value"] in chosen]
        if selected:
            element["initial_options"] = selected
        return element
    # A choice or a time zone: a menu Slack lets people filter by typing.
    options = [_option(o.value, o.label) for o in field.options[:MAX_SELECT_OPTIONS]]
    element = {"type": "static_select", "action_id": field.name, "options": options}
    match = next((o for o in options if o["value"] == initial), None)
    if match is not None:
        element["initial_option"] = match
    return element


def input_block(field: FormField) -> JSONDict:
    block: JSONDict = {
        "type": "input",
        "block_id": field.name,
        "optional": not field.required,
        "label": _plain(field.label, MAX_LABEL),
        "element": _form_element(field),
    }
    if field.hint:
        block["hint"] = _plain(field.hint, MAX_LABEL)
    return block


def modal(form: Form) -> JSONDict:
    """A form as a modal view; the conversation it is for travels in private_metadata."""
    kept = {"channel": form.conversation} if form.conversation else {}
    if form.context:
        kept["context"] = form.context
    metadata = json.dumps(kept) if kept else ""
    if len(metadata) > MAX_METADATA:
        metadata = json.dumps({"channel": form.conversation}) if form.conversation else ""
    return {
        "type": "modal",
        "callback_id": form.form_id[:MAX_CALLBACK_ID],
        "title": _plain(form.title, MAX_VIEW_TITLE),
        "submit": _plain(form.submit, MAX_VIEW_TITLE),
        "private_metadata": metadata,
        "blocks": [input_block(f) for f in form.fields[:MAX_VIEW_BLOCKS]],
    }
