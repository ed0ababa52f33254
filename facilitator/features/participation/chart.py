"""The weekly summary's chart: activity per day and the week's top contributors, as a PNG.

Drawn with matplotlib's object API on the Agg canvas: no pyplot, no global figure state, no
display needed, so it is safe inside the bot's process.
"""

from __future__ import annotations

import io

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from facilitator.features.participation.summary import NetworkSummary, WeeklySummary
from facilitator.i18n import Catalogue, format_number

MESSAGES_COLOUR = "#2c5f2d"
ACTIVE_COLOUR = "#d98324"
CONTRIBUTORS_COLOUR = "#4a7ab5"
SHARED_CHARTED = 10  # shared themes the network chart draws

# Members' names and questions are drawn as they are: "$x^$" is text, never mathtext (which
# would fail on it, or draw something else). Process-wide: nothing here wants mathtext.
matplotlib.rcParams["text.parse_math"] = False


def render_png(summary: WeeklySummary, catalogue: Catalogue, locale: str) -> bytes:
    def t(key: str, **values: object) -> str:
        return catalogue.text(locale, f"participation.summary.chart.{key}", **values)

    # Axis numbers as the language writes them (`1.500` in es and pt, `1,500` in en).
    numbers = FuncFormatter(lambda value, _position: format_number(locale, value))
    figure = Figure(figsize=(9, 7.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    activity, contributors = figure.subplots(2, 1, height_ratios=(3, 2))
    figure.suptitle(
        t("title", community=summary.community.title, week=str(summary.week)), fontsize=13
    )

    weekdays = t("weekdays").split()
    labels = [
        f"{weekdays[day.day.weekday()]} {day.day.day}" if len(weekdays) == 7 else str(day.day)
        for day in summary.days
    ]
    positions = list(range(len(summary.days)))
    activity.bar(
        positions,
        [day.messages for day in summary.days],
        color=MESSAGES_COLOUR,
        label=t("messages"),
    )
    activity.set_xticks(positions, labels)
    activity.set_ylabel(t("messages"))
    activity.set_title(t("activity"))
    people = activity.twinx()
    people.plot(
        positions,
        [day.active for day in summary.days],
        color=ACTIVE_COLOUR,
        marker="o",
        linewidth=2,
        label=t("active"),
    )
    people.set_ylabel(t("active"))
    people.set_ylim(bottom=0)
    activity.set_ylim(bottom=0)
    activity.yaxis.set_major_formatter(numbers)
    people.yaxis.set_major_formatter(numbers)
    handles = activity.get_legend_handles_labels()[0] + people.get_legend_handles_labels()[0]
    activity.legend(handles=handles, loc="upper left", frameon=False)

    contributors.set_title(t("contributors"))
    top = list(reversed(summary.top))
    if top:
        contributors.barh(
            [line.name for line in top],
            [line.points for line in top],
            color=CONTRIBUTORS_COLOUR,
        )
        contributors.set_xlabel(t("points"))
        contributors.xaxis.set_major_formatter(numbers)
    else:
        contributors.text(0.5, 0.5, t("nobody"), ha="center", va="center")
        contributors.set_axis_off()

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def render_network_png(summary: NetworkSummary, catalogue: Catalogue, locale: str) -> bytes:
    """The admins' chart: each community's active members and messages this week, and the
    themes communities share (in how many of them each is)."""

    def t(key: str, **values: object) -> str:
        return catalogue.text(locale, f"participation.summary.chart.{key}", **values)

    numbers = FuncFormatter(lambda value, _position: format_number(locale, value))
    lines = list(reversed(summary.lines))
    themes = list(reversed(summary.themes[:SHARED_CHARTED]))
    height = 2.5 + 0.5 * max(len(lines), 1) + (0.4 * len(themes) + 1.2 if themes else 0)
    figure = Figure(figsize=(9, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    top: Figure | SubFigure = figure
    bottom: SubFigure | None = None
    if themes:
        ratios = (max(len(lines), 1) + 2, len(themes) + 2)
        grid = figure.subfigures(2, 1, height_ratios=ratios, squeeze=False)
        top, bottom = grid[0, 0], grid[1, 0]
    active, messages = top.subplots(1, 2, sharey=True)
    figure.suptitle(t("network_title", week=str(summary.week)), fontsize=13)
    names = [line.community.title for line in lines]
    for axes, values, colour, label in (
        (active, [line.figures.active_members for line in lines], ACTIVE_COLOUR, t("active")),
        (messages, [line.figures.messages for line in lines], MESSAGES_COLOUR, t("messages")),
    ):
        axes.barh(names, values, color=colour)
        axes.set_title(label)
        axes.xaxis.set_major_formatter(numbers)
    active.set_ylabel(t("per_community"))
    if bottom is not None:
        shared = bottom.subplots()
        # Positions, not the labels, place the bars: two themes spelt alike stay two bars.
        shared.barh(
            range(len(themes)),
            [len(theme.communities) for theme in themes],
            color=CONTRIBUTORS_COLOUR,
        )
        shared.set_yticks(range(len(themes)), [theme.theme for theme in themes])
        shared.set_title(t("shared_themes"))
        shared.xaxis.set_major_locator(MaxNLocator(integer=True))
        shared.xaxis.set_major_formatter(numbers)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
