"""Dashboards: KPIs per region, channel, kind and campaign computed in SQL, SVG charts
without any network resource, CSV export, and who may see them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask

from server.campaigns.models import Campaign, CampaignKind
from server.dashboards.queries import DashboardFilter, Dimension, breakdown, growth, ranking
from server.dashboards.rollup import refresh_rollups
from server.extensions import db
from server.ledger.models import AccrualKind, AccrualStatus, EventType
from server.partners.models import Partner, PartnerKind
from server.programs.models import Program, ProgramVersion, RuleInstance, VersionStatus
from server.security.roles import Role
from tests.support.factories import accrual, partner, sale
from tests.support.pages import external_fetches
from tests.support.web import login

JUNE = datetime(2026, 6, 10, 12, tzinfo=UTC)
JULY = datetime(2026, 7, 10, 12, tzinfo=UTC)
RANGE = DashboardFilter(date(2026, 6, 1), date(2026, 7, 31))


def _ledger() -> None:
    north, south = partner("N-1", "A"), partner("S-1", "B", PartnerKind.offline_point)
    old = sale("OLD", north, datetime(2026, 1, 5, tzinfo=UTC), "100.00", customer="c-old")
    assert old.occurred_at is not None
    accrual(old, north, "10.00", old.occurred_at)  # before the range: not counted
    first = sale("J-1", north, JUNE, "1000.00", customer="c-old")
    second = sale("J-2", north, JULY, "3000.00", customer="c-new", channel="offline")
    third = sale("J-3", south, JULY, "500.00", customer="c-3")
    for index in range(4):
        sale(f"L-{index}", north, JUNE, "0", type_=EventType.lead, customer=f"lead-{index}")
    program = Program(slug="p", title="P", currency="RUB")
    version = ProgramVersion(program=program, number=1, status=VersionStatus.published)
    campaign = Campaign(
        slug="summer",
        title="Summer",
        kind=CampaignKind.seasonal,
        starts_on=date(2026, 6, 1),
        ends_on=date(2026, 8, 31),
    )
    db.session.add_all([program, version, campaign])
    db.session.flush()
    rule = RuleInstance(
        program_version_id=version.id,
        position=1,
        rule_key="summer-bonus",
        template_key="cps",
        campaign_id=campaign.id,
    )
    db.session.add(rule)
    db.session.flush()
    accrual(first, north, "100.00", JUNE)
    accrual(second, north, "300.00", JULY).rule_instance_id = rule.id
    accrual(second, north, "50.00", JULY, status=AccrualStatus.held)  # not a cost yet
    accrual(third, south, "25.00", JULY)
    accrual(None, north, "-400.00", JULY, kind=AccrualKind.payout)  # not a cost
    db.session.commit()


def test_kpis_per_dimension_are_computed_in_sql(app: Flask) -> None:
    with app.app_context():
        _ledger()
        refresh_rollups()
        by_region = {row.label: row for row in breakdown(RANGE)}
        assert set(by_region) == {"A", "B"}
        a = by_region["A"]
        assert (a.sales_count, a.sales_amount, a.leads) == (2, Decimal("4000.00"), 4)
        assert a.average_check == Decimal("2000.00")
        # online sales per lead: J-1 (online) of 4 leads; J-2 was offline and had no lead
        assert a.conversion == Decimal("0.2500")
        assert a.accrued == Decimal("400.00")
        assert a.roi == Decimal("9.00")
        assert a.new_customers == 1  # c-old bought before the range
        by_channel = {
            row.label: row
            for row in breakdown(DashboardFilter(RANGE.date_from, RANGE.date_to, Dimension.channel))
        }
        assert by_channel["offline"].sales_amount == Decimal("3000.00")
        assert by_channel["online"].sales_amount == Decimal("1500.00")
        assert by_channel["offline"].conversion is None  # offline sales have no leads
        by_kind = {
            row.label: row
            for row in breakdown(DashboardFilter(RANGE.date_from, RANGE.date_to, Dimension.kind))
        }
        assert by_kind["offline_point"].accrued == Decimal("25.00")
        by_campaign = breakdown(DashboardFilter(RANGE.date_from, RANGE.date_to, Dimension.campaign))
        assert [(r.label, r.sales_amount, r.accrued) for r in by_campaign] == [
            ("summer", Decimal("3000.00"), Decimal("300.00"))
        ]
        months = growth(RANGE)
        assert months == [
            ("2026-06", Decimal("1000.00"), None),
            ("2026-07", Decimal("3500.00"), Decimal("2.5000")),
        ]
        assert [code for code, *_rest in ranking(RANGE)] == ["N-1", "S-1"]


def test_the_dashboard_page_draws_svg_and_exports_csv(app: Flask) -> None:
    with app.app_context():
        _ledger()
    client = login(app, Role.MANAGER)
    page = client.get("/dashboard/?from=2026-06-01&to=2026-07-31&by=region")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<svg xmlns="http://www.w3.org/2000/svg" id="sales-chart"' in html
    assert 'id="growth-chart"' in html
    assert external_fetches(html) == []
    # Regression: «Конверсия 608,68 %» (all sales / leads), then «308,33 %» (online
    # sales / leads as a percentage): a ratio of sales to leads, said so, never a rate
    assert "Конверсия" not in html
    assert html.count("Продаж на лид (онлайн)") == 2
    assert html.count("поэтому офлайн-продажи не учитываются") == 2
    assert html.count("это не доля лидов, ставших покупателями") == 2
    kpi = html.split('data-kpi="conversion">')[1].split("<")[0]
    assert kpi == "0,5", kpi  # 2 online sales (J-1, J-3) of 4 leads
    exported = client.get("/dashboard/export.csv?from=2026-06-01&to=2026-07-31&by=channel")
    rows = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert {row["group"]: row["sales_amount"] for row in rows} == {
        "offline": "3000.00",
        "online": "1500.00",
    }
    assert login(app, Role.LEGAL).get("/dashboard/").status_code == 200
    assert client.get("/").status_code == 200  # the manager's first page stays


def test_rollups_refresh_incrementally_and_move_a_customers_first_sale(app: Flask) -> None:
    from server.db.types import utcnow

    with app.app_context():
        _ledger()
        refresh_rollups()
        july = DashboardFilter(date(2026, 7, 1), date(2026, 7, 31))
        assert {r.label: r.new_customers for r in breakdown(july)} == {"A": 1, "B": 1}
        north = db.session.scalars(sa.select(Partner).where(Partner.code == "N-1")).one()
        late = sale("LATE", north, datetime(2026, 6, 20, tzinfo=UTC), "700.00", customer="c-new")
        late.processed_at = utcnow()
        assert late.occurred_at is not None
        accrual(late, north, "70.00", late.occurred_at, created_at=utcnow())
        db.session.commit()
        refresh_rollups()
        refresh_rollups()  # twice changes nothing
        assert {r.label: r.new_customers for r in breakdown(july)} == {"A": 0, "B": 1}
        june = {r.label: r for r in breakdown(DashboardFilter(date(2026, 6, 1), date(2026, 6, 30)))}
        assert (june["A"].sales_amount, june["A"].accrued, june["A"].new_customers) == (
            Decimal("1700.00"),
            Decimal("170.00"),
            1,
        )


def test_stale_rollups_are_refreshed_by_a_worker_job(app: Flask) -> None:
    from datetime import timedelta

    from server.dashboards.models import KpiRefresh
    from server.db.types import utcnow
    from server.queues import get_queue
    from server.tasks.dashboards import ensure_rollups
    from tests.integration.statements.support import run_worker_on

    with app.app_context():
        _ledger()
        built = ensure_rollups()  # never built: built in the request
        state = db.session.get(KpiRefresh, 1)
        assert state is not None
        state.refreshed_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        stale = ensure_rollups()
        assert stale < built  # answered from the rollups as they are
        assert "kpi-rollups-refresh" in get_queue("default", app).get_job_ids()
    run_worker_on(app, "default")
    with app.app_context():
        db.session.expire_all()
        assert ensure_rollups() > stale
