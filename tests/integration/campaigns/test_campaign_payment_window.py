"""A campaign's rule pays only for sales that occurred while the campaign was running.

The campaign's own program is published from its first day when it is composed, before
the campaign is even approved (as the probe that found the bug published it). Sales and
refunds come in through intake and are evaluated by a real rq worker; the lifecycle's
actions run on a real worker too, at the instants set by :func:`at` (launched on 5 March
09:00 UTC, closed on 20 March 18:00 UTC). On SQLite and PostgreSQL:

* a sale before the launch earns nothing from the campaign's rule, whether evaluated
  while the campaign is planned or reported after the launch; the program's other
  rules pay for it;
* a sale while running earns the bonus, also when reported after the close;
* a sale at or after the close earns nothing from the campaign's rule;
* the refund of a sale the campaign did not pay takes nothing back from it; the refund
  of a paid sale (after the close) reverses the bonus fully;
* what was dropped spends no budget.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask

from server.campaigns.budget import budget_state
from server.campaigns.commands import compose_campaign
from server.campaigns.models import CampaignStatus
from server.extensions import db
from server.ledger.models import Accrual, AccrualKind, EventStatus, SalesEvent
from server.workflows.models import WorkflowInstance
from tests.integration.workflows.conftest import (
    CampaignWorld,
    approve_campaign,
    campaign_window,
    evaluate,
    fire_at,
    promo_sale,
    run_worker,
    spring_push,
    stored_campaign,
)

SLUG = "spring-window"
RULE_KEY = f"campaign-{SLUG}"
LAUNCHED = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
CLOSED = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)
SALE_AMOUNT = Decimal("10000")  # what promo_sale sells
BONUS = Decimal("400.00")  # 4 % of a sale


def _refund(sale_id: str, occurred_at: str) -> dict[str, str]:
    return {
        "id": f"refund-{sale_id}",
        "type": "refund",
        "occurred_at": occurred_at,
        "refers_to": sale_id,
        "amount": str(SALE_AMOUNT),
        "currency": "RUB",
    }


def _booked(sale_id: str, campaign_rule: bool = True) -> Decimal:
    """What the sale itself booked: the campaign's rule, or every other rule."""
    rule = Accrual.rule_key == RULE_KEY if campaign_rule else Accrual.rule_key != RULE_KEY
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Accrual.amount), 0))
        .join(SalesEvent, Accrual.event_id == SalesEvent.id)
        .where(SalesEvent.external_id == sale_id, Accrual.reverses.is_(None), rule)
    )
    return Decimal(total)


def _taken_back(sale_id: str, campaign_rule: bool = True) -> Decimal:
    """What refunds of the sale took back (negative): the campaign's rule, or the others."""
    rule = Accrual.rule_key == RULE_KEY if campaign_rule else Accrual.rule_key != RULE_KEY
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Accrual.amount), 0)).where(
            Accrual.reverses == sale_id, rule
        )
    )
    return Decimal(total)


def test_the_campaign_rule_pays_only_for_sales_made_while_running(
    wf_app: Flask, campaign_world: CampaignWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, manager = campaign_world, campaign_world.manager_id
    composed = compose_campaign(spring_push(world, slug=SLUG, title="Весеннее окно"), manager)
    campaign_id, [code] = composed.campaign.id, composed.codes
    instance_id = db.session.scalar(
        sa.select(WorkflowInstance.id).where(WorkflowInstance.subject_id == campaign_id)
    )
    assert instance_id is not None
    # the rule is in force from 1 March although the campaign is only planned
    assert composed.version.effective_from == date(2026, 3, 1)

    # -- planned: a sale earns nothing from the campaign's rule; other rules pay -----
    evaluate(wf_app, promo_sale("s-planned", "2026-03-03T12:00:00+03:00", code))
    assert stored_campaign(campaign_id).status is CampaignStatus.plan
    assert _booked("s-planned") == 0
    assert _booked("s-planned", campaign_rule=False) > 0

    # -- approve, then launch at LAUNCHED --------------------------------------------
    approve_campaign(campaign_id, instance_id, manager, Decimal("100000"))
    run_worker(wf_app)
    fire_at(wf_app, monkeypatch, LAUNCHED, instance_id, "launch", manager)
    assert campaign_window(campaign_id) == (CampaignStatus.running, LAUNCHED, None)

    # one minute before the launch, reported after it: nothing; while running: the bonus
    evaluate(
        wf_app,
        promo_sale("s-before-launch", "2026-03-05T11:59:00+03:00", code),
        promo_sale("s-running", "2026-03-10T12:00:00+03:00", code),
    )
    assert _booked("s-before-launch") == 0
    assert _booked("s-before-launch", campaign_rule=False) > 0
    assert _booked("s-running") == BONUS

    # -- close at CLOSED ------------------------------------------------------------
    fire_at(wf_app, monkeypatch, CLOSED, instance_id, "close", manager)
    assert campaign_window(campaign_id) == (CampaignStatus.closed, LAUNCHED, CLOSED)

    # reported after the close: made a minute before it pays; made at it or later not
    evaluate(
        wf_app,
        promo_sale("s-last-minute", "2026-03-20T20:59:00+03:00", code),
        promo_sale("s-at-close", "2026-03-20T21:00:00+03:00", code),
        promo_sale("s-after-close", "2026-03-25T12:00:00+03:00", code),
    )
    assert _booked("s-last-minute") == BONUS
    assert _booked("s-at-close") == 0 and _booked("s-after-close") == 0
    assert _booked("s-after-close", campaign_rule=False) > 0
    assert budget_state(db.session, stored_campaign(campaign_id)).spend == 2 * BONUS

    # -- refunds: nothing back where nothing was paid, the whole bonus where it was --
    evaluate(
        wf_app,
        _refund("s-planned", "2026-03-26T10:00:00+03:00"),
        _refund("s-after-close", "2026-03-26T10:01:00+03:00"),
        _refund("s-running", "2026-03-26T10:02:00+03:00"),
    )
    refunds = db.session.scalars(
        sa.select(SalesEvent.status).where(SalesEvent.external_id.like("refund-%"))
    ).all()
    assert refunds == [EventStatus.processed] * 3
    assert _taken_back("s-planned") == 0 and _taken_back("s-after-close") == 0
    # the other rules' accruals of those sales are reversed as usual
    assert _taken_back("s-after-close", campaign_rule=False) == -_booked(
        "s-after-close", campaign_rule=False
    )
    assert _taken_back("s-running") == -BONUS
    bonus_rows = db.session.scalars(
        sa.select(Accrual.kind).where(Accrual.rule_key == RULE_KEY).order_by(Accrual.id)
    ).all()
    assert bonus_rows == [AccrualKind.bonus] * 3  # s-running, s-last-minute, the refund
    assert budget_state(db.session, stored_campaign(campaign_id)).spend == BONUS
