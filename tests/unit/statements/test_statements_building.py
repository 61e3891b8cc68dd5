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
    ProgramInfo,
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


TITLES = {"cps": "Процент с продаж (CPS)", "upline": "Многоуровневое вознаграждение"}
TITLES_WITH_HOLD = TITLES | {"hold-large": "Задержка крупных продаж"}


def test_groups_and_holds_are_named_in_words_not_keys() -> None:
    # Regression: headings read `offline-tiers · offline` and `upline · уровень 1 · offline`,
    # and the holds table printed the hold rule's key.
    data = build_statement(HEADER, LINES, Opening(Decimal("0"), 0), {}, TITLES_WITH_HOLD)
    headings = {group["heading"] for group in data["groups"]}
    assert "Процент с продаж (CPS) · онлайн" in headings
    assert "Многоуровневое вознаграждение · уровень 1 · онлайн" in headings
    assert [row["reason_text"] for row in data["holds"]] == ["Задержка крупных продаж"]
    held = next(row for row in data["rows"] if row["status"] == "held")
    assert "на проверке: Задержка крупных продаж" in held["description"]


def test_late_rows_are_summed_by_month_operation_and_rule() -> None:
    february = datetime(2026, 2, 10, 9, tzinfo=UTC)
    january = datetime(2026, 1, 20, 9, tzinfo=UTC)
    late = [line(20 + n, "10.00", at=february) for n in range(30)] + [
        line(60, "-5.00", at=february, reverses="S-21"),
        line(61, "7.50", at=january),
    ]
    data = build_statement(HEADER, late, Opening(Decimal("0"), 0), {}, TITLES)
    assert len(data["adjustments"]) == 32  # every row is still there for the CSV
    assert [
        (g["period"], g["label"], g["count"], g["payable"]) for g in data["adjustment_groups"]
    ] == [
        ("январь 2026", "начисления · Процент с продаж (CPS)", 1, "7.50"),
        ("февраль 2026", "начисления · Процент с продаж (CPS)", 30, "300.00"),
        ("февраль 2026", "возвраты · Процент с продаж (CPS)", 1, "-5.00"),
    ]
    assert data["totals"]["adjustments"] == "302.50"


PROGRAMS = [
    ProgramInfo("web-2026", "Интернет-партнёры 2026", False, {"cps": "7 % онлайн"}, TITLES),
    ProgramInfo(
        "stores-2026",
        "Сеть магазинов 2026",
        False,
        {"cps": "5 % в магазинах"},
        {"cps": "Ступенчатый процент"},
    ),
    ProgramInfo("winter", "Зимняя распродажа", True, {}, {"c-winter": "Бонус кампании"}),
]


def test_one_section_per_program_with_totals_that_add_up_to_the_period() -> None:
    """Each program's rows in its own section, named by its title, each rule by its own
    program's words (both programs have a rule ``cps``); payouts apart; the sections'
    sums are the period's, to the kopeck."""
    lines = [
        line(1, "70.01", program="web-2026", event_amount=Decimal("1000.14")),
        line(2, "1000.00", program="web-2026", status="held", reason="hold-large"),
        line(3, "-7.00", program="web-2026", reverses="S-1"),
        line(4, "50.03", program="stores-2026", channel="offline"),
        line(5, "1000.00", program="stores-2026", kind="release", decided_id=99),
        line(6, "12.50", program="stores-2026", at=datetime(2026, 2, 27, 9, tzinfo=UTC)),
        line(7, "33.33", program="winter", rule_key="c-winter"),
        line(8, "-500.00", kind="payout", rule_key=None, event_id=None),
    ]
    data = build_statement(HEADER, lines, Opening(Decimal("10.00"), 0), {}, TITLES, PROGRAMS)
    sections = {section["slug"]: section for section in data["programs"]}
    assert [section["slug"] for section in data["programs"]] == [
        "web-2026",
        "stores-2026",
        "winter",
    ]
    web, stores, winter = sections["web-2026"], sections["stores-2026"], sections["winter"]
    assert web["heading"] == "Программа «Интернет-партнёры 2026»"
    assert winter["heading"] == "Кампания «Зимняя распродажа»"
    assert [g["rule_text"] for g in web["groups"]] == ["7 % онлайн"]
    assert [g["rule_text"] for g in stores["groups"]] == ["5 % в магазинах"]
    assert stores["groups"][0]["heading"] == "Ступенчатый процент · офлайн"
    # a refund row is a commission row too: "accrued" nets it, as the whole statement does
    assert (web["totals"]["accrued"], web["totals"]["held"]) == ("1063.01", "1000.00")
    assert (web["totals"]["reversed"], web["totals"]["change"]) == ("-7.00", "63.01")
    assert (stores["totals"]["released"], stores["totals"]["adjustments"]) == (
        "1000.00",
        "12.50",
    )
    assert stores["totals"]["change"] == "1062.53"
    assert winter["totals"]["change"] == "33.33"
    assert [row["id"] for row in data["other"]["payouts"]] == [8]
    assert data["other"]["heading"] == "Выплаты и записи вне программ"
    assert data["other"]["totals"]["change"] == "-500.00"
    parts = [*data["programs"], data["other"]]
    assert sum((Decimal(p["totals"]["change"]) for p in parts), Decimal("0")) == Decimal(
        data["totals"]["change"]
    )
    assert data["totals"]["change"] == "658.87"
    assert sorted(row["id"] for p in parts for row in p["rows"]) == list(range(1, 9))
    check_reconciles(data, Decimal("10.00"), Decimal("668.87"))


def test_sections_that_do_not_add_up_are_refused() -> None:
    lines = [line(1, "70.01", program="web-2026"), line(2, "5.00", program="stores-2026")]
    data = build_statement(HEADER, lines, Opening(), {}, TITLES, PROGRAMS)
    data["programs"][1]["totals"]["change"] = "5.01"
    with pytest.raises(ReconciliationError):
        check_reconciles(data, Decimal("0.00"), Decimal("75.01"))


def test_a_program_the_statement_does_not_know_is_named_by_its_slug() -> None:
    data = build_statement(HEADER, [line(1, "1.00", program="gone")], Opening(), {}, {}, ())
    assert [(s["slug"], s["title"]) for s in data["programs"]] == [("gone", "gone")]
