"""How a repository item reads in the chat: title, excerpt, source link, see also."""

from __future__ import annotations

import re

from facilitator.context import CommandContext
from facilitator.domain.model import Role
from facilitator.features.knowledge.domain import KnowledgeItem
from facilitator.i18n import Catalogue
from facilitator.markup import Block, RichText, Span, Style, from_markdown

MAX_BODY = 900


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _ref(ctx: CommandContext, item: KnowledgeItem) -> str:
    # Moderators see item ids, which their commands take.
    return ctx.t("kb.item_ref", id=item.id) if ctx.role >= Role.MODERATOR else ""


def _source_block(catalogue: Catalogue, locale: str, item: KnowledgeItem) -> Block | None:
    label = catalogue.text(locale, "kb.answer.source")
    name = item.source or item.title
    if item.url:
        return Block((Span(label + " "), Span(clip(name, 200), Style.LINK, url=item.url)))
    if item.source:
        return Block((Span(f"{label} {clip(item.source, 200)}"),))
    if item.source_link:
        # An answer saved from the chat: a link to the message it came from.
        name = catalogue.text(locale, "kb.answer.in_chat")
        return Block((Span(label + " "), Span(name, Style.LINK, url=item.source_link)))
    return None


_TABLE_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def tables_as_lists(body: str) -> str:
    """Markdown tables as chat can show them: one bullet per row, each cell named by its
    column ("- **Country**: Peru · **Members**: 120"). Other lines stay as they are."""
    lines = body.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        header = _TABLE_ROW.match(lines[i])
        if header and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            names = [cell.strip() for cell in header.group(1).split("|")]
            i += 2
            while i < len(lines) and (row := _TABLE_ROW.match(lines[i])):
                cells = [cell.strip() for cell in row.group(1).split("|")]
                pairs = [
                    f"**{name}**: {cell}" if name else cell
                    for name, cell in zip(names, cells, strict=False)
                    if cell
                ]
                out.append("- " + " · ".join(pairs))
                i += 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def readable(body: str) -> str:
    """The item's text as the chat shows it in full (tables as lists)."""
    return tables_as_lists(body).strip()


def is_cut(item: KnowledgeItem) -> bool:
    """Whether an answer shows only the start of the item (it then offers "read more")."""
    return len(readable(item.body)) > MAX_BODY


def _excerpt(body: str) -> str:
    """The start of a long text, cut at a paragraph or line end where possible."""
    body = readable(body)
    if len(body) <= MAX_BODY:
        return body.strip()
    cut = body[:MAX_BODY]
    for mark in ("\n\n", "\n", ". "):
        at = cut.rfind(mark)
        if at > MAX_BODY // 2:
            return cut[: at + (1 if mark == ". " else 0)].rstrip() + " …"
    return cut.rstrip() + "…"


def render_item(
    ctx: CommandContext, item: KnowledgeItem, see_also: tuple[KnowledgeItem, ...] = ()
) -> RichText:
    parts = [item_body(ctx.catalogue, ctx.locale, item, ref=_ref(ctx, item))]
    if see_also:
        parts.append(ctx.rich("kb.answer.see_also"))
        for other in see_also:
            key = "kb.answer.see_also_item"
            extra = {}
            if other.lang != ctx.locale:
                key, extra = (
                    "kb.answer.see_also_other",
                    {"language": ctx.t(f"core.languages.{other.lang}")},
                )
            parts.append(
                ctx.rich(key, title=clip(other.title, 200), ref=_ref(ctx, other), **extra)
            )
    return RichText.join(parts)


def item_body(catalogue: Catalogue, locale: str, item: KnowledgeItem, ref: str = "") -> RichText:
    """An item as anyone reads it in `locale`: its title, the start of its text, its source
    (also for messages the outbox sends, where there is no conversation to read a role from)."""
    parts = [catalogue.render(locale, "kb.answer.title", title=clip(item.title, 300), ref=ref)]
    if item.lang != locale:
        # Found across languages: say so, the member may want to propose a translation.
        parts.append(
            catalogue.render(
                locale,
                "kb.answer.in_language",
                language=catalogue.text(locale, f"core.languages.{item.lang}"),
            )
        )
    if item.body:
        parts.append(from_markdown(_excerpt(item.body)))
    source = _source_block(catalogue, locale, item)
    if source is not None:
        parts.append(RichText((source,)))
    return RichText.join(parts)
