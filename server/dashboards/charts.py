"""Charts as inline SVG drawn on the server: no script, no CDN, no network.

Labels are escaped; numbers are formatted by the caller. The output is markup a page
embeds as is (``|safe`` is not needed: :class:`markupsafe.Markup` is returned).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

#: chart size in CSS pixels (the SVG scales with its container through viewBox)
WIDTH = 640
ROW_HEIGHT = 22
LABEL_WIDTH = 160
VALUE_WIDTH = 110
COLUMN_HEIGHT = 200


def bar_chart(
    items: Sequence[tuple[str, Decimal, str]], title: str, chart_id: str = "chart"
) -> Markup:
    """Horizontal bars: (label, value, value as text) per row; negative values count 0."""
    height = max(len(items), 1) * ROW_HEIGHT + 10
    top = max((max(value, Decimal(0)) for _l, value, _t in items), default=Decimal(0))
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" style="max-width:{WIDTH}px">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, value, text) in enumerate(items):
        y = 5 + index * ROW_HEIGHT
        length = int(span * max(value, Decimal(0)) / top) if top > 0 else 0
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length}" height="{ROW_HEIGHT - 6}" '
            f'fill="#337ab7"><title>{escape(label)}: {escape(text)}</title></rect>'
            f'<text x="{LABEL_WIDTH + length + 4}" y="{y + 15}" font-size="12">'
            f"{escape(text)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(
    items: Sequence[tuple[str, Decimal, str]], title: str, chart_id: str = "growth"
) -> Markup:
    """Vertical columns over time: (label, value, value as text) per column."""
    count = max(len(items), 1)
    step = WIDTH / count
    top = max((max(value, Decimal(0)) for _l, value, _t in items), default=Decimal(0))
    height = COLUMN_HEIGHT + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" style="max-width:{WIDTH}px">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, value, text) in enumerate(items):
        bar = int(COLUMN_HEIGHT * max(value, Decimal(0)) / top) if top > 0 else 0
        x = index * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{COLUMN_HEIGHT - bar + 10}" width="{step * 0.7:.1f}" '
            f'height="{bar}" fill="#5cb85c"><title>{escape(label)}: {escape(text)}</title></rect>'
            f'<text x="{x + step * 0.35:.1f}" y="{COLUMN_HEIGHT + 28}" text-anchor="middle" '
            f'font-size="11">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
