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
from tests.integration.holds.ledger_rows import accrual, event, partner, payable


def _rows(kind: AccrualKind) -> list[Accrual]:
    return list(db.session.scalars(sa.select(Accrual).where(Accrual.kind == kind)))


def test_approve_adds_a_release_row_decision_and_audit_entry(app_ctx: Flask) -> None:
    owner = partner()
    sale = event("s1", owner)
    held = accrual(sale, owner, "10000.00", points=40, level=None)
    db.session.commit()
    assert payable(owner) == (Decimal("0"), 0)

    outcome = decide_hold(held.id, HoldVerdict.approve, comment="checked the receipt")

    (release,) = _rows(AccrualKind.release)
    assert (release.amount, release.points, release.status) == (
        Decimal("10000.00"),
        40,
        AccrualStatus.approved,
    )
    assert release.reverses_accrual_id == held.id
    assert release.dedupe_key == f"release|{held.id}"
    assert (release.partner_id, release.rule_key, release.event_id) == (owner.id, "cps", sale.id)
    decision = db.session.scalar(sa.select(HoldDecision))
    assert decision is not None
    assert (decision.accrual_id, decision.verdict, decision.ledger_accrual_id) == (
        held.id,
        HoldVerdict.approve,
        release.id,
    )
    assert decision.comment == "checked the receipt"
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "hold.approve"))
    assert entry is not None
    assert entry.entity_id == str(held.id)
    assert entry.after is not None and entry.after["ledger_rows"][0]["kind"] == "release"
    assert outcome.ledger_accrual_ids == (release.id,)
    assert db.session.get(Accrual, held.id).status is AccrualStatus.held  # never updated
    assert payable(owner) == (Decimal("10000.00"), 40)


def test_reject_adds_a_zero_forfeit_with_the_comment_or_default_reason(app_ctx: Flask) -> None:
    owner = partner()
    first = accrual(event("s1", owner), owner, "500.00")
    second = accrual(event("s2", owner), owner, "700.00")
    db.session.commit()

    decide_hold(first.id, HoldVerdict.reject, comment="  self-referral confirmed  ")
    decide_hold(second.id, HoldVerdict.reject)

    forfeits = {row.reverses_accrual_id: row for row in _rows(AccrualKind.forfeit)}
    assert forfeits[first.id].reason == "self-referral confirmed"
    assert forfeits[second.id].reason == REJECTED_REASON
    for row in forfeits.values():
        assert (row.amount, row.points, row.status) == (Decimal("0.00"), 0, AccrualStatus.approved)
    assert forfeits[first.id].dedupe_key == f"forfeit|{first.id}"
    assert payable(owner) == (Decimal("0"), 0)
    verdicts = set(db.session.scalars(sa.select(HoldDecision.verdict)))
    assert verdicts == {HoldVerdict.reject}


@pytest.mark.parametrize("second", [HoldVerdict.approve, HoldVerdict.reject])
def test_a_decision_is_final(app_ctx: Flask, second: HoldVerdict) -> None:
    owner = partner()
    held = accrual(event("s1", owner), owner, "100.00")
    db.session.commit()
    decide_hold(held.id, HoldVerdict.approve)

    with pytest.raises(HoldDecisionError) as refused:
        decide_hold(held.id, second)

    assert refused.value.refusals == [(held.id, Refusal.already_decided)]
    assert "final" in str(refused.value) or "окончательное" in str(refused.value)
    assert len(_rows(AccrualKind.release)) == 1
    assert len(_rows(AccrualKind.forfeit)) == 0
    assert db.session.scalar(sa.select(sa.func.count(HoldDecision.id))) == 1
    assert payable(owner) == (Decimal("100.00"), 0)


def test_bulk_decides_all_in_one_transaction(app_ctx: Flask) -> None:
    owner, other = partner("P-1"), partner("P-2")
    rows = [accrual(event(f"s{i}", owner), owner, f"{i}00.00") for i in range(1, 4)]
    foreign = accrual(event("s9", other), other, "900.00")
    db.session.commit()

    outcomes = decide_holds([r.id for r in rows], HoldVerdict.approve, comment="batch")

    assert [o.accrual_id for o in outcomes] == [r.id for r in rows]
    assert payable(owner) == (Decimal("600.00"), 0)
    assert payable(other) == (Decimal("0"), 0)  # not selected, still held
    assert db.session.get(Accrual, foreign.id).status is AccrualStatus.held
    entries = db.session.scalars(sa.select(AuditEntry.entity_id)).all()
    assert sorted(entries) == sorted(str(r.id) for r in rows)


def test_bulk_with_one_decided_accrual_writes_nothing(app_ctx: Flask) -> None:
    owner = partner()
    rows = [accrual(event(f"s{i}", owner), owner, "100.00") for i in range(3)]
    db.session.commit()
    decide_hold(rows[1].id, HoldVerdict.reject)
    before = db.session.scalar(sa.select(sa.func.count(Accrual.id)))

    with pytest.raises(HoldDecisionError) as refused:
        decide_holds([r.id for r in rows], HoldVerdict.approve)

    assert refused.value.refusals == [(rows[1].id, Refusal.already_decided)]
    assert db.session.scalar(sa.select(sa.func.count(Accrual.id))) == before
    assert db.session.scalar(sa.select(sa.func.count(HoldDecision.id))) == 1
    assert payable(owner) == (Decimal("0"), 0)


def test_refuses_unknown_approved_and_reversal_rows(app_ctx: Flask) -> None:
    owner = partner()
    sale = event("s1", owner)
    approved = accrual(sale, owner, "10.00", status=AccrualStatus.approved, rule="bonus")
    held = accrual(sale, owner, "100.00")
    refund = event("r1", owner, "100000.00", type_=EventType.refund, refers_to="s1")
    reversal = accrual(refund, owner, "-50.00", reverses="s1")
    db.session.commit()

    with pytest.raises(HoldDecisionError) as refused:
        decide_holds([approved.id, reversal.id, 999999, held.id], HoldVerdict.approve)

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
    sale = event("s1", owner)
    held = accrual(sale, owner, "1000.00", points=10)
    refund = event("r1", owner, "100000.00", type_=EventType.refund, refers_to="s1")
    accrual(refund, owner, "-500.00", points=-5, reverses="s1")
    db.session.commit()

    outcome = decide_hold(held.id, HoldVerdict.approve)

    assert len(outcome.ledger_accrual_ids) == 2
    assert payable(owner) == (Decimal("500.00"), 5)


def test_rejecting_after_a_refund_pays_nothing(app_ctx: Flask) -> None:
    owner = partner()
    sale = event("s1", owner)
    held = accrual(sale, owner, "1000.00")
    refund = event("r1", owner, "100000.00", type_=EventType.refund, refers_to="s1")
    accrual(refund, owner, "-500.00", reverses="s1")
    db.session.commit()

    decide_hold(held.id, HoldVerdict.reject)

    assert payable(owner) == (Decimal("0"), 0)


def test_release_followups_for_a_refund_of_a_released_sale(app_ctx: Flask) -> None:
    owner = partner()
    sale = event("s1", owner)
    held = accrual(sale, owner, "1000.00", points=10, level=1, rule="override")
    db.session.commit()
    decide_hold(held.id, HoldVerdict.approve)
    assert payable(owner) == (Decimal("1000.00"), 10)

    refund = event("r1", owner, "50000.00", type_=EventType.refund, refers_to="s1")
    reversal = accrual(refund, owner, "-250.00", points=-2, reverses="s1", level=1, rule="override")
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
    rejected = accrual(event("s1", owner), owner, "100.00")
    accrual(event("s2", owner), owner, "100.00")  # still undecided
    approved = accrual(event("s3", owner), owner, "100.00", rule="cps")
    db.session.commit()
    decide_hold(rejected.id, HoldVerdict.reject)
    decide_hold(approved.id, HoldVerdict.approve)
    refunds = [
        event(f"r{i}", owner, "1.00", type_=EventType.refund, refers_to=f"s{i}") for i in (1, 2, 3)
    ]
    reversals = [
        accrual(refunds[0], owner, "-10.00", reverses="s1"),
        accrual(refunds[1], owner, "-10.00", reverses="s2"),
        # same sale, another rule: not a reversal of the approved accrual
        accrual(refunds[2], owner, "-10.00", reverses="s3", rule="other"),
        # an approved reversal needs no release
        accrual(refunds[2], owner, "-5.00", reverses="s3", status=AccrualStatus.approved, rule="x"),
    ]

    assert release_followups(db.session, reversals) == []
