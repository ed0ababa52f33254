"""The newsletter's month and its Markdown and HTML: links only to web addresses, and no
value that can end a link, open a tag or start formatting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from facilitator.features.digest.newsletter import month_period, to_html, to_markdown
from facilitator.markup import Block, RichText, Span, Style


def line(*spans: Span) -> RichText:
    return RichText((Block(spans, bullet=True),))


def test_a_month_is_read_in_the_communitys_time_zone() -> None:
    november = month_period("2026-11", "America/Santiago")
    assert november.since == datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    assert november.until == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    december = month_period("2026-12", "UTC")
    assert (december.since, december.until) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize("month", ["2026-00", "2026-13", "26-11", "2026-1", "2026-11-01", ""])
def test_anything_else_is_not_a_month(month: str) -> None:
    with pytest.raises(ValueError, match="not a month"):
        month_period(month, "UTC")


def test_only_web_addresses_become_links_and_none_can_be_broken_out_of() -> None:
    text = RichText((Block((Span("**Title** <b>", Style.BOLD),)),)) + line(
        Span("script", Style.LINK, url="javascript:alert(1)"),
        Span(" · "),
        Span('a "quoted" (odd) one', Style.LINK, url='https://example.org/a b)"<x>'),
    )
    markdown = to_markdown(text)
    assert markdown.splitlines() == [
        r"# \*\*Title\*\* \<b\>",
        "",
        '- script · [a "quoted" (odd) one](https://example.org/a%20b%29%22%3Cx%3E)',
    ]
    page = to_html(text)
    assert "<h1>**Title** &lt;b&gt;</h1>" in page
    assert "<li>script · " in page and "javascript" not in page
    assert (
        '<a href="https://example.org/a%20b%29%22%3Cx%3E">a &quot;quoted&quot; (odd) one</a>'
        in page
    )
