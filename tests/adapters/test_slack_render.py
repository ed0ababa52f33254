"""Rendering for Slack: user values never become markup, mentions or links."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.slack import home, render
from facilitator.bootstrap import build_registry
from facilitator.i18n import Catalogue
from facilitator.markup import (
    Block,
    Button,
    FieldKind,
    FieldOption,
    Form,
    FormField,
    OutboundMessage,
    RichText,
    Section,
    Span,
    Style,
)
from tests.conftest import REPO_ROOT

CATALOGUE = Catalogue.load(REPO_ROOT / "prompts")
HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "*bold*",
    "_it_",
    "~x~",
    "`c`",
    "a & b",
    "<@U123>",
    "<#C123|general>",
    "<https://evil.example|click>",
]


def _text_elements(block: dict[str, object]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") in {"text", "link", "user"}:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(block)
    return found


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_value_is_literal_text_in_the_rich_text_block(hostile: str) -> None:
    body = CATALOGUE.render("en", "core.start.greeting", name=hostile, community="c")

    [message] = render.compose(OutboundMessage(body))

    [block] = message.blocks
    elements = _text_elements(block)
    assert {"type": "text", "text": hostile, "style": {"bold": True}} in elements
    assert all(e["type"] == "text" for e in elements)  # no user, link or broadcast element
    assert "mrkdwn" not in json.dumps(message.blocks)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_value_cannot_format_mention_or_link_in_the_mrkdwn_fallback(
    hostile: str,
) -> None:
    body = RichText((Block((Span("Hi "), Span(hostile), Span(" and "), Span("you", Style.BOLD))),))

    text = render.mrkdwn(body)

    value = text[len("Hi ") : -len(" and *you*")]
    assert text.endswith(" and *you*")
    assert value == render.inert(hostile)
    for forbidden in ("<", ">", "*", "_", "`", "~"):
        assert forbidden not in value
    if "&" in hostile:
        assert "&amp;" in value


def test_mrkdwn_escapes_ampersand_and_angle_brackets() -> None:
    text = render.mrkdwn(RichText.of("<!channel> & <@U123> <#C1>"))

    assert text == "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;#C1&gt;"


def test_markers_inside_words_stay_as_typed_and_markers_at_edges_become_inert() -> None:
    assert render.inert("snake_case_name 2*3") == "snake_case_name 2*3"
    assert render.inert("*bold*") == "\u2217bold\u2217"
    assert render.inert("_x_ ~y~ `z`") == "\u02cdx\u02cd \u223cy\u223c \u02cbz\u02cb"


def test_styles_come_only_from_spans() -> None:
    body = RichText(
        (
            Block(
                (
                    Span("b ", Style.BOLD),
                    Span("i", Style.ITALIC),
                    Span(" "),
                    Span("x`y", Style.CODE),
                    Span(" "),
                    Span("site", Style.LINK, url="https://example.org/a|b"),
                    Span(" "),
                    Span("Ana", Style.MENTION, user_id="U0ANA"),
                    Span(" "),
                    Span("Bob", Style.MENTION, user_id="12345"),
                )
            ),
        )
    )

    assert render.mrkdwn(body) == (
        "*b* _i_ `x\u02cby` <https://example.org/a%7Cb|site> <@U0ANA> @Bob"
    )
    [block] = render.compose(OutboundMessage(body))[0].blocks
    elements = _text_elements(block)
    assert {"type": "text", "text": "b ", "style": {"bold": True}} in elements
    assert {"type": "text", "text": "i", "style": {"italic": True}} in elements
    assert {"type": "text", "text": "x`y", "style": {"code": True}} in elements
    assert {"type": "link", "url": "https://example.org/a%7Cb", "text": "site"} in elements
    assert {"type": "user", "user_id": "U0ANA"} in elements
    assert {"type": "text", "text": "@Bob"} in elements


def test_a_link_with_an_unsafe_scheme_is_plain_text() -> None:
    body = RichText((Block((Span("run me", Style.LINK, url="javascript:alert(1)"),)),))

    assert render.mrkdwn(body) == "run me"
    [block] = render.compose(OutboundMessage(body))[0].blocks
    assert _text_elements(block) == [{"type": "text", "text": "run me"}]


def test_bullets_become_a_list_and_paragraphs_are_separated_by_newlines() -> None:
    body = RichText(
        (
            Block((Span("Title", Style.BOLD),)),
            Block((Span("line two"),)),
            Block((Span("one"),), bullet=True),
            Block((Span("two"),), bullet=True),
            Block((Span("after"),)),
        )
    )

    [block] = render.compose(OutboundMessage(body))[0].blocks

    assert [part["type"] for part in block["elements"]] == [
        "rich_text_section",
        "rich_text_list",
        "rich_text_section",
    ]
    assert block["elements"][0]["elements"][1] == {"type": "text", "text": "\n"}
    assert block["elements"][1]["style"] == "bullet"
    assert len(block["elements"][1]["elements"]) == 2
    assert render.mrkdwn(body) == "*Title*\nline two\n• one\n• two\nafter"


def test_buttons_become_an_actions_block_with_unique_action_ids() -> None:
    message = OutboundMessage(
        RichText.of("Vote"),
        buttons=((Button("Yes", "poll.vote", "1"), Button("No", "poll.vote", "2")),),
    )

    [composed] = render.compose(message)

    actions = composed.blocks[-1]
    assert actions["type"] == "actions"
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == ["poll.vote#0.0", "poll.vote#0.1"]
    assert [render.action_of(i) for i in ids] == ["poll.vote", "poll.vote"]
    assert [e["value"] for e in actions["elements"]] == ["1", "2"]
    assert render.action_of("a") == "a"


def test_a_link_button_carries_its_address() -> None:
    message = OutboundMessage(
        RichText.of("Go"), buttons=((Button("Open", "", url="https://example.org/x"),),)
    )

    [composed] = render.compose(message)

    [element] = composed.blocks[-1]["elements"]
    assert element["url"] == "https://example.org/x"
    assert element["text"]["text"] == "Open"


def test_a_long_body_is_split_into_several_messages_with_buttons_on_the_last() -> None:
    lines = "\n".join(f"line {i} " + "x" * 90 for i in range(100))
    message = OutboundMessage(RichText.of(lines), buttons=((Button("Ok", "ok"),),))

    parts = render.compose(message)

    assert len(parts) > 1
    assert all(len(p.text) <= render.MAX_PART_CHARS + 100 for p in parts)
    assert all(p.blocks[-1]["type"] != "actions" for p in parts[:-1])
    assert parts[-1].blocks[-1]["type"] == "actions"
    assert "\n".join(p.text for p in parts) == render.mrkdwn(RichText.of(lines))


def test_a_single_overlong_paragraph_is_cut_inside() -> None:
    parts = render.compose(OutboundMessage(RichText.of("y" * 7000)))

    assert [len(p.text) for p in parts] == [3000, 3000, 1000]


def test_inbound_entities_are_undone() -> None:
    assert render.unescape("a &amp;lt; b &lt;c&gt;") == "a &lt; b <c>"


# --------------------------------------------------------------------------- forms, Home tab


def _field(kind: FieldKind, **extra: Any) -> FormField:
    return FormField(name=kind.value, kind=kind, label=f"{kind.value} label", **extra)


def test_a_form_becomes_a_modal_with_one_input_per_field() -> None:
    zones = tuple(FieldOption(f"Zone/{n}", f"Zone/{n}") for n in range(120))
    form = Form(
        form_id="form:x",
        title="A title longer than twenty-four characters",
        submit="Send",
        conversation="C0ONE",
        fields=(
            _field(FieldKind.SHORT_TEXT, max_length=300, initial="<!channel>"),
            _field(FieldKind.LONG_TEXT, max_length=9000, hint="One per line"),
            _field(FieldKind.OPTIONS, required=False),
            _field(FieldKind.DATE, initial="2026-12-03"),
            _field(FieldKind.TIME, required=False),
            _field(FieldKind.TIMEZONE, initial="Zone/7", options=zones),
            _field(
                FieldKind.CHECKBOX,
                required=False,
                initial=("b",),
                options=(FieldOption("a", "A" * 100), FieldOption("b", "B")),
            ),
        ),
    )

    view = render.modal(form)

    assert view["callback_id"] == "form:x" and len(view["title"]["text"]) == 24
    assert json.loads(view["private_metadata"]) == {"channel": "C0ONE"}
    inputs = {b["block_id"]: b for b in view["blocks"]}
    assert all(b["type"] == "input" and b["element"]["action_id"] == k for k, b in inputs.items())
    short, long_ = inputs["short_text"]["element"], inputs["long_text"]["element"]
    assert (short["multiline"], short["max_length"], short["initial_value"]) == (
        False,
        300,
        "<!channel>",  # plain_text: Slack shows it as typed
    )
    assert (long_["multiline"], long_["max_length"]) == (True, 3000)
    assert inputs["long_text"]["hint"]["text"] == "One per line"
    assert inputs["options"]["optional"] is True and inputs["date"]["optional"] is False
    assert inputs["date"]["element"] == {
        "type": "datepicker",
        "action_id": "date",
        "initial_date": "2026-12-03",
    }
    assert inputs["time"]["element"]["type"] == "timepicker"
    menu = inputs["timezone"]["element"]
    assert menu["type"] == "static_select" and len(menu["options"]) == 100
    assert menu["initial_option"]["value"] == "Zone/7"
    boxes = inputs["checkbox"]["element"]
    assert [len(o["text"]["text"]) for o in boxes["options"]] == [75, 1]
    assert [o["value"] for o in boxes["initial_options"]] == ["b"]


@pytest.mark.parametrize("locale", ["en", "es", "pt"])
def test_every_form_title_and_button_fits_a_modal_in_every_language(locale: str) -> None:
    for top in build_registry().all():
        for spec in (top, *top.subcommands):
            if spec.form is not None:
                for key in (spec.form.title_key, spec.form.submit_key):
                    assert len(CATALOGUE.text(locale, key)) <= render.MAX_VIEW_TITLE, key


def test_a_home_tab_keeps_whole_sections_within_100_blocks_and_the_footer_last() -> None:
    sections = [
        Section(RichText.of(f"item {n}"), ((Button(f"vote {n}", "poll_vote", f"{n}:0"),),))
        for n in range(80)
    ]

    view = home.home_view(OutboundMessage.of_sections(sections), "how commands work")

    blocks = view["blocks"]
    assert len(blocks) == 100
    assert [b["type"] for b in blocks[-3:]] == ["actions", "divider", "context"]
    assert [b["type"] for b in blocks[:-2]] == ["rich_text", "actions"] * 49


def test_a_message_in_sections_puts_each_sections_buttons_under_its_text() -> None:
    message = OutboundMessage.of_sections(
        [
            Section(RichText.of("Poll one"), ((Button("Yes", "poll_vote", "1:0"),),)),
            Section(RichText.of("Poll two"), ((Button("No", "poll_vote", "2:1"),),)),
        ]
    )

    [part] = render.compose(message)

    assert [b["type"] for b in part.blocks] == ["rich_text", "actions", "rich_text", "actions"]
    assert part.blocks[3]["elements"][0]["value"] == "2:1"
    assert part.text == "Poll one\nPoll two"


def test_a_cut_fallback_never_ends_inside_an_entity_or_a_mention() -> None:
    mention = "a" * 3990 + "<@U0BRUNO> done"
    entity = "b" * 3997 + "&amp; done"

    assert render.bounded(mention) == "a" * 3990 + "…"
    assert render.bounded(entity) == "b" * 3997 + "…"
    assert render.bounded("short") == "short"
