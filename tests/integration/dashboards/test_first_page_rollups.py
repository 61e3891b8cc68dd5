"""The manager's first page reads the per-partner rollup: its overview and ranking equal
the raw ledger's (server.ledger.queries) to the kopeck once the rollups are fresh,
after a full build and after incremental refreshes, and the page says "as of".
"Awaiting review" counts the holds no manager has decided yet (with their refunds)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask

from server.dashboards.models import KpiPartnerTotal, KpiRefresh
from server.dashboards.overview import overview, top_partners
from server.dashboards.rollup import refresh_rollups
from server.db.types import utcnow
from server.extensions import db
from server.ledger.holds import decide_hold
from server.ledger.models import (
    Accrual,
    AccrualKind,
    AccrualStatus,
    EventStatus,
    EventType,
    HoldVerdict,
)
from server.ledger.queries import ledger_overview
from server.ledger.queries import top_partners as ledger_top_partners
from server.partners.models import Partner, PartnerKind, PartnerStatus
from server.security.roles import Role
from tests.support.factories import accrual, partner, sale
from tests.support.web import login

JUNE = datetime(2026, 6, 10, 12, tzinfo=UTC)
JULY = datetime(2026, 7, 10, 12, tzinfo=UTC)


def _ledger() -> None:
    north, south = partner("N-1", "A"), partner("S-1", "B", PartnerKind.offline_point)
    held_only, zero = partner("H-1", "A"), partner("Z-1", "C", PartnerKind.ambassador)
    partner("O-1", "A").status = PartnerStatus.onboarding
    first = sale("J-1", north, JUNE, "1000.10")
    second = sale("J-2", north, JULY, "3000.20", channel="offline")
    third = sale("J-3", south, JULY, "500.33")
    sale("L-1", north, JUNE, "0", type_=EventType.lead)  # a lead is not a sale
    orphan = sale("ORPHAN", north, JULY, "77.07")
    orphan.partner_id = None  # processed without a partner: counted in sales, not ranked
    sale("WAIT", north, JULY, "10.00").status = EventStatus.pending
    sale("BAD", south, JULY, "20.00").status = EventStatus.rejected
    accrual(first, north, "100.01", JUNE)
    accrual(second, north, "300.02", JULY)
    accrual(second, north, "50.05", JULY, status=AccrualStatus.held)
    accrual(third, south, "25.03", JULY)
    accrual(third, held_only, "9.99", JULY, status=AccrualStatus.held)  # held only: unranked
    accrual(None, zero, "12.34", JUNE, kind=AccrualKind.adjustment)
    accrual(None, zero, "-12.34", JULY, kind=AccrualKind.payout)  # ranked, at 0.00
    accrual(None, north, "-100.01", JULY, kind=AccrualKind.payout)  # payouts count
    db.session.commit()


def _ranking() -> list[tuple[str, Decimal]]:
    return [(row.code, row.amount) for row in top_partners()]


def _ledger_ranking() -> list[tuple[str, Decimal]]:
    return [(p.code, amount) for p, amount in ledger_top_partners()]


def test_overview_and_ranking_equal_the_ledger_after_a_full_build(app: Flask) -> None:
    with app.app_context():
        _ledger()
        refresh_rollups()
        figures = overview()
        assert figures == ledger_overview()
        assert (figures.partners_active, figures.partners_total) == (4, 5)
        assert (figures.sales_count, figures.sales_amount) == (4, Decimal("4577.70"))
        assert figures.accrued_approved == Decimal("325.05")
        assert figures.awaiting_review == Decimal("60.04")
        assert (figures.events_pending, figures.events_rejected) == (1, 1)
        assert _ranking() == _ledger_ranking()
        assert _ranking() == [
            ("N-1", Decimal("300.02")),
            ("S-1", Decimal("25.03")),
            ("Z-1", Decimal("0.00")),
        ]
        row = top_partners()[1]
        assert (row.name, row.kind, row.region_code) == (
            "Партнёр S-1",
            PartnerKind.offline_point,
            "B",
        )
        assert all(isinstance(value, Decimal) for value in (figures.sales_amount, row.amount))


def _partner(code: str) -> Partner:
    return db.session.scalars(sa.select(Partner).where(Partner.code == code)).one()


def test_incremental_refreshes_keep_the_overview_equal_to_the_ledger(app: Flask) -> None:
    with app.app_context():
        _ledger()
        refresh_rollups()
        north, south = _partner("N-1"), _partner("S-1")
        now = utcnow()
        late = sale("LATE", south, JUNE, "999.99")
        late.processed_at = now
        accrual(late, south, "400.00", JUNE, created_at=now)  # overtakes N-1
        newcomer = partner("NEW-1", "C")
        fresh = sale("NEW", newcomer, JULY, "0.01")
        fresh.processed_at = now
        accrual(fresh, newcomer, "0.01", JULY, created_at=now)
        accrual(None, north, "-300.02", JULY, kind=AccrualKind.payout, created_at=now)
        db.session.commit()
        assert overview().sales_count == 4  # the rollups are as of the last refresh
        refresh_rollups()
        assert overview() == ledger_overview()
        assert _ranking() == _ledger_ranking()
        assert _ranking()[:2] == [("S-1", Decimal("425.03")), ("NEW-1", Decimal("0.01"))]
        assert overview().sales_amount == Decimal("5577.70")
        refresh_rollups()  # twice changes nothing
        assert overview() == ledger_overview()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(KpiPartnerTotal)) == 6


def _kpi(page: str, name: str) -> str:
    text = page.split(f'data-kpi="{name}">')[1].split("</p>")[0]
    return text.replace("\xa0", " ").replace("\u202f", " ").strip()


def test_the_first_page_shows_the_rollup_as_of_its_refresh(app: Flask) -> None:
    with app.app_context():
        _ledger()
    client = login(app, Role.MANAGER)
    page = client.get("/").get_data(as_text=True)  # never built: built in the request
    assert 'id="as-of"' in page and "данные на" in page
    assert _kpi(page, "approved") == "325,05 ₽"
    assert "Ждут решения" in page
    assert _kpi(page, "awaiting-review") == "60,04 ₽"
    assert _kpi(page, "sales") == "4 577,70 ₽"
    ranking = page.split('id="ranking"')[1].split("</table>")[0]
    assert ranking.index("N-1") < ranking.index("S-1") < ranking.index("Z-1")
    assert "H-1" not in ranking and "O-1" not in ranking
    with app.app_context():
        as_of = db.session.scalar(sa.select(KpiRefresh.refreshed_at))
        assert as_of is not None
        accrual(None, _partner("N-1"), "1000.00", JULY, created_at=utcnow())
        db.session.commit()
    page = client.get("/").get_data(as_text=True)  # fresh (< 60 s): read as they are
    assert as_of.strftime("%d.%m.%Y %H:%M") in page
    assert _kpi(page, "approved") == "325,05 ₽"
    with app.app_context():
        refresh_rollups()  # what the worker's job does once they are stale
        assert overview() == ledger_overview()
    page = client.get("/").get_data(as_text=True)
    assert _kpi(page, "approved") == "1 325,05 ₽"


HELD = AccrualStatus.held


def _refreshed() -> tuple[Decimal, Decimal]:
    """Refresh incrementally; the rollup equals the raw ledger; (awaiting, approved)."""
    refresh_rollups()
    figures = overview()
    assert figures == ledger_overview()
    assert _ranking() == _ledger_ranking()
    return figures.awaiting_review, figures.accrued_approved


def _totals(code: str) -> tuple[Decimal, Decimal]:
    row = db.session.get(KpiPartnerTotal, _partner(code).id)
    assert row is not None
    return row.awaiting_review, row.approved


def _holds() -> dict[str, Accrual]:
    """Partner P-1's held commission on J-1 and J-2 and Q-1's held override on J-1."""
    seller, upline = partner("P-1", "A"), partner("Q-1", "B")
    first = sale("J-1", seller, JUNE, "1000.00")
    second = sale("J-2", seller, JUNE, "400.00")
    third = sale("J-3", seller, JULY, "250.00")
    rows = {
        "P-1/J-1": accrual(first, seller, "100.00", JUNE, status=HELD, reason="hold-large"),
        "P-1/J-2": accrual(second, seller, "40.00", JUNE, status=HELD, reason="hold-large"),
        "Q-1/J-1": accrual(first, upline, "10.00", JUNE, status=HELD, rule="override"),
    }
    rows["Q-1/J-1"].level = 1
    accrual(third, seller, "25.00", JULY)
    db.session.commit()
    return rows


def _refund_half_of_j1() -> None:
    """The evaluation's reversals of J-1's held rows: held, ``reverses`` = J-1."""
    now = utcnow()
    seller, upline = _partner("P-1"), _partner("Q-1")
    refund = sale("R-1", seller, JULY, "500.00", type_=EventType.refund)
    accrual(refund, seller, "-50.00", JULY, status=HELD, reverses="J-1", created_at=now)
    override = accrual(
        refund, upline, "-5.00", JULY, status=HELD, rule="override", reverses="J-1", created_at=now
    )
    override.level = 1
    db.session.commit()


def test_awaiting_review_counts_undecided_holds_and_their_refunds(app: Flask) -> None:
    with app.app_context():
        holds = _holds()
        assert _refreshed() == (Decimal("150.00"), Decimal("25.00"))

        _refund_half_of_j1()  # before any decision: the refund lowers what awaits
        assert _refreshed() == (Decimal("95.00"), Decimal("25.00"))
        assert _totals("P-1") == (Decimal("90.00"), Decimal("25.00"))
        assert _totals("Q-1") == (Decimal("5.00"), Decimal("0.00"))

        decide_hold(holds["P-1/J-1"].id, HoldVerdict.approve)
        # the rollup is as of its last refresh until the next one recomputes P-1
        assert overview().awaiting_review == Decimal("95.00")
        # released once: +100.00 and the refund's -50.00, no longer awaiting
        assert _refreshed() == (Decimal("45.00"), Decimal("75.00"))
        assert _totals("P-1") == (Decimal("40.00"), Decimal("75.00"))
        assert _totals("Q-1") == (Decimal("5.00"), Decimal("0.00"))  # Q-1's hold is its own

        decide_hold(holds["P-1/J-2"].id, HoldVerdict.reject, comment="fraud")
        assert _refreshed() == (Decimal("5.00"), Decimal("75.00"))  # approved unchanged

        decide_hold(holds["Q-1/J-1"].id, HoldVerdict.reject, comment="fraud")
        assert _refreshed() == (Decimal("0.00"), Decimal("75.00"))
        assert _totals("Q-1") == (Decimal("0.00"), Decimal("0.00"))
        # a forfeit is an approved row of 0.00: Q-1 is ranked, as in the raw ledger
        assert _ranking() == [("P-1", Decimal("75.00")), ("Q-1", Decimal("0.00"))]
        assert _refreshed() == (Decimal("0.00"), Decimal("75.00"))  # twice changes nothing


def test_an_approval_without_refund_moves_the_hold_to_approved_once(app: Flask) -> None:
    with app.app_context():
        holds = _holds()
        refresh_rollups()
        decide_hold(holds["Q-1/J-1"].id, HoldVerdict.approve)
        assert _refreshed() == (Decimal("140.00"), Decimal("35.00"))
        assert _totals("Q-1") == (Decimal("0.00"), Decimal("10.00"))


def test_the_first_page_shows_what_awaits_review(app: Flask) -> None:
    with app.app_context():
        held_id = _holds()["P-1/J-1"].id
    client = login(app, Role.MANAGER)
    page = client.get("/").get_data(as_text=True)
    assert "Ждут решения" in page and "На удержании" not in page
    assert _kpi(page, "awaiting-review") == "150,00 ₽"
    with app.app_context():
        decide_hold(held_id, HoldVerdict.approve)
        refresh_rollups()
    page = client.get("/").get_data(as_text=True)
    assert _kpi(page, "awaiting-review") == "50,00 ₽"
    assert _kpi(page, "approved") == "125,00 ₽"
