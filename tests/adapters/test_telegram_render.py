"""Rendering neutral messages as Telegram HTML: escaped values, styles, splitting, buttons."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from telegram import Bot
from telegram.constants import ParseMode

from adapters.telegram.adapter import quiet_token_loggers
from adapters.telegram.render import (
    MAX_TEXT,
    callback_data,
    keyboard,
    parse_callback_data,
    render_chunks,
    render_html,
    utf16_len,
)
from facilitator.i18n import Catalogue
from facilitator.markup import Block, Button, RichText, Span, Style
from tests.adapters.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI

CATALOGUE = Catalogue.load(Path(__file__).resolve().parents[2] / "prompts")
HOSTILE = ["<b>x</b>", "**bold**", "a & b", "@here", "`code`", "</a><script>", '"quoted"']


@pytest.fixture(autouse=True)
def _quiet_token_loggers() -> None:
    # These tests build PTB bots directly; the adapter quiets PTB's loggers when it builds one.
    quiet_token_loggers()


@pytest.mark.parametrize("hostile", HOSTILE)
def test_user_values_are_escaped_and_never_become_markup(hostile: str) -> None:
    body = CATALOGUE.render("en", "core.start.greeting", name=hostile, community="A & B")

    rendered = render_html(body)

    assert rendered.startswith("Hello, <b>")
    assert "<script>" not in rendered and "<b>x</b>" not in rendered
    assert "A &amp; B" in rendered


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_telegram_shows_hostile_values_literally(
    fake_telegram: FakeTelegramAPI, hostile: str
) -> None:
    body = CATALOGUE.render("en", "core.welcome", name=hostile, community=hostile)

    async with Bot(DEFAULT_TOKEN, base_url=fake_telegram.base_url) as bot:
        sent = await bot.send_message(-4001, render_html(body), parse_mode=ParseMode.HTML)

    assert sent.text == body.plain()  # what people read is exactly the neutral text
    assert {e.type for e in sent.entities} == {"bold"}


def test_styles_become_tags_and_bullets_become_dots() -> None:
    body = RichText(
        (
            Block((Span("Title", Style.BOLD), Span(" and "), Span("more", Style.ITALIC))),
            Block((Span("/faq visa", Style.CODE),), bullet=True),
            Block((Span("docs", Style.LINK, url="https://example.org/a?b=1&c=2"),)),
            Block((Span("Ana", Style.MENTION, user_id="42"),)),
            Block((Span("bad link", Style.LINK, url="javascript:alert(1)"),)),
        )
    )

    assert render_html(body).split("\n") == [
        "<b>Title</b> and <i>more</i>",
        "• <code>/faq visa</code>",
        '<a href="https://example.org/a?b=1&amp;c=2">docs</a>',
        '<a href="tg://user?id=42">Ana</a>',
        "bad link",
    ]


@pytest.mark.parametrize("user_id", ["²", "١٢", "12a", "-", "4 2", ""])
def test_a_mention_whose_id_is_not_ascii_digits_is_plain_text(user_id: str) -> None:
    body = RichText((Block((Span("<Ana>", Style.MENTION, user_id=user_id),)),))
    assert render_html(body) == "&lt;Ana&gt;"


def _paragraph(text: str) -> tuple[Block, ...]:
    return (Block((Span(text),)), Block((Span(""),)))


def test_long_messages_split_at_paragraphs_then_lines_then_anywhere() -> None:
    paragraph = "p" * 3000
    body = RichText(_paragraph(paragraph) + _paragraph("q" * 3000) + _paragraph("r" * 100))

    chunks = render_chunks(body)

    assert chunks == ["p" * 3000, "q" * 3000 + "\n\n" + "r" * 100]
    lines = RichText(tuple(Block((Span(f"line {n:04d} " + "x" * 90),)) for n in range(100)))
    by_line = render_chunks(lines)
    assert len(by_line) == 3
    assert all(not c.startswith("\n") and not c.endswith("\n") for c in by_line)
    assert "\n".join(by_line) == render_html(lines)
    huge = RichText((Block((Span("<" * 5000, Style.BOLD),)),))
    hard = render_chunks(huge)
    assert [c.count("&lt;") for c in hard] == [MAX_TEXT, 5000 - MAX_TEXT]
    assert all(c.startswith("<b>") and c.endswith("</b>") for c in hard)


def test_splitting_counts_utf16_units_and_never_cuts_an_emoji_in_half() -> None:
    body = RichText((Block((Span("😀" * 3000),)),))  # 6000 UTF-16 units

    chunks = render_chunks(body)

    assert [utf16_len(c) for c in chunks] == [4096, 6000 - 4096]
    assert "".join(chunks) == "😀" * 3000


async def test_each_part_of_a_long_message_is_accepted_by_telegram(
    fake_telegram: FakeTelegramAPI,
) -> None:
    body = RichText(
        tuple(Block((Span(f"{n} & <{n}> ", Style.BOLD), Span("é" * 300))) for n in range(40))
    )

    async with Bot(DEFAULT_TOKEN, base_url=fake_telegram.base_url) as bot:
        texts = [
            (await bot.send_message(42, chunk, parse_mode=ParseMode.HTML)).text
            for chunk in render_chunks(body)
        ]

    assert len(texts) > 1
    assert "\n".join(t or "" for t in texts) == body.plain()


def test_callback_data_round_trips_action_and_value() -> None:
    data = callback_data(Button("Yes", "kb_show", "faq:visa|2"))

    assert data == "kb_show|faq:visa|2"
    assert parse_callback_data(data) == ("kb_show", "faq:visa|2")
    assert parse_callback_data("*") == ("*", "")
    assert callback_data(Button("No value", "done")) == "done"


@pytest.mark.expected_errors
def test_buttons_whose_data_does_not_fit_64_bytes_are_dropped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = (
        (Button("ok", "vote", "a"), Button("too long", "vote", "é" * 40)),
        (Button("bad action", "a|b", "c"),),
    )

    with caplog.at_level(logging.ERROR):
        markup = keyboard(rows)

    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [["ok"]]
    assert len([r for r in caplog.records if "button dropped" in r.getMessage()]) == 2
    assert keyboard(((Button("x", "y" * 65),),)) is None
