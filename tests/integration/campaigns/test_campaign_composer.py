"""Campaigns: composing creates the campaign's own program (never a draft of its
program), codes and lifecycle; budget caps from the ledger; the running window on a
batch's rows; the campaign page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask

from server.audit.models import AuditEntry
from server.campaigns.budget import (
    BudgetCaps,
    BudgetLevel,
    budget_state,
    budget_states,
    capped_rule_keys,
)
from server.campaigns.commands import (
    CampaignInvalid,
    ComposedCampaign,
    NewCampaign,
    compose_campaign,
    update_budget,
)
from server.campaigns.models import Campaign, CampaignKind, CampaignStatus
from server.campaigns.report import campaign_report
from server.errors import CommandError
from server.extensions import db
from server.ledger.models import Accrual, AccrualKind, AccrualStatus, EventType, SalesEvent
from server.partners.models import AttributionCode, Partner
from server.programs.commands import new_draft
from server.programs.models import Program, ProgramVersion, VersionStatus
from server.programs.queries import version_spec
from server.security.roles import Role
from server.workflows.definitions import import_definition_files
from server.workflows.models import WorkflowInstance
from tests.integration.workspace.helpers import load_basic, manager
from tests.support.crawl import page_token
from tests.support.web import login

pytestmark = pytest.mark.spec_examples


def _partner(code: str) -> Partner:
    partner = db.session.scalar(sa.select(Partner).where(Partner.code == code))
    assert partner is not None
    return partner


def _compose(
    kind: CampaignKind,
    budget: str | None = "1000",
    partners: tuple[str, ...] = (),
    slug: str = "spring",
    **extra: object,
) -> ComposedCampaign:
    if db.session.scalar(sa.select(sa.func.count(Partner.id))) == 0:
        load_basic()
    program_id = db.session.scalar(sa.select(Program.id).where(Program.slug == "example-2026"))
    return compose_campaign(
        NewCampaign(
            slug=slug,
            title="Весна",
            kind=kind,
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 3, 31),
            program_id=program_id,
            partner_ids=tuple(_partner(code).id for code in partners),
            regions=("A",),
            budget=Decimal(budget) if budget else None,
            **extra,  # type: ignore[arg-type]
        ),
        manager() if db.session.scalar(sa.text("select count(*) from ab_user")) == 0 else None,
    )


def test_promo_push_creates_rule_codes_and_lifecycle(app_ctx: Flask) -> None:
    import_definition_files()
    composed = _compose(CampaignKind.promo_push, partners=("WEB-1",), rate=Decimal("4"))
    assert composed.problems == []
    campaign, version = composed.campaign, composed.version
    assert campaign.status is CampaignStatus.plan
    # the campaign's own program, published from its first day: its rule, then the
    # holds of the program it is for
    assert version.program.slug == "campaign-spring" and version.program.title == "Весна"
    assert campaign.rules_program_id == version.program_id != campaign.program_id
    assert (version.status, version.effective_from) == (VersionStatus.published, date(2026, 3, 1))
    assert [r.template_key for r in version.rules] == ["campaign_bonus", "hold_large_sale"]
    rule = version.rules[0]
    assert (rule.rule_key, rule.template_key, rule.campaign_id) == (
        "campaign-spring",
        "campaign_bonus",
        campaign.id,
    )
    assert rule.params == {"campaign": "Весна", "rate": "4"}
    assert rule.scope == {
        "valid_from": "2026-03-01",
        "valid_to": "2026-03-31",
        "regions": ["A"],
        "channels": ["online"],
    }
    codes = db.session.scalars(
        sa.select(AttributionCode).where(AttributionCode.campaign_id == campaign.id)
    ).all()
    assert len(codes) == 1 and codes[0].code == composed.codes[0]
    instance = db.session.scalar(
        sa.select(WorkflowInstance).where(WorkflowInstance.subject_id == campaign.id)
    )
    assert instance is not None and instance.state == "plan"
    assert "campaign.compose" in db.session.scalars(sa.select(AuditEntry.action)).all()


def test_composing_never_opens_a_draft_of_its_program(app_ctx: Flask) -> None:
    # Regression: composing opened a second draft ("её правило — в черновике v3")
    # beside the manager's open v2, and one of them was published over the other
    import_definition_files()
    published = load_basic()
    draft = new_draft(published.id, None)  # a manager is editing the program
    composed = _compose(CampaignKind.promo_push, partners=("WEB-1",))
    versions = db.session.scalars(
        sa.select(ProgramVersion).where(ProgramVersion.program_id == published.program_id)
    ).all()
    assert [(v.number, v.status) for v in versions] == [
        (1, VersionStatus.published),
        (2, VersionStatus.draft),
    ]
    assert [r.rule_key for r in draft.rules] == [r.rule_key for r in published.rules]
    assert composed.version.program_id != published.program_id
    # the workspace lists the campaign's program apart from the programs, by campaign
    page = login(app_ctx, Role.ADMIN, username="boss").get("/workspace/").text
    programs, campaign_programs = page.split('id="pf-campaign-programs"')
    assert "campaign-spring" not in programs and "campaign-spring" in campaign_programs
    # and a second draft of one program is refused with the reason
    with pytest.raises(CommandError, match="уже есть черновик v2"):
        new_draft(published.id, None)


def test_a_campaigns_program_enrols_whom_its_program_enrols(app_ctx: Flask) -> None:
    load_basic()
    base = db.session.scalar(
        sa.select(ProgramVersion).join(Program).where(Program.slug == "example-2026")
    )
    assert base is not None
    base.enrolment = {"regions": ["A"], "partners": ["B-WEB-01"]}
    db.session.commit()
    composed = _compose(CampaignKind.seasonal)
    own = version_spec(composed.version)
    assert own.enrolment.to_dict() == {"regions": ["A"], "partners": ["B-WEB-01"]}


def test_a_campaign_is_not_for_another_campaigns_program(app_ctx: Flask) -> None:
    import_definition_files()
    first = _compose(CampaignKind.promo_push, partners=("WEB-1",))
    with pytest.raises(CampaignInvalid) as refused:
        compose_campaign(
            NewCampaign(
                slug="second",
                title="Вторая",
                kind=CampaignKind.promo_push,
                starts_on=date(2026, 3, 1),
                ends_on=date(2026, 3, 31),
                program_id=first.version.program_id,
            ),
            None,
        )
    assert set(refused.value.issues) == {"program_id"}


def test_offline_event_scopes_its_cofactors_and_needs_a_place(app_ctx: Flask) -> None:
    with pytest.raises(CommandError):
        _compose(CampaignKind.offline_event)
    db.session.rollback()
    composed = _compose(CampaignKind.offline_event, place="Expo hall", partners=("SHOP-1",))
    scope = composed.version.rules[0].scope
    assert scope["channels"] == ["offline"] and scope["partners"] == ["SHOP-1"]


def _accrual(key: str, amount: str, partner: Partner, **extra: object) -> Accrual:
    row = Accrual(
        dedupe_key=key,
        partner_id=partner.id,
        rule_key=extra.pop("rule_key", "campaign-spring"),
        kind=extra.pop("kind", AccrualKind.bonus),
        amount=Decimal(amount),
        points=0,
        status=extra.pop("status", AccrualStatus.approved),
        **extra,
    )
    db.session.add(row)
    db.session.flush()
    return row


def test_spend_warning_cap_and_batch_filter(app_ctx: Flask) -> None:
    composed = _compose(CampaignKind.seasonal, budget="1000")
    campaign = composed.campaign
    campaign.running_since = LAUNCHED  # the cap is about a running campaign
    shop = _partner("SHOP-1")
    _accrual("a", "500", shop)
    held = _accrual("b", "300", shop, status=AccrualStatus.held)
    db.session.commit()
    state = budget_state(db.session, campaign)
    assert (state.spend, state.level) == (Decimal("800.00"), BudgetLevel.warning)
    # a forfeited hold gives its amount back
    _accrual("c", "0", shop, kind=AccrualKind.forfeit, reverses_accrual_id=held.id)
    db.session.commit()
    assert budget_state(db.session, campaign).spend == Decimal("500.00")
    assert capped_rule_keys(db.session) == set()
    caps = BudgetCaps.load(db.session)
    rows = [
        {
            "dedupe_key": f"shop|s{i}|campaign-spring|SHOP-1|0",
            "rule_key": "campaign-spring",
            "partner_id": shop.id,
            "kind": AccrualKind.bonus,
            "amount": Decimal("300.00"),
            "points": 0,
            "reverses": None,
            "occurred_at": datetime(2026, 3, 10, tzinfo=UTC),
        }
        for i in range(3)
    ]
    assert [r["amount"] for r in caps.apply(rows)] == [Decimal("300.00"), Decimal("200.00")]
    _accrual("d", "500", shop)
    db.session.commit()
    assert budget_state(db.session, campaign).level is BudgetLevel.reached
    assert capped_rule_keys(db.session) == {"campaign-spring"}
    assert capped_rule_keys(db.session, date(2026, 4, 1)) == set()  # outside its period
    update_budget(campaign.id, Decimal("2000"), None)
    assert budget_state(db.session, campaign).level is BudgetLevel.ok


def test_the_budgets_of_many_campaigns_are_read_in_three_queries(app_ctx: Flask) -> None:
    spring = _compose(CampaignKind.seasonal, budget="1000").campaign
    autumn = _compose(CampaignKind.seasonal, budget="120", slug="autumn").campaign
    unused = _compose(CampaignKind.seasonal, budget=None, slug="winter").campaign
    shop = _partner("SHOP-1")
    _accrual("a", "500", shop)
    held = _accrual("b", "300", shop, status=AccrualStatus.held)
    _accrual("c", "0", shop, kind=AccrualKind.forfeit, reverses_accrual_id=held.id)
    _accrual("d", "150", shop, rule_key="campaign-autumn")
    _accrual("e", "-50", shop, rule_key="campaign-autumn", reverses="d")
    _accrual("f", "70", shop, rule_key="campaign-autumn", kind=AccrualKind.points)  # spends nothing
    db.session.commit()
    for campaign in (spring, autumn, unused):
        db.session.refresh(campaign)  # loaded, as the list page has them
    statements: list[str] = []

    def counted(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(db.engine, "before_cursor_execute", counted)
    try:
        states = budget_states(db.session, [spring, autumn, unused])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", counted)
    assert len(statements) == 3
    assert {i: (s.spend, s.level) for i, s in states.items()} == {
        spring.id: (Decimal("500.00"), BudgetLevel.ok),
        autumn.id: (Decimal("100.00"), BudgetLevel.warning),
        unused.id: (Decimal("0.00"), BudgetLevel.no_cap),
    }
    assert states[autumn.id].rule_keys == {"campaign-autumn"}
    assert budget_state(db.session, autumn) == states[autumn.id]


def test_reversal_against_the_ledger_is_clamped_to_what_was_booked(app_ctx: Flask) -> None:
    _compose(CampaignKind.seasonal, budget="100")
    shop = _partner("SHOP-1")
    sale = SalesEvent(
        source="shop",
        external_id="s1",
        occurred_at=datetime(2026, 3, 2, 10, tzinfo=UTC),
        type=EventType.sale,
        amount=Decimal("3000"),
        channel="online",
        customer="k1",
        payload={},
        payload_sha256="x",
    )
    db.session.add(sale)
    db.session.flush()
    _accrual("shop|s1|campaign-spring|SHOP-1|0", "100", shop, event_id=sale.id)  # was cut from 150
    db.session.commit()
    caps = BudgetCaps.load(db.session)
    refund = {
        "dedupe_key": "shop|r1|campaign-spring|SHOP-1|0",
        "rule_key": "campaign-spring",
        "partner_id": shop.id,
        "kind": AccrualKind.bonus,
        "amount": Decimal("-150.00"),
        "points": 0,
        "reverses": "s1",
    }
    assert caps.apply([refund])[0]["amount"] == Decimal("-100.00")
    report = campaign_report(db.session, composed_campaign())
    assert (report.total.sales, report.total.accruals) == (Decimal("3000"), Decimal("100.00"))
    assert report.total.new_customers == 1 and report.total.roi == Decimal("29.00")
    assert [(r.key, r.orders) for r in report.by_channel] == [("online", 1)]
    assert [r.key for r in report.by_partner] == ["SHOP-1"]


LAUNCHED = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
CLOSED = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)


def _row(
    sale: str, amount: str, occurred_at: datetime, partner: Partner, **extra: object
) -> dict[str, object]:
    return {
        "dedupe_key": f"shop|{sale}|campaign-spring|SHOP-1|0",
        "rule_key": extra.pop("rule_key", "campaign-spring"),
        "partner_id": partner.id,
        "kind": AccrualKind.bonus,
        "amount": Decimal(amount),
        "points": 0,
        "reverses": None,
        "occurred_at": occurred_at,
        **extra,
    }


@pytest.mark.parametrize("budget", [None, "1000"])
def test_rows_outside_the_running_window_are_dropped_and_spend_nothing(
    app_ctx: Flask, budget: str | None
) -> None:
    campaign = _compose(CampaignKind.seasonal, budget=budget).campaign
    shop = _partner("SHOP-1")
    march = [datetime(2026, 3, day, 12, tzinfo=UTC) for day in (4, 10, 25)]
    not_launched = BudgetCaps.load(db.session).apply(
        [_row("s0", "100", march[1], shop), _row("s0", "7", march[1], shop, rule_key="other")]
    )
    assert [r["rule_key"] for r in not_launched] == ["other"]  # other rules pass
    campaign.running_since, campaign.closed_at = LAUNCHED, CLOSED
    db.session.commit()
    caps = BudgetCaps.load(db.session)
    kept = caps.apply(
        [
            _row("s1", "100", march[0], shop),  # before the launch
            _row("s2", "100", LAUNCHED, shop),  # at the launch: pays
            _row("s3", "100", march[1], shop),
            _row("s4", "100", CLOSED, shop),  # at the close: no longer
            _row("s5", "100", march[2], shop),
            # refunds in the same batch: of a dropped sale nothing, of a paid one all
            _row("r1", "-100", march[2], shop, reverses="s1"),
            _row("r3", "-100", march[2], shop, reverses="s3"),
        ]
    )
    assert [(r["dedupe_key"].split("|")[1], r["amount"]) for r in kept] == [
        ("s2", Decimal("100")),
        ("s3", Decimal("100")),
        ("r3", Decimal("-100")),
    ]
    if budget is not None:
        assert caps.pools.remaining[campaign.id] == Decimal("900")


def test_the_campaign_page_shows_when_it_ran(ws_app: Flask) -> None:
    client = login(ws_app, Role.ADMIN, username="boss")
    with ws_app.app_context():
        campaign_id = _compose(CampaignKind.seasonal).campaign.id
    page = client.get(f"/campaign-workspace/{campaign_id}").text
    assert "Не запускалась" in page and "В работе с" not in page
    with ws_app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.running_since, campaign.closed_at = LAUNCHED, CLOSED
        db.session.commit()
    page = client.get(f"/campaign-workspace/{campaign_id}").text
    assert "В работе с 05.03.2026 09:00 UTC" in page
    assert "завершена 20.03.2026 18:00 UTC" in page
    assert "Не запускалась" not in page


def test_the_budget_field_reads_as_printed_and_saves_back_unchanged(ws_app: Flask) -> None:
    client = login(ws_app, Role.ADMIN, username="boss")
    with ws_app.app_context():
        campaign_id = _compose(CampaignKind.seasonal, budget="30000.50").campaign.id
    page = client.get(f"/campaign-workspace/{campaign_id}").text
    # grouped with a no-break space and a decimal comma, as every amount on the page
    shown = re.search(r'<input name="budget"[^>]*value="([^"]*)"', page)
    assert shown is not None and shown.group(1) == "30\xa0000,5"
    assert "Продаж по кодам кампании пока нет." in page  # empty report tables say so
    token = page_token(page)
    saved = client.post(
        f"/campaign-workspace/{campaign_id}/budget",
        data={"budget": shown.group(1), "csrf_token": token},
        follow_redirects=True,
    )
    assert "Бюджет сохранён" in saved.text
    with ws_app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.budget == Decimal("30000.50")


def composed_campaign() -> Campaign:
    return db.session.scalar(sa.select(Campaign).where(Campaign.slug == "spring"))
