"""The weekly summary rendered: rich text (for chat and `text`), Markdown, HTML, CSV and PNG."""

from __future__ import annotations

import base64
import csv
import html
import io
import re
from enum import StrEnum

from facilitator.features.participation.summary import (
    FIGURES,
    SHARES,
    Figures,
    NetworkSummary,
    PersonLine,
    WeeklySummary,
)
from facilitator.i18n import Catalogue, format_number, format_percent
from facilitator.markup import RichText, Style


class Format(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    CSV = "csv"
    HTML = "html"
    PNG = "png"


SHARED_SHOWN = 5  # shared themes and questions the text lists; the CSV has them all


class _Writer:
    def __init__(self, catalogue: Catalogue, locale: str) -> None:
        self.catalogue = catalogue
        self.locale = locale
        self.parts: list[RichText] = []

    def t(self, key: str, **values: object) -> str:
        return self.catalogue.text(self.locale, f"participation.summary.{key}", **values)

    def line(self, key: str, **values: object) -> None:
        self.parts.append(
            self.catalogue.render(self.locale, f"participation.summary.{key}", **values)
        )

    def rich(self) -> RichText:
        return RichText.join(self.parts)

    def change(self, current: float | None, previous: float | None, unit: str = "") -> str:
        if current is None or previous is None:
            return self.t("change_none")
        delta = current - previous
        rounded = round(delta)
        sign = "−" if rounded < 0 else "+"
        shown = f"{sign}{format_number(self.locale, abs(rounded))}" if delta else "±0"
        return self.t("change", delta=f"{shown}{unit}")

    def minutes(self, value: float | None) -> str:
        if value is None:
            return self.t("no_answers")
        whole = round(value)
        if whole < 60:
            return self.t("minutes", count=whole)
        return self.t("hours", hours=whole // 60, minutes=whole % 60)

    def percent(self, value: float | None) -> str:
        return "—" if value is None else format_percent(self.locale, value)

    def reasons(self, line: PersonLine) -> str:
        texts = []
        for kind, count in line.reasons:
            key = f"participation.reasons.{kind}"
            if self.catalogue.has(key):
                texts.append(self.catalogue.text(self.locale, key, count=count))
            else:
                texts.append(f"{kind.replace('_', ' ')}: {format_number(self.locale, count)}")
        return self.catalogue.text(self.locale, "participation.aplayers.separator").join(texts)


def _figure_lines(w: _Writer, now: Figures, before: Figures) -> None:
    w.line(
        "active",
        value=now.active_members,
        known=now.known_members,
        share=w.percent(now.active_share),
        change=w.change(now.active_members, before.active_members),
    )
    w.line(
        "newcomers",
        value=now.newcomers,
        active=now.newcomers_active,
        change=w.change(now.newcomers, before.newcomers),
    )
    w.line("messages", value=now.messages, change=w.change(now.messages, before.messages))
    w.line(
        "questions",
        value=now.questions_asked,
        answered=now.questions_answered,
        unanswered=now.questions_unanswered,
        change=w.change(now.questions_asked, before.questions_asked),
    )
    w.line(
        "median",
        value=w.minutes(now.median_answer_minutes),
        change=w.change(now.median_answer_minutes, before.median_answer_minutes, " min"),
    )
    w.line(
        "lookups",
        value=now.unanswered_lookups,
        change=w.change(now.unanswered_lookups, before.unanswered_lookups),
    )
    w.line(
        "gaps_closed",
        value=now.gaps_closed,
        rate=w.percent(now.lookups_closed_share),
        median=w.minutes(
            now.median_gap_close_hours * 60 if now.median_gap_close_hours is not None else None
        ),
        change=w.change(now.gaps_closed, before.gaps_closed),
    )
    w.line(
        "overdue",
        value=now.items_overdue,
        change=w.change(now.items_overdue, before.items_overdue),
    )
    w.line(
        "polls",
        value=now.poll_votes,
        voters=now.poll_voters,
        share=w.percent(now.voters_share),
        change=w.change(now.poll_voters, before.poll_voters),
    )
    w.line(
        "webinars",
        value=now.webinar_rsvps,
        attended=now.webinar_attended,
        change=w.change(now.webinar_attended, before.webinar_attended),
    )


def summary_text(summary: WeeklySummary, catalogue: Catalogue, locale: str) -> RichText:
    """The summary a coordinator reads in the chat (and `report --format text`)."""
    w = _Writer(catalogue, locale)
    monday, sunday = summary.week.days[0], summary.week.days[-1]
    w.line(
        "title",
        community=summary.community.title,
        week=str(summary.week),
        start=monday.isoformat(),
        end=sunday.isoformat(),
    )
    w.line("figures_header")
    _figure_lines(w, summary.figures, summary.previous)
    w.line("gaps_header")
    if not summary.gaps:
        w.line("none")
    for query, count in summary.gaps:
        w.line("gap", query=query[:160], count=count)
    if summary.rated:
        w.line("rated_header")
        for item_id, title, up, down in summary.rated:
            w.line("rated", id=item_id, title=title[:120], up=up, down=down)
    w.line("top_header")
    if not summary.top:
        w.line("none")
    for line in summary.top:
        w.line("person", name=line.name, count=line.points, reasons=w.reasons(line))
    w.line("rising_header")
    if not summary.rising:
        w.line("none")
    for line in summary.rising:
        w.line(
            "rising",
            name=line.name,
            count=line.points,
            before=round(line.previous_points),
            reasons=w.reasons(line),
        )
    w.line("at_risk_header")
    if not summary.at_risk:
        w.line("none")
    for line in summary.at_risk:
        w.line(
            "at_risk",
            name=line.name,
            count=line.active_weeks,
            date=line.last_active.isoformat() if line.last_active else "?",
        )
    return w.rich()


def network_text(summary: NetworkSummary, catalogue: Catalogue, locale: str) -> RichText:
    """The admins' summary: every community on one line, the totals, shared members."""
    w = _Writer(catalogue, locale)
    w.line("network_title", week=str(summary.week), count=len(summary.lines))
    for line in summary.lines:
        now, before = line.figures, line.previous
        w.line(
            "network_line",
            community=line.community.title,
            active=now.active_members,
            known=now.known_members,
            share=w.percent(now.active_share),
            messages=now.messages,
            questions=now.questions_asked,
            unanswered=now.questions_unanswered,
            change=w.change(now.active_members, before.active_members),
        )
    w.line("figures_header")
    _figure_lines(w, summary.totals, summary.previous_totals)
    w.line(
        "network_several",
        count=summary.in_several,
        change=w.change(summary.in_several, summary.in_several_previous),
    )
    if summary.several_names:
        w.line("network_several_names", names=", ".join(summary.several_names))
    w.line("network_themes_header")
    if not summary.themes:
        w.line("network_nothing_shared")
    for theme in summary.themes[:SHARED_SHOWN]:
        w.line(
            "network_theme",
            theme=theme.theme,
            communities=", ".join(c.title for c in theme.communities),
            repository=len(theme.in_repository),
            unanswered=len(theme.unanswered),
        )
    w.line("network_questions_header")
    if not summary.questions:
        w.line("network_nothing_shared")
    for question in summary.questions[:SHARED_SHOWN]:
        w.line(
            "network_question",
            question=question.question,
            count=question.asked,
            communities=", ".join(c.title for c in question.communities),
        )
    w.line("network_note")
    return w.rich()


def csv_report(summary: WeeklySummary) -> str:
    """Every figure with last week's and the change, each day, and everyone named."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "value", "previous", "change", "detail"])
    now, before = summary.figures, summary.previous
    for name in (*FIGURES, "polls", *SHARES):
        value = _number(getattr(now, name))
        previous = _number(getattr(before, name))
        change = "" if value == "" or previous == "" else _number(float(value) - float(previous))
        writer.writerow(["figure", name, value, previous, change, ""])
    for day in summary.days:
        writer.writerow(["day", day.day.isoformat(), day.messages, "", "", f"active={day.active}"])
    for query, count in summary.gaps:
        writer.writerow(["unanswered_lookup", literal_cell(query), count, "", "", ""])
    for item_id, title, up, down in summary.rated:
        writer.writerow(
            ["rated_item", f"#{item_id} {title}", up - down, "", "", f"up={up};down={down}"]
        )
    for section, lines in (
        ("top_contributor", summary.top),
        ("rising", summary.rising),
    ):
        for line in lines:
            detail = ";".join(f"{kind}={count}" for kind, count in line.reasons)
            previous = _number(line.previous_points) if section == "rising" else ""
            writer.writerow([section, literal_cell(line.name), line.points, previous, "", detail])
    for line in summary.at_risk:
        last = line.last_active.isoformat() if line.last_active else ""
        name = literal_cell(line.name)
        writer.writerow(["at_risk", name, line.active_weeks, "", "", f"last_active={last}"])
    return out.getvalue()


# What a spreadsheet takes for the start of a formula (OWASP's CSV injection list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def literal_cell(text: str) -> str:
    """A member's words as a cell a spreadsheet shows and never runs: a leading `'` before
    what would start a formula (`=HYPERLINK(…)`, `@SUM(…)`, `-2+3`)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _number(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


# What Markdown could read as formatting, links or HTML in a value.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def to_markdown(text: RichText) -> str:
    lines = []
    for block in text.blocks:
        spans = []
        for span in block.spans:
            escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", span.text)
            if span.style is Style.BOLD:
                escaped = f"**{escaped}**"
            elif span.style is Style.ITALIC:
                escaped = f"_{escaped}_"
            elif span.style is Style.CODE:
                escaped = f"`{span.text.replace('`', '')}`"
            spans.append(escaped)
        lines.append(("- " if block.bullet else "\n") + "".join(spans))
    return "\n".join(lines).strip() + "\n"


def to_html(text: RichText, title: str, png: bytes | None = None) -> str:
    body: list[str] = []
    in_list = False
    for block in text.blocks:
        content = "".join(_html_span(span.text, span.style) for span in block.spans)
        if block.bullet and not in_list:
            body.append("<ul>")
            in_list = True
        if not block.bullet and in_list:
            body.append("</ul>")
            in_list = False
        body.append(f"<li>{content}</li>" if block.bullet else f"<p>{content}</p>")
    if in_list:
        body.append("</ul>")
    if png is not None:
        data = base64.b64encode(png).decode("ascii")
        body.append(f'<p><img alt="{html.escape(title)}" src="data:image/png;base64,{data}"></p>')
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _html_span(text: str, style: Style) -> str:
    escaped = html.escape(text)
    if style is Style.BOLD:
        return f"<strong>{escaped}</strong>"
    if style is Style.ITALIC:
        return f"<em>{escaped}</em>"
    if style is Style.CODE:
        return f"<code>{escaped}</code>"
    return escaped


def render(summary: WeeklySummary, output: Format, catalogue: Catalogue, locale: str) -> bytes:
    """The summary in one of the report formats, as the bytes to write."""
    # matplotlib loads only when a chart is drawn.
    from facilitator.features.participation.chart import render_png

    if output is Format.PNG:
        return render_png(summary, catalogue, locale)
    if output is Format.CSV:
        return csv_report(summary).encode("utf-8")
    text = summary_text(summary, catalogue, locale)
    if output is Format.MARKDOWN:
        return to_markdown(text).encode("utf-8")
    if output is Format.HTML:
        title = catalogue.text(
            locale,
            "participation.summary.chart.title",
            community=summary.community.title,
            week=str(summary.week),
        )
        return to_html(text, title, render_png(summary, catalogue, locale)).encode("utf-8")
    return (text.plain() + "\n").encode("utf-8")


def network_csv(summary: NetworkSummary) -> str:
    """Every figure of every community and of the whole network (community `*`), with last
    week's and the change; then what the communities share, its words in `detail`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["community", "key", "value", "previous", "change", "detail"])
    rows = [("*", summary.totals, summary.previous_totals)]
    rows += [(line.community.key, line.figures, line.previous) for line in summary.lines]
    for key, now, before in rows:
        for name in (*FIGURES, "polls", *SHARES):
            value = _number(getattr(now, name))
            previous = _number(getattr(before, name))
            change = (
                "" if value == "" or previous == "" else _number(float(value) - float(previous))
            )
            writer.writerow([literal_cell(key), name, value, previous, change, ""])
    several = summary.in_several - summary.in_several_previous
    writer.writerow(
        ["*", "active_in_several", summary.in_several, summary.in_several_previous, several, ""]
    )
    # What the communities share: the name in `detail`, a count in `value`, and one row per
    # community that has it.
    for name in summary.several_names:
        writer.writerow(["*", "active_in_several_name", "", "", "", literal_cell(name)])
    for theme in summary.themes:
        label = literal_cell(theme.theme)
        writer.writerow(["*", "shared_theme", len(theme.communities), "", "", label])
        for community in theme.communities:
            where = [
                part
                for part, holders in (
                    ("repository", theme.in_repository),
                    ("unanswered", theme.unanswered),
                )
                if community in holders
            ]
            writer.writerow(
                [literal_cell(community.key), "shared_theme", "+".join(where), "", "", label]
            )
    for question in summary.questions:
        label = literal_cell(question.question)
        writer.writerow(["*", "shared_question", question.asked, "", "", label])
        for community in question.communities:
            writer.writerow([literal_cell(community.key), "shared_question", "", "", "", label])
    return out.getvalue()


def render_network(
    summary: NetworkSummary, output: Format, catalogue: Catalogue, locale: str
) -> bytes:
    """The network summary in one of the report formats, as the bytes to write."""
    from facilitator.features.participation.chart import render_network_png

    if output is Format.PNG:
        return render_network_png(summary, catalogue, locale)
    if output is Format.CSV:
        return network_csv(summary).encode("utf-8")
    text = network_text(summary, catalogue, locale)
    if output is Format.MARKDOWN:
        return to_markdown(text).encode("utf-8")
    if output is Format.HTML:
        title = catalogue.text(
            locale, "participation.summary.chart.network_title", week=str(summary.week)
        )
        png = render_network_png(summary, catalogue, locale)
        return to_html(text, title, png).encode("utf-8")
    return (text.plain() + "\n").encode("utf-8")
