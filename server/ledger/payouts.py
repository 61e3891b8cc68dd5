"""Payouts: what a closed period owes each partner, as CSV for accounting, and paying it.

The amount due for a close is the partner's payable balance at the close (its
statement's closing balance) plus every payout row written after the close (negative
rows: money already paid since). Marking a payout paid adds a ``payout`` row of
``-due`` with ``dedupe_key = payout|<partner code>|<period>``: the ledger stays
append-only and the same period is never paid twice.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from server.audit.commands import record
from server.db.types import utcnow
from server.errors import CommandError
from server.extensions import db
from server.ledger.models import Accrual, AccrualKind, AccrualStatus, Statement
from server.partners.models import Partner
from server.statements.models import PeriodClose

ZERO = Decimal("0.00")

#: header of the accounting CSV (column names are for machines: kept in English)
CSV_COLUMNS = (
    "partner_code",
    "partner_name",
    "legal_name",
    "inn",
    "bank_name",
    "bik",
    "settlement_account",
    "correspondent_account",
    "period_start",
    "period_end",
    "amount",
)


@dataclass(frozen=True)
class PayoutDue:
    partner_id: int
    partner_code: str
    amount: Decimal


def payout_key(partner_code: str, close: PeriodClose) -> str:
    return f"payout|{partner_code}|{close.period_start.isoformat()}..{close.period_end.isoformat()}"


def _close(close_id: int) -> PeriodClose:
    close = db.session.get(PeriodClose, close_id)
    if close is None:
        raise CommandError(f"Close {close_id} does not exist.")
    return close


def payouts_due(close_id: int) -> list[PayoutDue]:
    """Positive amounts due per partner for a close, by partner code.

    Raises:
        CommandError: unknown close.
    """
    close = _close(close_id)
    paid_since = (
        sa.select(sa.func.coalesce(sa.func.sum(Accrual.amount), ZERO))
        .where(
            Accrual.partner_id == Statement.partner_id,
            Accrual.kind == AccrualKind.payout,
            Accrual.status == AccrualStatus.approved,
            Accrual.created_at > close.closed_at,
        )
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(Partner.id, Partner.code, Statement.closing_balance, paid_since)
        .join(Partner, Partner.id == Statement.partner_id)
        .where(
            Statement.period_start == close.period_start,
            Statement.period_end == close.period_end,
        )
        .order_by(Partner.code)
    ).all()
    due = []
    for partner_id, code, closing, paid in rows:
        amount = Decimal(closing) + Decimal(paid or 0)
        if amount > 0:
            due.append(PayoutDue(partner_id, code, amount.quantize(Decimal("0.01"))))
    return due


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def payouts_csv(close_id: int) -> bytes:
    """The accounting CSV (UTF-8 with BOM): partner requisites and the amount due.

    Raises:
        CommandError: unknown close.
    """
    close = _close(close_id)
    due = payouts_due(close_id)
    partners = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Partner).where(Partner.id.in_([d.partner_id for d in due]))
        )
    }
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in due:
        partner = partners[item.partner_id]
        writer.writerow(
            [
                _cell(partner.code),
                _cell(partner.name),
                _cell(partner.legal_name),
                _cell(partner.inn),
                _cell(partner.bank_name),
                _cell(partner.bik),
                _cell(partner.settlement_account),
                _cell(partner.correspondent_account),
                close.period_start.isoformat(),
                close.period_end.isoformat(),
                f"{item.amount:.2f}",
            ]
        )
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def mark_paid(
    close_id: int, partner_ids: list[int] | None = None, actor_id: int | None = None
) -> list[int]:
    """Add a ``payout`` row for each partner due (all, or those in ``partner_ids``);
    commit. Returns the new rows' ids; partners already paid for the period are skipped.

    Raises:
        CommandError: unknown close.
    """
    close = _close(close_id)
    due = [d for d in payouts_due(close_id) if partner_ids is None or d.partner_id in partner_ids]
    keys = {payout_key(d.partner_code, close): d for d in due}
    taken = set(
        db.session.scalars(sa.select(Accrual.dedupe_key).where(Accrual.dedupe_key.in_(keys)))
    )
    now = utcnow()
    rows = [
        Accrual(
            dedupe_key=key,
            partner_id=item.partner_id,
            kind=AccrualKind.payout,
            amount=-item.amount,
            points=0,
            status=AccrualStatus.approved,
            reason=f"payout {close}",
            occurred_at=now,
            created_at=now,
        )
        for key, item in keys.items()
        if key not in taken
    ]
    db.session.add_all(rows)
    db.session.flush()
    record(
        actor_id,
        "payout.mark_paid",
        "period_close",
        close.id,
        after={"rows": [{"partner": r.partner_id, "amount": f"{r.amount:.2f}"} for r in rows]},
    )
    db.session.commit()
    return [row.id for row in rows]
