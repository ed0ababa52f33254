"""What every rendering of a message must satisfy, whatever text it carries: Telegram HTML that
parses and shows exactly the message's text within Telegram's length limits, Slack blocks and
mrkdwn where no value becomes markup, a mention, a broadcast or a link, and console text that
cannot drive the terminal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

from adapters.console.adapter import render as console_render
from adapters.slack.render import compose, safe_url, slack_user_id
from adapters.telegram.render import MAX_TEXT, keyboard, render_chunks, utf16_len
from facilitator.markup import OutboundMessage, RichText, Span, Style

SLACK_MAX_TEXT = 40_000  # Slack truncates a message's text beyond this
SLACK_MAX_BLOCKS = 50
SLACK_MAX_BUTTON_LABEL = 75
SLACK_MAX_BUTTON_VALUE = 2000
_TELEGRAM_TAGS = {"b", "i", "code", "a"}
_LINK_SCHEMES = ("http://", "https://", "tg://", "mailto:")
# What Slack's rich_text may carry from us: structure, literal text, and (only from a link or
# mention span) links and user mentions. Never a broadcast, a user group or a channel.
_SLACK_TYPES = {"rich_text", "rich_text_section", "rich_text_list", "text", "actions", "button"}
# Characters that move a terminal's cursor, colour or title when printed.
_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def squeeze(text: str) -> str:
    """Text without white space: splitting a message may move or drop blank lines."""
    return "".join(text.split())


class _StrictHTML(HTMLParser):
    """The HTML our Telegram renderer may produce: b, i, code and a href, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        if tag not in _TELEGRAM_TAGS or names != (["href"] if tag == "a" else []):
            self.errors.append(f"tag <{tag} {attrs}>")
        elif tag == "a" and not str(attrs[0][1]).lower().startswith(_LINK_SCHEMES):
            self.errors.append(f"link to {attrs[0][1]!r}")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"self-closing <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.errors.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.errors.append("declaration")

    def handle_pi(self, data: str) -> None:
        self.errors.append("processing instruction")

    def unknown_decl(self, data: str) -> None:
        self.errors.append("unknown declaration")


def telegram_problems(body: RichText, limit: int = MAX_TEXT) -> list[str]:
    problems, visible = [], []
    for chunk in render_chunks(body, limit):
        parser = _StrictHTML()
        parser.feed(chunk)
        parser.close()
        shown = "".join(parser.text)
        problems += [f"telegram: {e}" for e in parser.errors]
        if parser.stack:
            problems.append(f"telegram: unclosed {parser.stack}")
        if utf16_len(shown) > limit:
            problems.append(f"telegram: {utf16_len(shown)} characters in one message")
        visible.append(shown)
    if squeeze("".join(visible)) != squeeze(_telegram_plain(body)):
        problems.append("telegram: the text shown is not the message's text")
    return problems


def _telegram_plain(body: RichText) -> str:
    return "\n".join(("• " if b.bullet else "") + b.plain() for b in body.blocks)


def _elements(block: Any) -> Iterator[dict[str, Any]]:
    """Every Block Kit element (a dict with a type) inside `block`."""
    if isinstance(block, dict):
        if "type" in block:
            yield block
        for value in block.values():
            yield from _elements(value)
    elif isinstance(block, list):
        for value in block:
            yield from _elements(value)


def _slack_text(block: Any) -> str:
    return "".join(
        str(e.get("text", "")) for e in _elements(block) if e.get("type") in ("text", "link")
    )


def _slack_shown(span: Span) -> str:
    """The text a span shows in Slack: a mention without a Slack user id is `@name`."""
    if span.style is Style.MENTION and span.text:
        return "@" + span.text.lstrip("@")
    return span.text


def slack_problems(message: OutboundMessage) -> list[str]:
    spans = [s for b in message.body.blocks for s in b.spans]
    links = any(s.style is Style.LINK and safe_url(s.url) for s in spans)
    mentions = any(s.style is Style.MENTION and slack_user_id(s.user_id) for s in spans)
    problems = []
    parts = compose(message)
    shown = ""
    for part in parts:
        text = part.text
        if len(text) > SLACK_MAX_TEXT or len(part.blocks) > SLACK_MAX_BLOCKS:
            problems.append(f"slack: {len(text)} characters, {len(part.blocks)} blocks")
        ours = re.sub(r"<(?:https?|mailto):[^<>|]*(?:\|[^<>]*)?>", "", text) if links else text
        ours = re.sub(r"<@[UWB][A-Z0-9]+>", "", ours) if mentions else ours
        if "<" in ours or ">" in ours or "&" in re.sub(r"&(?:amp|lt|gt);", "", ours):
            problems.append(f"slack: unescaped markup in the text {text[:80]!r}")
        for element in _elements(part.blocks):
            kind = element.get("type")
            allowed = (
                kind in _SLACK_TYPES
                or (kind == "plain_text" and element.get("text"))
                or (kind == "link" and links)
                or (kind == "user" and mentions)
            )
            if not allowed:
                problems.append(f"slack: a {kind} element")
            if kind == "button":
                label = element["text"]["text"]
                if len(label) > SLACK_MAX_BUTTON_LABEL:
                    problems.append("slack: a button label over 75 characters")
                if len(element.get("value", "")) > SLACK_MAX_BUTTON_VALUE:
                    problems.append("slack: a button value over 2000 characters")
        shown += "".join(_slack_text(b) for b in part.blocks if b.get("type") == "rich_text")
    expected = "".join(_slack_shown(span) for span in spans)
    if not mentions and squeeze(shown) != squeeze(expected):
        problems.append("slack: the text shown is not the message's text")
    return problems


def console_problems(body: RichText) -> list[str]:
    shown = console_render(body)
    found = sorted(set(_TERMINAL_CONTROL.findall(shown)))
    return [f"console: terminal control characters {found!r}"] if found else []


def render_problems(message: OutboundMessage) -> list[str]:
    """Every rendering of `message` checked; an empty list when all is well."""
    problems = telegram_problems(message.body) + slack_problems(message)
    problems += console_problems(message.body)
    if message.buttons and keyboard(message.buttons) is None:
        problems.append("telegram: every button dropped")
    return problems
