"""Numbers in what the bot says are written as each language writes them (CLDR, via Babel)."""

from __future__ import annotations

import pytest

from facilitator.i18n import Catalogue, format_number, format_percent

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("locale", "thousands", "decimal"),
    [("en", "1,234", "12.5"), ("es", "1.234", "12,5"), ("pt", "1.234", "12,5")],
)
def test_numbers_use_the_languages_separators(locale: str, thousands: str, decimal: str) -> None:
    assert format_number(locale, 1234) == thousands
    assert format_number(locale, 12.5) == decimal
    assert format_number(locale, 999) == "999"


@pytest.mark.parametrize(
    ("locale", "whole", "half"),
    [("en", "12%", "50%"), ("es", f"12{NBSP}%", f"50{NBSP}%"), ("pt", "12%", "50%")],
)
def test_percentages_are_whole_and_placed_as_the_language_places_them(
    locale: str, whole: str, half: str
) -> None:
    # 12.5% rounds to the even neighbour, as Python's round() did before.
    assert format_percent(locale, 0.125) == whole
    assert format_percent(locale, 0.5) == half


def test_portuguese_follows_brazil_and_an_unknown_language_follows_english() -> None:
    assert format_number("pt", 1234567.5) == "1.234.567,5"
    assert format_number("xx", 1234567.5) == "1,234,567.5"


@pytest.fixture
def catalogue() -> Catalogue:
    line = "- {option}: {count} ({percent}), poll #{id}, open: {open}"
    return Catalogue({locale: {"t.line": line} for locale in ("en", "es", "pt")})


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "- A: 1,234 (50%), poll #1234, open: True"),
        ("es", f"- A: 1.234 (50{NBSP}%), poll #1234, open: True"),
        ("pt", "- A: 1.234 (50%), poll #1234, open: True"),
    ],
)
def test_a_prompts_numbers_are_formatted_but_ids_and_flags_are_not(
    catalogue: Catalogue, locale: str, expected: str
) -> None:
    values = {"option": "A", "count": 1234, "percent": format_percent(locale, 0.5)}
    rendered = catalogue.render(locale, "t.line", **values, id=1234, open=True).plain()
    assert rendered == "• " + expected[2:]
    assert catalogue.text(locale, "t.line", **values, id=1234, open=True) == expected
