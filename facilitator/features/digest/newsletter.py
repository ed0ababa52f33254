"""`facilitator newsletter`: the month's digest of a community for an email list, in Markdown
or HTML: the same builder as the members' digest, for the public (no meeting link, names only
of people who opted in, never a question asked privately)."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer
from babel.dates import format_date

from facilitator.domain.model import Community
from facilitator.features.digest.content import Audience, Digest, Period, Reader, body, build
from facilitator.i18n import SUPPORTED_LOCALES, Catalogue
from facilitator.localtime import wall_time
from facilitator.markup import Block, RichText, Style
from facilitator.observability import configure_logging
from facilitator.settings import Settings


class Format(StrEnum):
    MARKDOWN = "markdown"
    HTML = "html"


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# What Markdown (and its math extensions) could read as formatting, links or HTML in a value.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|$])")
_LINKABLE = ("http://", "https://")


def month_period(month: str, timezone: str) -> Period:
    """The month `YYYY-MM` in the community's time zone; ValueError if it is not one."""
    found = _MONTH.match(month)
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise ValueError(f"not a month: {month!r} (YYYY-MM, e.g. 2026-11)")
    year, number = int(found.group(1)), int(found.group(2))
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    midnight = datetime.min.time()
    return Period(wall_time(first, midnight, timezone), wall_time(following, midnight, timezone))


def newsletter_text(digest: Digest, catalogue: Catalogue, month: str) -> RichText:
    locale = digest.reader.locale
    year, number = (int(part) for part in month.split("-"))
    shown = format_date(date(year, number, 1), "LLLL y", locale=locale)
    text = body(digest, catalogue, "digest.newsletter.title", month=shown)
    if digest.empty:
        text += catalogue.render(locale, "digest.newsletter.empty")
    return text + catalogue.render(
        locale, "digest.newsletter.footer", community=digest.community.title
    )


def _url(url: str | None) -> str | None:
    if not url or not url.lower().startswith(_LINKABLE):
        return None
    # Spaces, quotes, brackets and parentheses percent-encoded: nothing ends the link early.
    return quote(url, safe=":/?&=#%~+-._,;@!*")


def to_markdown(text: RichText) -> str:
    lines = []
    for n, block in enumerate(text.blocks):
        heading = all(span.style is Style.BOLD for span in block.spans) and not block.bullet
        spans = []
        for span in block.spans:
            escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", span.text)
            url = _url(span.url) if span.style is Style.LINK else None
            if url:
                escaped = f"[{escaped}]({url})"
            elif span.style is Style.BOLD and not heading:
                escaped = f"**{escaped}**"
            elif span.style is Style.ITALIC:
                escaped = f"_{escaped}_"
            elif span.style is Style.CODE:
                escaped = f"`{span.text.replace('`', '')}`"
            spans.append(escaped)
        content = "".join(spans)
        if heading:
            lines.append(f"\n{'#' if n == 0 else '##'} {content}\n")
        else:
            lines.append(("- " if block.bullet else "\n") + content)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _html_block(block: Block) -> str:
    parts = []
    for span in block.spans:
        escaped = html.escape(span.text)
        url = _url(span.url) if span.style is Style.LINK else None
        if url:
            parts.append(f'<a href="{html.escape(url, quote=True)}">{escaped}</a>')
        elif span.style is Style.BOLD:
            parts.append(f"<strong>{escaped}</strong>")
        elif span.style is Style.ITALIC:
            parts.append(f"<em>{escaped}</em>")
        elif span.style is Style.CODE:
            parts.append(f"<code>{escaped}</code>")
        else:
            parts.append(escaped)
    return "".join(parts)


def to_html(text: RichText) -> str:
    body_lines: list[str] = []
    in_list = False
    title = text.blocks[0].plain() if text.blocks else ""
    for n, block in enumerate(text.blocks):
        heading = all(span.style is Style.BOLD for span in block.spans) and not block.bullet
        if block.bullet and not in_list:
            body_lines.append("<ul>")
            in_list = True
        if not block.bullet and in_list:
            body_lines.append("</ul>")
            in_list = False
        if heading:
            tag = "h1" if n == 0 else "h2"
            body_lines.append(f"<{tag}>{html.escape(block.plain())}</{tag}>")
        elif block.bullet:
            body_lines.append(f"<li>{_html_block(block)}</li>")
        else:
            body_lines.append(f"<p>{_html_block(block)}</p>")
    if in_list:
        body_lines.append("</ul>")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>\n"
        + "\n".join(body_lines)
        + "\n</body></html>\n"
    )


def render(text: RichText, output: Format) -> str:
    return to_html(text) if output is Format.HTML else to_markdown(text)


async def produce(settings: Settings, key: str, month: str, lang: str | None) -> RichText:
    """The month's newsletter of the community `key` (LookupError if there is none)."""
    from facilitator.bootstrap import build_app

    application = build_app(settings)
    try:
        catalogue = application.services.catalogue
        async with application.uow_factory() as uow:
            community: Community | None = await uow.communities.by_key(key)
            if community is None:
                raise LookupError(f"no community with key {key!r}")
            period = month_period(month, community.timezone)
            reader = Reader(lang or community.language, Audience.PUBLIC)
            digest = await build(uow, catalogue, community, period, reader)
        return newsletter_text(digest, catalogue, month)
    finally:
        await application.aclose()


def newsletter(
    community: Annotated[str, typer.Option(help="Community key.")],
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (e.g. 2026-11).")],
    output: Annotated[Format, typer.Option("--format", help="What to produce.")] = (
        Format.MARKDOWN
    ),
    lang: Annotated[
        str | None, typer.Option(help="en, es or pt; default: the community's language.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
) -> None:
    """A community's month for an email list: new items, upcoming webinars, open polls and
    questions answered in the group; no meeting links, names only of people who agreed."""
    from facilitator.features.participation.report_cli import upgrade

    if lang is not None and lang not in SUPPORTED_LOCALES:
        typer.echo(f"unknown language {lang!r}: use en, es or pt", err=True)
        raise typer.Exit(2)
    try:
        month_period(month, "UTC")
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    settings = Settings()
    configure_logging(settings.log_level)
    upgrade(settings)
    try:
        text = asyncio.run(produce(settings, community, month, lang))
    except LookupError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    data = render(text, output)
    if out is None:
        typer.echo(data, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(data, "utf-8")
    typer.echo(f"saved to {out}")
