"""Hold review: a manager approves or rejects held accruals; each decision adds ledger rows.

The ledger stays append-only. A held row never changes; the decision adds:

- approve: a ``release`` accrual (status approved, ``+amount``/``+points`` of the held
  row, the comment if any as reason, ``reverses_accrual_id`` → the held row, dedupe key
  ``release|<held id>``); held
  reversals of the same accrual already in the ledger (a refund that came before the
  decision) are released with it, so the partner is paid only what was not refunded;
- reject: a ``forfeit`` accrual (status approved, amount 0, the comment as reason: a
  rejection needs one; dedupe key ``forfeit|<held id>``); the held row then never counts;

plus a :class:`HoldDecision` row and an :class:`AuditEntry`. A decision is final.
Refunds that arrive after an approval are released by :func:`release_followups`, which
the evaluation batch calls on the rows it writes. Payable balance = the sum of approved
rows (see ``docs/ledger.md``).

Decisions take the evaluation lock row first, so a decision and an evaluation batch
never interleave: a batch sees the decision or the decision sees the batch's reversals.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from server.audit.commands import record
from server.db.types import utcnow
from server.errors import CommandError
from server.extensions import db
from server.ledger.models import (
    Accrual,
    AccrualKind,
    AccrualStatus,
    EvaluationLock,
    HoldDecision,
    HoldVerdict,
    ProgramProgress,
    SalesEvent,
)

#: the reason forfeit rows carried before a rejection needed one; screens translate it
REJECTED_REASON = "rejected by manager"
#: ``Accrual.reason`` is this long; a longer comment is kept whole in ``HoldDecision``
REASON_LENGTH = 200
#: at most this many accruals in one bulk decision (one transaction)
MAX_BULK = 1000

#: kinds a decision adds; they are never held themselves
DECISION_KINDS = frozenset({AccrualKind.release, AccrualKind.forfeit})


class Refusal(str, enum.Enum):
    not_found = "not_found"
    not_held = "not_held"
    reversal = "reversal"
    already_decided = "already_decided"


_REFUSAL_TEXT = {
    Refusal.not_found: _l("accrual %(id)s does not exist"),
    Refusal.not_held: _l("accrual %(id)s is not held"),
    Refusal.reversal: _l(
        "accrual %(id)s reverses a refunded sale and follows the decision on the sale's accrual"
    ),
    Refusal.already_decided: _l("accrual %(id)s has already been decided; a decision is final"),
}


class HoldDecisionError(CommandError):
    """The decision was refused as a whole; ``refusals`` lists each accrual and why.

    ``str(error)`` is one sentence in the user's language.
    """

    def __init__(self, refusals: Sequence[tuple[int, Refusal]]) -> None:
        self.refusals = list(refusals)
        super().__init__(self.refusals)

    def __str__(self) -> str:
        details = "; ".join(
            str(_REFUSAL_TEXT[reason] % {"id": id_}) for id_, reason in self.refusals
        )
        return str(_l("Nothing was decided: %(details)s.", details=details))


class BulkTooLargeError(CommandError):
    """More accruals were selected than one decision may cover."""


class ReasonRequiredError(CommandError):
    """A rejection without a reason: the partner and the next reader need to know why."""


@dataclass(frozen=True)
class DecisionOutcome:
    """What one decision wrote."""

    accrual_id: int
    verdict: HoldVerdict
    decision_id: int
    #: the rows added to the ledger: the release or forfeit row first
    ledger_accrual_ids: tuple[int, ...]


def decide_hold(
    accrual_id: int,
    verdict: HoldVerdict,
    actor_id: int | None = None,
    comment: str | None = None,
) -> DecisionOutcome:
    """Approve or reject one held accrual; one transaction.

    Raises:
        HoldDecisionError: the accrual is unknown, not held, a reversal, or decided.
    """
    return decide_holds([accrual_id], verdict, actor_id, comment)[0]


def decide_holds(
    accrual_ids: Iterable[int],
    verdict: HoldVerdict,
    actor_id: int | None = None,
    comment: str | None = None,
) -> list[DecisionOutcome]:
    """Approve or reject every listed held accrual with one comment; one transaction.

    All or nothing: if any accrual cannot be decided, nothing is written and the error
    lists every refused accrual. Returns the outcomes in the order of ``accrual_ids``.

    Raises:
        HoldDecisionError: some accrual is unknown, not held, a reversal of a held
            accrual, or already decided (also when another manager decided it a moment
            ago).
        BulkTooLargeError: more than :data:`MAX_BULK` accruals, or none.
        ReasonRequiredError: a rejection with an empty comment.
    """
    ids = list(dict.fromkeys(accrual_ids))
    if not ids:
        raise BulkTooLargeError(_l("Select at least one held accrual."))
    if len(ids) > MAX_BULK:
        raise BulkTooLargeError(
            _l("At most %(limit)s accruals can be decided at once.", limit=MAX_BULK)
        )
    session = db.session
    comment = (comment or "").strip() or None
    if verdict is HoldVerdict.reject and comment is None:
        raise ReasonRequiredError(_l("Give the reason of the rejection in the comment."))
    serialize_with_evaluation(session)
    rows = {
        row.id: row
        for row in session.scalars(sa.select(Accrual).where(Accrual.id.in_(ids)).with_for_update())
    }
    decided = set(
        session.scalars(sa.select(HoldDecision.accrual_id).where(HoldDecision.accrual_id.in_(ids)))
    )
    refusals = [(id_, reason) for id_ in ids if (reason := _refusal(rows.get(id_), decided))]
    if refusals:
        session.rollback()
        raise HoldDecisionError(refusals)

    now = utcnow()
    reversals = (
        _held_reversals(session, [rows[id_] for id_ in ids])
        if verdict is HoldVerdict.approve
        else {}
    )
    outcomes = []
    for id_ in ids:
        held = rows[id_]
        if verdict is HoldVerdict.approve:
            added = [_release(held, now, comment)]
            added += [_release(reversal, now) for reversal in reversals.get(held.id, [])]
        else:
            added = [_forfeit(held, comment, now)]
        session.add_all(added)
        session.flush()
        decision = HoldDecision(
            accrual_id=held.id,
            verdict=verdict,
            comment=comment,
            decided_by_id=actor_id,
            decided_at=now,
            ledger_accrual_id=added[0].id,
        )
        session.add(decision)
        session.flush()
        _audit(session, actor_id, held, decision, added, comment)
        outcomes.append(
            DecisionOutcome(held.id, verdict, decision.id, tuple(row.id for row in added))
        )
    try:
        session.commit()
    except IntegrityError:  # a concurrent decision on the same accrual committed first
        session.rollback()
        raise HoldDecisionError([(id_, Refusal.already_decided) for id_ in ids]) from None
    return outcomes


def release_followups(session: Session, accruals: Iterable[Accrual]) -> list[Accrual]:
    """The ``release`` rows to add for new reversals of accruals already released.

    A refund reverses a held accrual with a held row (same partner, rule_key, level and
    kind; ``reverses`` = the sale's external id). If a manager already approved the
    original, the reversal must count too, so it gets its own release (negative amount
    and points, dedupe key ``release|<reversal id>``). Reversals of rejected or still
    undecided accruals get nothing: rejected ones never count, undecided ones are
    released with their original by :func:`decide_holds`.

    Flushes the session if a reversal has no id yet; adds nothing to the session and
    never commits: the caller adds the returned rows in its own transaction. Rows whose
    release already exists are skipped, so calling it twice is harmless.
    """
    candidates = [
        row
        for row in accruals
        if row.reverses is not None
        and row.status is AccrualStatus.held
        and row.kind not in DECISION_KINDS
    ]
    if not candidates:
        return []
    if any(row.id is None for row in candidates):
        session.flush()
    approved = session.execute(
        sa.select(
            SalesEvent.external_id,
            Accrual.partner_id,
            Accrual.rule_key,
            Accrual.level,
            Accrual.kind,
        )
        .join(SalesEvent, Accrual.event_id == SalesEvent.id)
        .join(HoldDecision, HoldDecision.accrual_id == Accrual.id)
        .where(
            SalesEvent.external_id.in_({row.reverses for row in candidates}),
            Accrual.reverses.is_(None),
            Accrual.status == AccrualStatus.held,
            HoldDecision.verdict == HoldVerdict.approve,
        )
    ).all()
    released_originals = {tuple(match) for match in approved}
    keys = [f"release|{row.id}" for row in candidates]
    existing = set(
        session.scalars(sa.select(Accrual.dedupe_key).where(Accrual.dedupe_key.in_(keys)))
    )
    followups = []
    for row in candidates:
        key = (row.reverses, row.partner_id, row.rule_key, row.level, row.kind)
        if key in released_originals and f"release|{row.id}" not in existing:
            followups.append(_release(row, row.occurred_at or utcnow()))
    return followups


def pending_filter() -> sa.ColumnElement[bool]:
    """Held accruals a manager can still decide: not reversals, no decision yet."""
    return _undecided_hold(Accrual)


def awaiting_review_filter() -> sa.ColumnElement[bool]:
    """Held ledger rows whose amount still awaits a manager's decision.

    These are the accruals of :func:`pending_filter` (the hold review's list) and the
    held reversals of them: a refund that came before the decision, matched as
    :func:`decide_holds` matches them (``reverses`` = the external id of the held row's
    sale; same partner, rule_key, level and kind). Their sum is what approving every
    open hold would add to the payable balance. A decision takes the held row and its
    reversals out: approval releases them, rejection forfeits them.
    """
    original = aliased(Accrual)
    sale = aliased(SalesEvent)
    reverses_an_open_hold = sa.exists().where(
        sale.id == original.event_id,
        sale.external_id == Accrual.reverses,
        original.partner_id == Accrual.partner_id,
        original.rule_key.is_not_distinct_from(Accrual.rule_key),
        original.level.is_not_distinct_from(Accrual.level),
        original.kind == Accrual.kind,
        _undecided_hold(original),
    )
    return sa.or_(
        pending_filter(),
        sa.and_(
            Accrual.status == AccrualStatus.held,
            Accrual.reverses.is_not(None),
            Accrual.kind.not_in(DECISION_KINDS),
            reverses_an_open_hold,
        ),
    )


def _undecided_hold(row: type[Accrual]) -> sa.ColumnElement[bool]:
    return sa.and_(
        row.status == AccrualStatus.held,
        row.reverses.is_(None),
        ~sa.exists().where(HoldDecision.accrual_id == row.id),
    )


def _refusal(row: Accrual | None, decided: set[int]) -> Refusal | None:
    if row is None:
        return Refusal.not_found
    if row.status is not AccrualStatus.held or row.kind in DECISION_KINDS:
        return Refusal.not_held
    if row.reverses is not None:
        return Refusal.reversal
    if row.id in decided:
        return Refusal.already_decided
    return None


def serialize_with_evaluation(session: Session) -> None:
    """Wait for running evaluation batches, and make new ones wait for this transaction.

    Admission updates the evaluation lock row first, each program's batch its progress
    row (docs/ledger.md); locking all of them (in one order: no deadlock) makes a hold
    decision or a period close wait for a running batch and a batch wait for it, so a
    reversal is either seen here or its batch sees the decision, and a batch's rows are
    all before a close's instant or all after. SQLite serializes writers anyway.
    """
    session.execute(
        sa.select(EvaluationLock.id).where(EvaluationLock.id == 1).with_for_update()
    ).first()
    session.execute(
        sa.select(ProgramProgress.program_id).order_by(ProgramProgress.program_id).with_for_update()
    ).all()


def _held_reversals(session: Session, held: list[Accrual]) -> dict[int, list[Accrual]]:
    """Held reversal rows already written for each held accrual, by the held row's id."""
    sales = dict(
        session.execute(
            sa.select(Accrual.id, SalesEvent.external_id)
            .join(SalesEvent, Accrual.event_id == SalesEvent.id)
            .where(Accrual.id.in_([row.id for row in held]))
        ).all()
    )
    if not sales:
        return {}
    by_key = {
        (sales[row.id], row.program_id, row.partner_id, row.rule_key, row.level, row.kind): row.id
        for row in held
        if row.id in sales
    }
    found: dict[int, list[Accrual]] = {}
    for reversal in session.scalars(
        sa.select(Accrual)
        .where(
            Accrual.reverses.in_(set(sales.values())),
            Accrual.status == AccrualStatus.held,
            Accrual.kind.not_in(DECISION_KINDS),
        )
        .order_by(Accrual.id)
    ):
        key = (
            reversal.reverses,
            reversal.program_id,
            reversal.partner_id,
            reversal.rule_key,
            reversal.level,
            reversal.kind,
        )
        if key in by_key:
            found.setdefault(by_key[key], []).append(reversal)
    return found


def _release(held: Accrual, at: datetime, comment: str | None = None) -> Accrual:
    """The row that pays a held one; it carries the approver's comment as its reason,
    so the ledger shows why it was paid."""
    return Accrual(
        dedupe_key=f"release|{held.id}",
        event_id=held.event_id,
        partner_id=held.partner_id,
        rule_instance_id=held.rule_instance_id,
        rule_key=held.rule_key,
        program_version_id=held.program_version_id,
        program_id=held.program_id,
        kind=AccrualKind.release,
        amount=held.amount,
        points=held.points,
        status=AccrualStatus.approved,
        reason=comment[:REASON_LENGTH] if comment else None,
        level=held.level,
        reverses_accrual_id=held.id,
        occurred_at=at,
    )


def _forfeit(held: Accrual, comment: str | None, at: datetime) -> Accrual:
    return Accrual(
        dedupe_key=f"forfeit|{held.id}",
        event_id=held.event_id,
        partner_id=held.partner_id,
        rule_instance_id=held.rule_instance_id,
        rule_key=held.rule_key,
        program_version_id=held.program_version_id,
        program_id=held.program_id,
        kind=AccrualKind.forfeit,
        amount=Decimal("0"),
        points=0,
        status=AccrualStatus.approved,
        reason=(comment or REJECTED_REASON)[:REASON_LENGTH],  # a comment is required now
        level=held.level,
        reverses_accrual_id=held.id,
        occurred_at=at,
    )


def _audit(
    session: Session,
    actor_id: int | None,
    held: Accrual,
    decision: HoldDecision,
    added: list[Accrual],
    comment: str | None,
) -> None:
    record(
        actor_id,
        f"hold.{decision.verdict.value}",
        "accrual",
        held.id,
        before=_accrual_summary(held),
        after={
            "decision_id": decision.id,
            "verdict": decision.verdict.value,
            "ledger_rows": [_accrual_summary(row) for row in added],
        },
        comment=comment,
    )


def _accrual_summary(row: Accrual) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind.value,
        "status": row.status.value,
        "amount": str(row.amount),
        "points": row.points,
        "rule_key": row.rule_key,
        "reason": row.reason,
    }
