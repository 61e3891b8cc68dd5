"""Charts as inline SVG drawn on the server: no script, no CDN, no network.

Every chart has a value axis with round ticks (steps of 1, 2 or 5 times a power of
ten, :func:`nice_ticks`) formatted in the reader's language (``1 000 000`` and ``2,5``
in Russian), grid lines, a label per bar or column and each value written next to it.
Labels are escaped; the values' text is formatted by the caller. The output is markup a
page embeds as is (``|safe`` is not needed: :class:`markupsafe.Markup` is returned).
Colours come from the stylesheet's ``.pf-chart`` classes, with fills inline as well so
that a chart copied out of the page still reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from babel.numbers import format_decimal
from markupsafe import Markup, escape

#: chart size in CSS pixels (the SVG scales with its container through viewBox)
WIDTH = 640
ROW_HEIGHT = 26
LABEL_WIDTH = 150
VALUE_WIDTH = 120
AXIS_WIDTH = 90
COLUMN_HEIGHT = 220
#: about this many steps on a value axis
TICK_COUNT = 5
#: the multipliers of a power of ten that make a round step
STEPS = (Decimal(1), Decimal(2), Decimal(5), Decimal(10))
BAR_FILL = "#1f4e79"
GRID = "#dfe4ea"
AXIS = "#9aa5b1"
TEXT = "#5f6b7a"
INK = "#1f2933"


def nice_ticks(top: Decimal, count: int = TICK_COUNT) -> list[Decimal]:
    """Round axis ticks from 0 to the first one at or above ``top``: 0, s, 2s, … where
    the step s is 1, 2 or 5 times a power of ten, chosen so that about ``count`` steps
    (never more) cover ``top``. ``top`` ≤ 0 gives ``[0, 1]`` (an empty chart's axis).

    Raises:
        ValueError: ``count`` is below 1.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    if top <= 0:
        return [Decimal(0), Decimal(1)]
    raw = top / count
    magnitude = Decimal(1).scaleb(raw.adjusted())
    step = next(m * magnitude for m in STEPS if m * magnitude >= raw)
    ticks = [Decimal(0)]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def format_tick(value: Decimal, language: str = "ru") -> str:
    """A tick as the reader writes numbers: ``2 000 000`` and ``0,5`` in Russian (the
    group separator is a no-break space), ``2,000,000`` and ``0.5`` in English."""
    return format_decimal(value, locale=language, decimal_quantization=False)


def _svg_open(chart_id: str, title: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="pf-chart" '
        f'role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'style="max-width:{WIDTH}px" font-family="inherit">',
        f"<title>{escape(title)}</title>",
    ]


def bar_chart(
    items: Sequence[tuple[str, Decimal, str]],
    title: str,
    chart_id: str = "chart",
    language: str = "ru",
) -> Markup:
    """Horizontal bars: (label, value, value as text) per row, with a value axis under
    them; negative values count 0."""
    top_value = max((max(value, Decimal(0)) for _l, value, _t in items), default=Decimal(0))
    ticks = nice_ticks(top_value)
    top = ticks[-1]
    rows_height = max(len(items), 1) * ROW_HEIGHT
    height = rows_height + 36
    # short labels (region codes) leave the room to the bars
    label_width = min(LABEL_WIDTH, 24 + 7 * max((len(label) for label, _v, _t in items), default=0))
    span = WIDTH - label_width - VALUE_WIDTH
    parts = _svg_open(chart_id, title, height)
    for tick in ticks:
        x = label_width + float(span * tick / top)
        parts.append(
            f'<line class="pf-grid" x1="{x:.1f}" y1="4" x2="{x:.1f}" y2="{rows_height + 6}" '
            f'stroke="{GRID}"/>'
            f'<text class="pf-tick" x="{x:.1f}" y="{rows_height + 22}" text-anchor="middle" '
            f'font-size="11" fill="{TEXT}">{escape(format_tick(tick, language))}</text>'
        )
    parts.append(
        f'<line class="pf-axis" x1="{label_width}" y1="{rows_height + 6}" '
        f'x2="{label_width + span}" y2="{rows_height + 6}" stroke="{AXIS}"/>'
    )
    for index, (label, value, text) in enumerate(items):
        y = 6 + index * ROW_HEIGHT
        length = float(span * max(value, Decimal(0)) / top)
        parts.append(
            f'<text class="pf-label" x="{label_width - 8}" y="{y + 17}" text-anchor="end" '
            f'font-size="12" fill="{INK}">{escape(label)}</text>'
            f'<rect class="pf-bar" x="{label_width}" y="{y + 4}" width="{length:.1f}" '
            f'height="{ROW_HEIGHT - 8}" rx="2" fill="{BAR_FILL}">'
            f"<title>{escape(label)}: {escape(text)}</title></rect>"
            f'<text class="pf-value" x="{label_width + length + 6:.1f}" y="{y + 17}" '
            f'font-size="12" fill="{INK}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(
    items: Sequence[tuple[str, Decimal, str]],
    title: str,
    chart_id: str = "growth",
    language: str = "ru",
) -> Markup:
    """Vertical columns over time: (label, value, value as text) per column, with a
    value axis on the left, grid lines, the label under each column and its value above
    it; negative values count 0."""
    top_value = max((max(value, Decimal(0)) for _l, value, _t in items), default=Decimal(0))
    ticks = nice_ticks(top_value)
    top = ticks[-1]
    plot_top = 24  # room for the tallest column's value
    base = plot_top + COLUMN_HEIGHT
    height = base + 30
    step = (WIDTH - AXIS_WIDTH) / max(len(items), 1)
    parts = _svg_open(chart_id, title, height)
    for tick in ticks:
        y = base - float(COLUMN_HEIGHT * tick / top)
        parts.append(
            f'<line class="pf-grid" x1="{AXIS_WIDTH}" y1="{y:.1f}" x2="{WIDTH}" y2="{y:.1f}" '
            f'stroke="{GRID}"/>'
            f'<text class="pf-tick" x="{AXIS_WIDTH - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="{TEXT}">{escape(format_tick(tick, language))}</text>'
        )
    parts.append(
        f'<line class="pf-axis" x1="{AXIS_WIDTH}" y1="{plot_top - 4}" x2="{AXIS_WIDTH}" '
        f'y2="{base}" stroke="{AXIS}"/>'
        f'<line class="pf-axis" x1="{AXIS_WIDTH}" y1="{base}" x2="{WIDTH}" y2="{base}" '
        f'stroke="{AXIS}"/>'
    )
    for index, (label, value, text) in enumerate(items):
        bar = float(COLUMN_HEIGHT * max(value, Decimal(0)) / top)
        x = AXIS_WIDTH + index * step + step * 0.15
        middle = x + step * 0.35
        parts.append(
            f'<rect class="pf-bar" x="{x:.1f}" y="{base - bar:.1f}" width="{step * 0.7:.1f}" '
            f'height="{bar:.1f}" rx="2" fill="{BAR_FILL}">'
            f"<title>{escape(label)}: {escape(text)}</title></rect>"
            f'<text class="pf-value" x="{middle:.1f}" y="{base - bar - 6:.1f}" '
            f'text-anchor="middle" font-size="11" fill="{INK}">{escape(text)}</text>'
            f'<text class="pf-label" x="{middle:.1f}" y="{base + 18}" text-anchor="middle" '
            f'font-size="11" fill="{TEXT}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
