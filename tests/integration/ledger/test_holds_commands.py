"""Hold decisions: each adds ledger rows, a decision row and an audit entry, once."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask

from server.audit.models import AuditEntry
from server.extensions import db
from server.ledger.holds import (
    REJECTED_REASON,
    BulkTooLargeError,
    HoldDecisionError,
    ReasonRequiredError,
    Refusal,
    decide_hold,
    decide_holds,
    release_followups,
)
from server.ledger.models import (
    Accrual,
    AccrualKind,
    AccrualStatus,
    EventType,
    HoldDecision,
    HoldVerdict,
)
from server.partners.models import Partner
from tests.support.factories import accrual, held, partner, payable, sale


def _held(owner: Partner, *amounts: str) -> list[Accrual]:
    """A held row of each amount, on the owner's sales s1, s2, …; committed."""
    rows = [held(sale(f"s{i}", owner), owner, amount) for i, amount in enumerate(amounts, 1)]
    db.session.commit()
    return rows


def _rows(kind: AccrualKind) -> list[Accrual]:
    return list(db.session.scalars(sa.select(Accrual).where(Accrual.kind == kind)))


def test_approve_adds_a_release_row_decision_and_audit_entry(app_ctx: Flask) -> None:
    owner = partner()
    order = sale("s1", owner)
    on_hold = held(order, owner, "10000.00", points=40)
    db.session.commit()
    assert payable(owner) == (Decimal("0"), 0)

    outcome = decide_hold(on_hold.id, HoldVerdict.approve, comment="checked the receipt")

    (release,) = _rows(AccrualKind.release)
    assert (release.amount, release.points, release.status) == (
        Decimal("10000.00"),
        40,
        AccrualStatus.approved,
    )
    assert release.reverses_accrual_id == on_hold.id
    assert release.dedupe_key == f"release|{on_hold.id}"
    assert (release.partner_id, release.rule_key, release.event_id) == (owner.id, "cps", order.id)
    decision = db.session.scalar(sa.select(HoldDecision))
    assert decision is not None
    assert (decision.accrual_id, decision.verdict, decision.ledger_accrual_id) == (
        on_hold.id,
        HoldVerdict.approve,
        release.id,
    )
    assert decision.comment == "checked the receipt"
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "hold.approve"))
    assert entry is not None
    assert entry.entity_id == str(on_hold.id)
    assert entry.after is not None and entry.after["ledger_rows"][0]["kind"] == "release"
    assert outcome.ledger_accrual_ids == (release.id,)
    assert db.session.get(Accrual, on_hold.id).status is AccrualStatus.held  # never updated
    assert payable(owner) == (Decimal("10000.00"), 40)


def test_reject_adds_a_zero_forfeit_with_the_comment_as_reason(app_ctx: Flask) -> None:
    owner = partner()
    first, second = _held(owner, "500.00", "700.00")

    decide_hold(first.id, HoldVerdict.reject, comment="  self-referral confirmed  ")
    decide_hold(second.id, HoldVerdict.reject, comment="receipt is fake")

    forfeits = {row.reverses_accrual_id: row for row in _rows(AccrualKind.forfeit)}
    assert forfeits[first.id].reason == "self-referral confirmed"
    assert forfeits[second.id].reason == "receipt is fake"
    assert REJECTED_REASON not in {row.reason for row in forfeits.values()}
    for row in forfeits.values():
        assert (row.amount, row.points, row.status) == (Decimal("0.00"), 0, AccrualStatus.approved)
    assert forfeits[first.id].dedupe_key == f"forfeit|{first.id}"
    assert payable(owner) == (Decimal("0"), 0)
    verdicts = set(db.session.scalars(sa.select(HoldDecision.verdict)))
    assert verdicts == {HoldVerdict.reject}


@pytest.mark.parametrize("second", [HoldVerdict.approve, HoldVerdict.reject])
def test_a_decision_is_final(app_ctx: Flask, second: HoldVerdict) -> None:
    owner = partner()
    [on_hold] = _held(owner, "100.00")
    decide_hold(on_hold.id, HoldVerdict.approve)

    with pytest.raises(HoldDecisionError) as refused:
        decide_hold(on_hold.id, second, comment="second thoughts")

    assert refused.value.refusals == [(on_hold.id, Refusal.already_decided)]
    assert "final" in str(refused.value) or "окончательное" in str(refused.value)
    assert len(_rows(AccrualKind.release)) == 1
    assert len(_rows(AccrualKind.forfeit)) == 0
    assert db.session.scalar(sa.select(sa.func.count(HoldDecision.id))) == 1
    assert payable(owner) == (Decimal("100.00"), 0)


def test_bulk_decides_all_in_one_transaction(app_ctx: Flask) -> None:
    owner, other = partner("P-1"), partner("P-2")
    rows = _held(owner, "100.00", "200.00", "300.00")
    foreign = held(sale("s9", other), other, "900.00")
    db.session.commit()

    outcomes = decide_holds([r.id for r in rows], HoldVerdict.approve, comment="batch")

    assert [o.accrual_id for o in outcomes] == [r.id for r in rows]
    assert payable(owner) == (Decimal("600.00"), 0)
    assert payable(other) == (Decimal("0"), 0)  # not selected, still on_hold
    assert db.session.get(Accrual, foreign.id).status is AccrualStatus.held
    entries = db.session.scalars(sa.select(AuditEntry.entity_id)).all()
    assert sorted(entries) == sorted(str(r.id) for r in rows)


def test_bulk_with_one_decided_accrual_writes_nothing(app_ctx: Flask) -> None:
    owner = partner()
    rows = _held(owner, "100.00", "100.00", "100.00")
    decide_hold(rows[1].id, HoldVerdict.reject, comment="fraud")
    before = db.session.scalar(sa.select(sa.func.count(Accrual.id)))

    with pytest.raises(HoldDecisionError) as refused:
        decide_holds([r.id for r in rows], HoldVerdict.approve)

    assert refused.value.refusals == [(rows[1].id, Refusal.already_decided)]
    assert db.session.scalar(sa.select(sa.func.count(Accrual.id))) == before
    assert db.session.scalar(sa.select(sa.func.count(HoldDecision.id))) == 1
    assert payable(owner) == (Decimal("0"), 0)


def test_refuses_unknown_approved_and_reversal_rows(app_ctx: Flask) -> None:
    owner = partner()
    order = sale("s1", owner)
    approved = accrual(order, owner, "10.00", rule="bonus")
    on_hold = held(order, owner, "100.00")
    refund = sale("r1", owner, amount="100000.00", type_=EventType.refund, refers_to="s1")
    reversal = held(refund, owner, "-50.00", reverses="s1")
    db.session.commit()

    with pytest.raises(HoldDecisionError) as refused:
        decide_holds([approved.id, reversal.id, 999999, on_hold.id], HoldVerdict.approve)

    assert refused.value.refusals == [
        (approved.id, Refusal.not_held),
        (reversal.id, Refusal.reversal),
        (999999, Refusal.not_found),
    ]
    assert _rows(AccrualKind.release) == []
    with pytest.raises(BulkTooLargeError):
        decide_holds([], HoldVerdict.approve)


def test_approving_after_a_refund_releases_only_what_was_not_refunded(app_ctx: Flask) -> None:
    owner = partner()
    order = sale("s1", owner)
    on_hold = held(order, owner, "1000.00", points=10)
    refund = sale("r1", owner, amount="100000.00", type_=EventType.refund, refers_to="s1")
    held(refund, owner, "-500.00", points=-5, reverses="s1")
    db.session.commit()

    outcome = decide_hold(on_hold.id, HoldVerdict.approve)

    assert len(outcome.ledger_accrual_ids) == 2
    assert payable(owner) == (Decimal("500.00"), 5)


def test_rejecting_after_a_refund_pays_nothing(app_ctx: Flask) -> None:
    owner = partner()
    order = sale("s1", owner)
    on_hold = held(order, owner, "1000.00")
    refund = sale("r1", owner, amount="100000.00", type_=EventType.refund, refers_to="s1")
    held(refund, owner, "-500.00", reverses="s1")
    db.session.commit()

    decide_hold(on_hold.id, HoldVerdict.reject, comment="fraud")

    assert payable(owner) == (Decimal("0"), 0)


def test_release_followups_for_a_refund_of_a_released_sale(app_ctx: Flask) -> None:
    owner = partner()
    order = sale("s1", owner)
    on_hold = held(order, owner, "1000.00", points=10, level=1, rule="override")
    db.session.commit()
    decide_hold(on_hold.id, HoldVerdict.approve)
    assert payable(owner) == (Decimal("1000.00"), 10)

    refund = sale("r1", owner, amount="50000.00", type_=EventType.refund, refers_to="s1")
    reversal = held(refund, owner, "-250.00", points=-2, reverses="s1", level=1, rule="override")
    followups = release_followups(db.session, [reversal])
    db.session.add_all(followups)
    db.session.commit()

    (followup,) = followups
    assert followup.kind is AccrualKind.release
    assert followup.reverses_accrual_id == reversal.id
    assert followup.dedupe_key == f"release|{reversal.id}"
    assert payable(owner) == (Decimal("750.00"), 8)
    assert release_followups(db.session, [reversal]) == []  # already released


def test_release_followups_skip_rejected_undecided_and_other_rules(app_ctx: Flask) -> None:
    owner = partner()
    rejected = held(sale("s1", owner), owner, "100.00")
    held(sale("s2", owner), owner, "100.00")  # still undecided
    approved = held(sale("s3", owner), owner, "100.00", rule="cps")
    db.session.commit()
    decide_hold(rejected.id, HoldVerdict.reject, comment="fraud")
    decide_hold(approved.id, HoldVerdict.approve)
    refunds = [
        sale(f"r{i}", owner, amount="1.00", type_=EventType.refund, refers_to=f"s{i}")
        for i in (1, 2, 3)
    ]
    reversals = [
        held(refunds[0], owner, "-10.00", reverses="s1"),
        held(refunds[1], owner, "-10.00", reverses="s2"),
        # same order, another rule: not a reversal of the approved accrual
        held(refunds[2], owner, "-10.00", reverses="s3", rule="other"),
        # an approved reversal needs no release
        accrual(refunds[2], owner, "-5.00", reverses="s3", rule="x"),
    ]

    assert release_followups(db.session, reversals) == []


@pytest.mark.parametrize("comment", [None, "", "   "])
def test_a_rejection_needs_a_reason(app_ctx: Flask, comment: str | None) -> None:
    [on_hold] = _held(partner(), "100.00")

    with pytest.raises(ReasonRequiredError):
        decide_hold(on_hold.id, HoldVerdict.reject, comment=comment)

    assert db.session.scalar(sa.select(sa.func.count(HoldDecision.id))) == 0
    assert _rows(AccrualKind.forfeit) == []


def test_an_approval_comment_is_the_release_rows_reason(app_ctx: Flask) -> None:
    on_hold, silent = _held(partner(), "100.00", "100.00")

    decide_hold(on_hold.id, HoldVerdict.approve, comment="  receipt checked ")
    decide_hold(silent.id, HoldVerdict.approve)

    releases = {row.reverses_accrual_id: row for row in _rows(AccrualKind.release)}
    assert releases[on_hold.id].reason == "receipt checked"
    assert releases[silent.id].reason is None
