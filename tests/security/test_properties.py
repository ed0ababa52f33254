"""Property-based tests: no input crashes the command parser, the feature parsers, the prompt
catalogue, the renderers or the core itself, and the renderers' guarantees hold for any text.

Examples are bounded (a few hundred per property, no deadline) so that the suite stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.console.adapter import render as console_render
from facilitator.commands.spec import (
    ArgKind,
    ArgumentError,
    CommandSpec,
    parse_args,
    split_command,
    tokenize,
)
from facilitator.domain.events import ButtonPressed, MessageReceived, Origin
from facilitator.domain.model import Platform, PlatformUser, Role
from facilitator.domain.text import printable
from facilitator.features.nudges.config import NudgeConfig
from facilitator.features.participation.summary import IsoWeek
from facilitator.features.polls.parsing import parse_poll
from facilitator.features.webinars.parsing import parse_webinar
from facilitator.i18n import SUPPORTED_LOCALES, Catalogue, placeholders
from facilitator.markup import Block, Button, OutboundMessage, RichText, Span, Style, from_markdown
from tests.conftest import REPO_ROOT, FrozenClock, Harness, harness_on, sqlite_with_tables
from tests.security.rendering import console_problems, slack_problems, telegram_problems
from tests.security.support import every_command

EXAMPLES = settings(max_examples=200, deadline=None)
CATALOGUE = Catalogue.load(REPO_ROOT / "prompts")
COMMANDS = list(every_command())
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)

# Any text, with the characters attackers like most drawn far more often than chance would.
NASTY = st.sampled_from(list("<>&*_~`'\"\\{}[]()|#@!/:\n\t \x00\x1b\u202e\u2066\u200b🙂"))
TEXT = st.lists(st.one_of(NASTY, st.characters()), max_size=300).map("".join)
# What a platform can hand the core: any text once events have made it printable.
INBOUND = TEXT.map(printable)


def _expected_type(kind: ArgKind) -> type:
    return {
        ArgKind.INT: int,
        ArgKind.DATE: date,
        ArgKind.ROLE: Role,
    }.get(kind, str)


@EXAMPLES
@given(st.sampled_from(COMMANDS), TEXT)
def test_parsing_any_text_gives_declared_values_or_an_explained_error(
    spec: CommandSpec, raw: str
) -> None:
    try:
        parsed = parse_args(spec, raw)
    except ArgumentError as error:
        for locale in SUPPORTED_LOCALES:  # the member is told what to fix, in any language
            values = {**error.values, "arg": "x"} if "arg" in error.values else error.values
            assert CATALOGUE.render(locale, error.key, **values).plain()
        return
    for arg in spec.args:
        value = getattr(parsed, arg.name)
        if value is None:
            assert not arg.required and not arg.repeat
            continue
        assert isinstance(value, tuple) == arg.repeat, (arg, value)
        for item in value if isinstance(value, tuple) else [value]:
            assert isinstance(item, _expected_type(arg.kind)), (arg, item)
            if isinstance(item, str):
                assert len(item) <= arg.max_length
            if arg.kind is ArgKind.CHOICE:
                assert item in arg.choices


@EXAMPLES
@given(TEXT)
def test_a_line_is_a_command_or_not_and_tokens_come_from_it(raw: str) -> None:
    found = split_command("/" + raw)
    if found is not None:
        name, _ = found
        assert name == name.lower() and len(name) <= 64
    with contextlib.suppress(ArgumentError):
        for token in tokenize(raw):
            assert token.text in raw


@EXAMPLES
@given(TEXT)
def test_feature_parsers_refuse_with_an_explained_error_only(raw: str) -> None:
    for parse in (parse_poll, parse_webinar):
        with contextlib.suppress(ArgumentError):
            parse(raw, NOW, "America/Santiago")
    with contextlib.suppress(ValueError):
        IsoWeek.parse(raw)
    for name in NudgeConfig.names():
        with contextlib.suppress(ValueError):
            NudgeConfig().with_value(name, raw[:20])


def _keys() -> list[str]:
    return sorted(CATALOGUE.messages["en"])


@EXAMPLES
@given(st.sampled_from(_keys()), st.sampled_from(SUPPORTED_LOCALES), INBOUND)
@example("core.welcome", "en", "\u202eevil")  # a right-to-left override in a name
@example("kb.added", "es", "\u2067x\u202b\n\u202dy")
def test_a_value_in_a_prompt_stays_literal_text(key: str, locale: str, value: str) -> None:
    names = placeholders(CATALOGUE.template(locale, key, 2)) - {"count"}
    benign = CATALOGUE.render(locale, key, count=2, **dict.fromkeys(names, "v"))
    hostile = CATALOGUE.render(locale, key, count=2, **dict.fromkeys(names, value))

    def styles(text: RichText) -> list[tuple[Style, bool]]:
        return [(s.style, b.bullet) for b in text.blocks for s in b.spans if s.text]

    # The value cannot add or remove a paragraph, a bullet or a style, and shows as typed.
    assert len(hostile.blocks) == len(benign.blocks)
    if value:
        assert styles(hostile) == styles(benign)
    if names:
        assert value in hostile.plain()
    # Nor can it reverse the text that follows it (bidi embeddings, overrides, isolates).
    assert _open_bidi(benign.plain()) == _open_bidi(hostile.plain()) == 0


_EMBEDDINGS, _ISOLATES = "\u202a\u202b\u202d\u202e", "\u2066\u2067\u2068"


def _open_bidi(text: str) -> int:
    """Bidi embeddings, overrides and isolates still open at the end of `text` (a line break
    ends them all, as in Unicode's bidirectional algorithm)."""
    stack: list[str] = []
    for char in text:
        if char == "\n":
            stack.clear()
        elif char in _EMBEDDINGS or char in _ISOLATES:
            stack.append(char)
        elif char == "\u202c" and stack and stack[-1] in _EMBEDDINGS:
            stack.pop()
        elif char == "\u2069" and any(c in _ISOLATES for c in stack):
            while stack.pop() not in _ISOLATES:
                pass
    return len(stack)


SPANS = st.builds(
    Span,
    text=INBOUND,
    style=st.sampled_from(list(Style)),
    url=st.one_of(st.none(), INBOUND, st.just("https://example.org/a?b=<c>&d|e")),
    user_id=st.one_of(st.none(), TEXT, st.sampled_from(["U0ABC123", "42", "-1001"])),
)
BODIES = st.lists(
    st.builds(Block, spans=st.lists(SPANS, max_size=4).map(tuple), bullet=st.booleans()),
    max_size=6,
).map(lambda blocks: RichText(tuple(blocks)))
BUTTONS = st.lists(
    st.lists(st.builds(Button, label=INBOUND, action=TEXT, value=TEXT), max_size=3).map(tuple),
    max_size=3,
).map(tuple)


@EXAMPLES
@given(BODIES, BUTTONS)
def test_renderers_show_any_message_exactly_and_safely(
    body: RichText, buttons: tuple[tuple[Button, ...], ...]
) -> None:
    message = OutboundMessage(body, buttons=buttons)
    assert telegram_problems(body) == []
    assert slack_problems(message) == []
    assert console_problems(body) == []


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=5), st.sampled_from(["a", "é", "🙂", "&", "<"]))
def test_renderers_split_a_huge_message_within_the_limits(thousands: int, unit: str) -> None:
    body = RichText((Block((Span(unit * 1000 * thousands + "end", Style.BOLD),)),))
    assert telegram_problems(body) == []
    assert slack_problems(OutboundMessage(body)) == []


@EXAMPLES
@given(INBOUND)
def test_markdown_from_the_repository_keeps_its_words(text: str) -> None:
    rendered = from_markdown(text)
    assert console_render(rendered) is not None

    def words(found: str) -> str:
        return "".join(c for c in found if c not in "*#-• " and not c.isspace())

    assert words(rendered.plain()) == words(text)


@EXAMPLES
@given(TEXT)
def test_printable_text_has_no_control_character(text: str) -> None:
    kept = printable(text)
    assert not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in kept)
    assert printable(kept) == kept


# -- the core itself ----------------------------------------------------------------------------


@contextlib.contextmanager
def _core(tmp_path: Path) -> Iterator[tuple[asyncio.AbstractEventLoop, Harness]]:
    """A harness on its own loop, so that hypothesis can drive it from a plain test."""
    loop = asyncio.new_event_loop()
    manager = harness_on(sqlite_with_tables(tmp_path / "fuzz.db"), FrozenClock())
    harness = loop.run_until_complete(manager.__aenter__())
    try:
        loop.run_until_complete(harness.grant("olga", Role.ADMIN))
        loop.run_until_complete(harness.say('/poll "Lunch?" Yes No', user="olga"))
        loop.run_until_complete(harness.say('/webinar add "Plans" 2026-11-03 15:00', user="olga"))
        loop.run_until_complete(harness.say('/faq add "How?" "Like this."', user="olga"))
        yield loop, harness
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()


def _origin(harness: Harness, n: int, user: str) -> Origin:
    return Origin(
        platform=Platform.CONSOLE,
        event_id=f"fuzz:{n}",
        chat_id="demo",
        user=PlatformUser(Platform.CONSOLE, user, user.title(), "en"),
        occurred_at=harness.clock.now(),
        message_id=f"fuzz:{n}",
    )


FUZZ = settings(max_examples=150, deadline=None)


def test_any_command_line_from_an_admin_is_handled_without_failing(tmp_path: Path) -> None:
    names = [spec.path.replace(".", " ") for spec in COMMANDS]
    counter = itertools.count()
    with _core(tmp_path) as (loop, harness):

        @FUZZ
        @given(st.sampled_from(names), TEXT)
        @example("nudges approve", "\u2070")  # a superscript zero is a digit to isdigit()
        def run(name: str, raw: str) -> None:
            event = MessageReceived(_origin(harness, next(counter), "olga"), f"/{name} {raw}")
            loop.run_until_complete(harness.dispatch(event))

        run()


@pytest.mark.parametrize("value_kind", ["digits", "any"])
def test_any_button_press_is_handled_without_failing(tmp_path: Path, value_kind: str) -> None:
    counter = itertools.count()
    numbers = st.one_of(
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=30),
    )
    values = st.one_of(numbers, st.tuples(numbers, TEXT).map(":".join))
    with _core(tmp_path) as (loop, harness):
        actions = sorted(harness.app.services.buttons)

        @FUZZ
        @given(st.sampled_from(actions), values if value_kind == "digits" else TEXT)
        @example("poll_vote", "\u2070:0")
        @example("webinar_rsvp", "9223372036854775808:going")  # past a 64-bit integer
        def run(action: str, value: str) -> None:
            event = ButtonPressed(_origin(harness, next(counter), "carla"), action, value)
            loop.run_until_complete(harness.dispatch(event))

        run()
