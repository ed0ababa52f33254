"""What a survey's answers add up to: counts, averages and the net promoter score, as text,
a CSV file and a chart. Every figure is computed here from the stored answers."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from facilitator.features.participation.report import literal_cell
from facilitator.features.surveys.domain import (
    NPS,
    SCALE,
    Answer,
    Question,
    QuestionKind,
    Survey,
)
from facilitator.i18n import Catalogue, format_number, format_percent
from facilitator.markup import RichText

MAX_TEXTS_SHOWN = 30  # free-text answers listed in the message (the CSV has all of them)
MAX_TEXT_SHOWN = 300


@dataclass(frozen=True)
class NetPromoter:
    promoters: int  # 9 or 10
    passives: int  # 7 or 8
    detractors: int  # 0 to 6

    @property
    def total(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> int:
        """The share of promoters minus the share of detractors, in points (-100 to 100)."""
        if not self.total:
            return 0
        return round(100 * (self.promoters - self.detractors) / self.total)


def net_promoter(values: Sequence[int]) -> NetPromoter:
    return NetPromoter(
        promoters=sum(1 for v in values if v >= 9),
        passives=sum(1 for v in values if 7 <= v <= 8),
        detractors=sum(1 for v in values if v <= 6),
    )


@dataclass(frozen=True)
class Tally:
    """One question's answers summed up."""

    index: int
    question: Question
    answered: int  # how many responses answered it
    # Per scale point (1–5), NPS point (0–10) or option, in that order.
    counts: tuple[int, ...] = ()
    mean: float | None = None
    nps: NetPromoter | None = None
    texts: tuple[str, ...] = ()


def numbers(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip().isdigit()]


def tally(survey: Survey, answers: Sequence[Answer]) -> list[Tally]:
    by_question: dict[int, list[str]] = {}
    for answer in answers:
        by_question.setdefault(answer.question, []).append(answer.value)
    tallies = []
    for index, question in enumerate(survey.questions):
        values = by_question.get(index, [])
        kind = question.kind
        if kind is QuestionKind.TEXT:
            texts = tuple(v for v in values if v.strip())
            tallies.append(Tally(index, question, len(texts), texts=texts))
            continue
        picked = [numbers(v) for v in values]
        if kind is QuestionKind.SCALE or kind is QuestionKind.NPS:
            points = SCALE if kind is QuestionKind.SCALE else NPS
            flat = [p[0] for p in picked if p and p[0] in points]
            counts = tuple(flat.count(point) for point in points)
            mean = sum(flat) / len(flat) if flat else None
            nps = net_promoter(flat) if kind is QuestionKind.NPS else None
            tallies.append(Tally(index, question, len(flat), counts, mean, nps))
            continue
        options = range(len(question.options))
        counts = tuple(sum(1 for p in picked if option in p) for option in options)
        answered = sum(1 for p in picked if any(o in options for o in p))
        tallies.append(Tally(index, question, answered, counts))
    return tallies


def question_text(question: Question, text: Callable[[str], str]) -> str:
    return text(question.key) if question.key else question.text


def survey_title(survey: Survey, text: Callable[[str], str]) -> str:
    return text(f"surveys.templates.{survey.template}.title") if survey.template else survey.title


def render_results(
    catalogue: Catalogue,
    locale: str,
    survey: Survey,
    tallies: Sequence[Tally],
    responses: int,
    shuffle: random.Random | None = None,
) -> RichText:
    """The results as a message; an anonymous survey's free texts in a random order."""

    def t(key: str) -> str:
        return catalogue.text(locale, key)

    parts = [
        catalogue.render(
            locale,
            "surveys.results.header",
            id=survey.id,
            title=survey_title(survey, t),
            count=responses,
        )
    ]
    for item in tallies:
        parts.append(
            catalogue.render(
                locale,
                "surveys.results.question",
                number=item.index + 1,
                question=question_text(item.question, t),
                count=item.answered,
            )
        )
        kind = item.question.kind
        if kind is QuestionKind.TEXT:
            texts = list(item.texts)
            if survey.anonymous:
                (shuffle or random.SystemRandom()).shuffle(texts)
            for said in texts[:MAX_TEXTS_SHOWN]:
                shown = said if len(said) <= MAX_TEXT_SHOWN else said[: MAX_TEXT_SHOWN - 1] + "…"
                parts.append(catalogue.render(locale, "surveys.results.text", text=shown))
            if len(texts) > MAX_TEXTS_SHOWN:
                parts.append(
                    catalogue.render(
                        locale, "surveys.results.more_texts", count=len(texts) - MAX_TEXTS_SHOWN
                    )
                )
            continue
        if kind is QuestionKind.SCALE or kind is QuestionKind.NPS:
            if item.mean is not None:
                parts.append(
                    catalogue.render(
                        locale,
                        "surveys.results.mean",
                        mean=format_number(locale, round(item.mean, 1)),
                        top=5 if kind is QuestionKind.SCALE else 10,
                    )
                )
            if item.nps is not None and item.nps.total:
                parts.append(
                    catalogue.render(
                        locale,
                        "surveys.results.nps",
                        score=format_number(locale, item.nps.score),
                        promoters=item.nps.promoters,
                        passives=item.nps.passives,
                        detractors=item.nps.detractors,
                    )
                )
            points = SCALE if kind is QuestionKind.SCALE else NPS
            labels = [str(p) for p in points]
        else:
            labels = list(item.question.options)
        for label, count in zip(labels, item.counts, strict=True):
            share = format_percent(locale, count / item.answered if item.answered else 0)
            parts.append(
                catalogue.render(
                    locale, "surveys.results.line", option=label, count=count, percent=share
                )
            )
    return RichText.join(parts)


def results_csv(
    survey: Survey,
    answers: Sequence[Answer],
    text: Callable[[str], str],
    names: dict[int, str],
    shuffle: random.Random | None = None,
) -> bytes:
    """One row per response: a named survey's with who and when, an anonymous one's in a
    random order. Every cell a member or moderator wrote is neutralised for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = [] if survey.anonymous else [text("surveys.csv.person"), text("surveys.csv.at")]
    header += [literal_cell(question_text(q, text)) for q in survey.questions]
    writer.writerow(header)
    responses: dict[str, dict[int, Answer]] = {}
    for answer in answers:
        responses.setdefault(answer.response, {})[answer.question] = answer
    rows = list(responses.values())
    if survey.anonymous:
        (shuffle or random.SystemRandom()).shuffle(rows)
    else:
        rows.sort(key=_answered_at)
    for row in rows:
        cells: list[str] = []
        if not survey.anonymous:
            first = next(iter(row.values()))
            name = names.get(first.person_id, "") if first.person_id is not None else ""
            cells += [
                literal_cell(name),
                first.answered_at.isoformat() if first.answered_at else "",
            ]
        for index, question in enumerate(survey.questions):
            found = row.get(index)
            cells.append("" if found is None else literal_cell(shown_value(question, found.value)))
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


def _answered_at(row: dict[int, Answer]) -> str:
    return min((a.answered_at.isoformat() for a in row.values() if a.answered_at), default="")


def shown_value(question: Question, value: str) -> str:
    """An answer as a person reads it: a number, the option's words, the text."""
    if question.kind.has_options:
        chosen = [question.options[i] for i in numbers(value) if 0 <= i < len(question.options)]
        return "; ".join(chosen)
    return value


@dataclass(frozen=True)
class ChartPanel:
    """One counted question as the chart draws it: its title, bar labels and bar lengths."""

    title: str
    labels: tuple[str, ...]
    counts: tuple[int, ...]


def chart_panels(tallies: Sequence[Tally], text: Callable[[str], str]) -> list[ChartPanel]:
    """What the chart shows, question by question (free text has no bars)."""
    panels = []
    for item in tallies:
        kind = item.question.kind
        if kind is QuestionKind.TEXT:
            continue
        if kind.has_options:
            labels = tuple(item.question.options)
        else:
            labels = tuple(str(p) for p in (SCALE if kind is QuestionKind.SCALE else NPS))
        title = f"{item.index + 1}. {question_text(item.question, text)}"
        panels.append(ChartPanel(title, labels, item.counts))
    return panels


def results_chart(
    tallies: Sequence[Tally], text: Callable[[str], str], locale: str
) -> bytes | None:
    """One horizontal bar chart per counted question, stacked in one PNG; None when every
    question is free text."""
    panels = chart_panels(tallies, text)
    if not panels:
        return None
    # Imported here: matplotlib takes a moment to load and only this needs it.
    import textwrap

    import matplotlib
    from matplotlib.figure import Figure

    # Questions and options are drawn as typed: "$x^$" is text, never mathtext.
    matplotlib.rcParams["text.parse_math"] = False
    heights = [0.6 + 0.4 * len(panel.counts) for panel in panels]
    figure = Figure(figsize=(6.4, sum(heights) + 0.4), dpi=110)
    axes_list = figure.subplots(len(panels), 1, squeeze=False, height_ratios=heights)
    for axes_row, panel in zip(axes_list, panels, strict=True):
        axes = axes_row[0]
        labels = [textwrap.shorten(label, 28, placeholder="…") for label in panel.labels]
        positions = list(range(len(labels)))[::-1]
        bars = axes.barh(positions, panel.counts, color="#3b7dd8")
        axes.set_yticks(positions, labels)
        axes.bar_label(bars, labels=[format_number(locale, c) for c in panel.counts], padding=3)
        axes.set_xlim(0, max(max(panel.counts, default=0), 1) * 1.15)
        axes.xaxis.set_visible(False)
        for side in ("top", "right", "bottom"):
            axes.spines[side].set_visible(False)
        axes.set_title(textwrap.shorten(panel.title, 70, placeholder="…"), loc="left", fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
