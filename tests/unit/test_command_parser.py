"""The command parser shared by every platform."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facilitator.bootstrap import build_registry
from facilitator.commands.spec import (
    Arg,
    ArgKind,
    ArgumentError,
    CommandSpec,
    parse_args,
    split_command,
    tokenize,
)
from facilitator.domain.model import Role


@dataclass(frozen=True)
class PollishArgs:
    question: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class DatedArgs:
    day: date
    n: int | None


@dataclass(frozen=True)
class FreeArgs:
    theme: str
    text: str


POLLISH = CommandSpec(
    "poll",
    None,
    PollishArgs,
    args=(Arg("question", max_length=300), Arg("options", repeat=True, max_length=100)),
)
DATED = CommandSpec(
    "when", None, DatedArgs, args=(Arg("day", ArgKind.DATE), Arg("n", ArgKind.INT, False))
)
FREE = CommandSpec(
    "ask",
    None,
    FreeArgs,
    args=(
        Arg("theme", ArgKind.CHOICE, choices=("a", "b")),
        Arg("text", ArgKind.TEXT, max_length=50),
    ),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/help", ("help", "")),
        ("/faq@facilitator_bot visa rules", ("faq", "visa rules")),
        ("/FAQ  quoted  ", ("faq", "quoted")),
        ("hello /help", None),
        ("/", None),
        ("/he-lp", None),
    ],
)
def test_split_command_reads_name_and_arguments(
    text: str, expected: tuple[str, str] | None
) -> None:
    assert split_command(text) == expected


def test_quoted_phrases_stay_together() -> None:
    args = parse_args(POLLISH, '"Which day?" "Monday morning" “Tuesday” Friday')
    assert args == PollishArgs(
        question="Which day?", options=("Monday morning", "Tuesday", "Friday")
    )


def test_unclosed_quote_is_reported() -> None:
    with pytest.raises(ArgumentError) as raised:
        parse_args(POLLISH, '"Which day? Monday')
    assert raised.value.key == "errors.unbalanced_quotes"


def test_typed_arguments_are_converted_or_explained() -> None:
    assert parse_args(DATED, "2026-12-03 4") == DatedArgs(day=date(2026, 12, 3), n=4)
    assert parse_args(DATED, "2026-12-03") == DatedArgs(day=date(2026, 12, 3), n=None)
    with pytest.raises(ArgumentError) as bad_date:
        parse_args(DATED, "03/12/2026")
    with pytest.raises(ArgumentError) as bad_int:
        parse_args(DATED, "2026-12-03 four")
    with pytest.raises(ArgumentError) as extra:
        parse_args(DATED, "2026-12-03 4 5")
    assert bad_date.value.key == "errors.not_a_date"
    assert bad_int.value.key == "errors.not_a_number"
    assert extra.value.key == "errors.unexpected_argument"


def test_free_text_keeps_what_was_typed_and_is_bounded() -> None:
    assert parse_args(FREE, 'a  what is "CoP"?') == FreeArgs(theme="a", text='what is "CoP"?')
    with pytest.raises(ArgumentError) as long:
        parse_args(FREE, "a " + "x" * 51)
    with pytest.raises(ArgumentError) as missing:
        parse_args(FREE, "b")
    assert long.value.key == "errors.argument_too_long"
    assert missing.value.key == "errors.missing_argument"


def test_tokenizer_reports_positions() -> None:
    tokens = tokenize('ab "c d" e')
    assert [(t.text, t.start, t.end) for t in tokens] == [
        ("ab", 0, 2),
        ("c d", 3, 8),
        ("e", 9, 10),
    ]


def test_every_declared_command_name_fits_both_platforms() -> None:
    names = [spec.name for spec in build_registry().all()]
    assert len(names) == len(set(names))
    for spec in build_registry().all():
        assert spec.role in Role


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_no_input_crashes_the_parser(raw: str) -> None:
    for spec in [*build_registry().all(), POLLISH, DATED, FREE]:
        with contextlib.suppress(ArgumentError):
            parse_args(spec, raw)
    split_command("/" + raw)
