"""Charts drawn on the server as SVG text: no script, no external asset. Each point carries
its value as a `<title>` (shown on hover, read by screen readers); the page puts the same
numbers in a table beside the chart."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT, PAD = 320, 120, 18


def line_chart(title: str, labels: Sequence[str], values: Sequence[float | None]) -> str:
    """A line over `values` (None: no point that week), scaled from zero to the largest."""
    known = [v for v in values if v is not None]
    top = max(known, default=0.0) or 1.0
    count = max(len(values) - 1, 1)

    def x(i: int) -> float:
        return PAD + i * (WIDTH - 2 * PAD) / count

    def y(v: float) -> float:
        return HEIGHT - PAD - v * (HEIGHT - 2 * PAD) / top

    points = [(x(i), y(v), labels[i], v) for i, v in enumerate(values) if v is not None]
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in points)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" '
        f'y2="{HEIGHT - PAD}"/>',
    ]
    if len(points) > 1:
        parts.append(f'<polyline class="line" points="{path}"/>')
    for px, py, label, value in points:
        shown = f"{value:g}"
        parts.append(
            f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="3">'
            f"<title>{escape(label)}: {escape(shown)}</title></circle>"
        )
    parts.append(f'<text class="top" x="{PAD}" y="{PAD - 6}">{escape(f"{top:g}")}</text></svg>')
    return "".join(parts)
