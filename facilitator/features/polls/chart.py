"""A horizontal bar chart of a poll's results, as PNG bytes (matplotlib, no display)."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

from facilitator.i18n import format_number

LABEL_WIDTH = 28


def bar_chart(question: str, options: Sequence[str], counts: Sequence[int], locale: str) -> bytes:
    """Each option's bar labelled with its count, written as the community's language does."""
    # Imported here: matplotlib takes a moment to load and only this needs it. A bare Figure
    # draws with the Agg canvas, without pyplot's global state or a display.
    import matplotlib
    from matplotlib.figure import Figure

    # Poll options are drawn as typed: "$x^$" is text, never mathtext.
    matplotlib.rcParams["text.parse_math"] = False

    labels = [textwrap.shorten(option, LABEL_WIDTH, placeholder="…") for option in options]
    figure = Figure(figsize=(6.4, 0.5 + 0.45 * len(options)), dpi=110)
    axes = figure.subplots()
    positions = list(range(len(options)))[::-1]
    bars = axes.barh(positions, counts, color="#3b7dd8")
    axes.set_yticks(positions, labels)
    axes.bar_label(bars, labels=[format_number(locale, count) for count in counts], padding=3)
    axes.set_xlim(0, max(max(counts, default=0), 1) * 1.15)
    axes.xaxis.set_visible(False)
    for side in ("top", "right", "bottom"):
        axes.spines[side].set_visible(False)
    axes.set_title(textwrap.shorten(question, 70, placeholder="…"), loc="left", fontsize=11)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
