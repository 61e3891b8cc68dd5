"""The dashboards' SVG charts: round axis ticks, Russian number formats, labels."""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import pairwise

import pytest

from server.dashboards.charts import bar_chart, column_chart, format_tick, nice_ticks

D = Decimal


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (D("5"), ["0", "1", "2", "3", "4", "5"]),
        (D("9"), ["0", "2", "4", "6", "8", "10"]),
        (D("11"), ["0", "5", "10", "15"]),
        (D("123"), ["0", "50", "100", "150"]),
        (D("0.7"), ["0", "0.2", "0.4", "0.6", "0.8"]),
        (D("0.03"), ["0", "0.01", "0.02", "0.03"]),
        (D("1837190.66"), ["0", "500000", "1000000", "1500000", "2000000"]),
        (D("51689884.90"), ["0", "20000000", "40000000", "60000000"]),
    ],
)
def test_ticks_step_by_one_two_or_five_times_a_power_of_ten(top: Decimal, ticks: list[str]) -> None:
    assert nice_ticks(top) == [D(tick) for tick in ticks]


@pytest.mark.parametrize(
    "top", [D("0.001"), D("1"), D("7.5"), D("999"), D("1000"), D("12345678.9")]
)
def test_ticks_cover_the_top_in_at_most_the_asked_steps(top: Decimal) -> None:
    ticks = nice_ticks(top, 5)
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and ticks[-1] >= top > ticks[-2]
    assert all(b - a == step for a, b in pairwise(ticks))
    assert len(ticks) - 1 <= 5
    mantissa = step.scaleb(-step.adjusted()).normalize()
    assert mantissa in (D(1), D(2), D(5))


def test_an_empty_or_negative_chart_still_has_an_axis() -> None:
    assert nice_ticks(D(0)) == [D(0), D(1)]
    assert nice_ticks(D(-5)) == [D(0), D(1)]
    with pytest.raises(ValueError):
        nice_ticks(D(10), 0)


def test_ticks_read_as_russian_numbers() -> None:
    # space (no-break) between thousands, a comma before decimals
    assert format_tick(D("2000000")) == "2\xa0000\xa0000"
    assert format_tick(D("0.5")) == "0,5"
    assert format_tick(D("2E+7")) == "20\xa0000\xa0000"
    assert format_tick(D("1500"), "en") == "1,500"


def _texts(svg: str, css_class: str) -> list[str]:
    return re.findall(rf'<text class="{css_class}"[^>]*>([^<]*)</text>', svg)


def test_a_column_chart_has_a_value_axis_x_labels_and_values() -> None:
    svg = column_chart(
        [("июль", D("10141138.19"), "10 141 138 ₽"), ("август", D("9962102.53"), "9 962 103 ₽")],
        "Продажи по месяцам",
    )
    assert _texts(svg, "pf-tick") == [
        "0",
        "5\xa0000\xa0000",
        "10\xa0000\xa0000",
        "15\xa0000\xa0000",
    ]
    assert _texts(svg, "pf-label") == ["июль", "август"]
    assert _texts(svg, "pf-value") == ["10 141 138 ₽", "9 962 103 ₽"]
    assert svg.count('class="pf-grid"') == 4 and svg.count('class="pf-axis"') == 2


def test_a_bar_chart_has_a_value_axis_labels_and_values() -> None:
    svg = bar_chart([("A", D("18"), "18 ₽"), ("B", D("-1"), "-1 ₽")], "Продажи по группам")
    assert _texts(svg, "pf-tick") == ["0", "5", "10", "15", "20"]
    assert _texts(svg, "pf-label") == ["A", "B"]
    assert _texts(svg, "pf-value") == ["18 ₽", "-1 ₽"]
    assert 'width="-' not in svg  # a negative value draws no bar


def test_labels_are_escaped_and_nothing_is_fetched() -> None:
    svg = bar_chart([("<script>", D("5"), "5 ₽")], "t")
    assert svg.startswith("<svg") and "<script>" not in svg and "&lt;script&gt;" in svg
    columns = column_chart([("2026-06", D("0"), "0")], "g")
    assert "http" not in columns.replace("http://www.w3.org/2000/svg", "")
