"""The statement builder: every row in one section, kopeck-exact totals, words per line,
and SVG charts that escape their labels."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from server.dashboards.charts import bar_chart, column_chart
from server.statements.building import (
    LedgerLine,
    Opening,
    ReconciliationError,
    StatementHeader,
    build_statement,
    check_reconciles,
    describe_line,
)

HEADER = StatementHeader(
    number="P-1-2026-03",
    issued_on=date(2026, 4, 1),
    period_start=date(2026, 3, 1),
    period_end=date(2026, 3, 31),
    timezone="Europe/Moscow",
    language="ru",
    partner={"code": "P-1", "name": "Партнёр"},
    company={"legal_name": "ООО"},
    region={"code": "A", "name": "Регион A"},
    terms={"payment_terms_days": 15, "minimum_payout": "1000.00"},
)


def line(accrual_id: int, amount: str, **fields: object) -> LedgerLine:
    values: dict[str, object] = {
        "kind": "commission",
        "status": "approved",
        "points": 0,
        "at": datetime(2026, 3, 10, 9, tzinfo=UTC),
        "rule_key": "cps",
        "channel": "online",
        "event_id": f"S-{accrual_id}",
    }
    values.update(fields)
    return LedgerLine(accrual_id=accrual_id, amount=Decimal(amount), **values)  # type: ignore[arg-type]


LINES = [
    line(1, "0.10", code="PROMO", event_amount=Decimal("1.43"), order_id="ORD-1"),
    line(2, "0.20", rule_key="upline", level=1),
    line(3, "1000.00", status="held", reason="hold-large"),
    line(4, "-0.07", reverses="S-1"),
    line(5, "1000.00", kind="release", decided_id=3),
    line(6, "0.00", kind="forfeit", reason="fraud"),
    line(7, "0.00", kind="points", points=15),
    line(8, "0.00", kind="reward", reward="training"),
    line(9, "-500.00", kind="payout", rule_key=None, event_id=None),
    line(10, "33.33", at=datetime(2026, 2, 27, 9, tzinfo=UTC)),  # late: an adjustment
]


def test_sections_and_totals_add_up_to_the_kopeck() -> None:
    data = build_statement(HEADER, LINES, Opening(Decimal("100.01"), 5), {"cps": "7 %"})
    totals = data["totals"]
    assert totals["change"] == "533.56"
    assert totals["closing"] == "633.57"
    assert totals["held"] == "1000.00"
    assert totals["reversed"] == "-0.07"
    assert totals["released"] == "1000.00"
    assert totals["payouts"] == "-500.00"
    assert totals["adjustments"] == "33.33"
    assert (totals["points_earned"], totals["points_balance"]) == (15, 20)
    assert len(data["rows"]) == len(LINES) == totals["count"]
    assert sorted(row["id"] for row in data["rows"]) == list(range(1, 11))
    assert [row["id"] for row in data["adjustments"]] == [10]
    assert [row["id"] for row in data["holds"]] == [3]
    assert [row["id"] for row in data["rewards"]] == [8]
    groups = {(g["channel"], g["rule"], g["level"]): g for g in data["groups"]}
    assert groups[("online", "cps", "")]["rule_text"] == "7 %"
    assert groups[("online", "upline", "1")]["payable"] == "0.20"
    check_reconciles(data, Decimal("100.01"), Decimal("633.57"))
    with pytest.raises(ReconciliationError):
        check_reconciles(data, Decimal("100.01"), Decimal("633.58"))


def test_each_line_explains_itself_in_the_documents_language() -> None:
    ru = describe_line(LINES[0], "ru")
    assert ru.startswith("Заказ ORD-1") and "код PROMO" in ru and "1,43" in ru
    assert "refund of sale S-1" in describe_line(LINES[3], "en")
    assert "under review: hold-large" in describe_line(LINES[2], "en")
    assert "No. 3" in describe_line(LINES[4], "en")
    assert "rejected: fraud" in describe_line(LINES[5], "en")
    assert describe_line(LINES[9], "ru", date(2026, 2, 27)).startswith(
        "корректировка за 2026-02-27"
    )


def test_charts_are_plain_svg_with_escaped_labels() -> None:
    svg = bar_chart([("<script>", Decimal("5"), "5 ₽"), ("b", Decimal("-1"), "-1")], "t")
    assert svg.startswith("<svg") and "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'width="-' not in svg
    columns = column_chart([("2026-06", Decimal("0"), "0")], "g")
    assert "http" not in columns.replace("http://www.w3.org/2000/svg", "")
