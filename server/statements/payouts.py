"""Payouts: what a closed period owes each partner, as CSV for accounting, and paying it.

The amount due for a close is the partner's payable balance at the close (its
statement's closing balance) plus every payout row written after the close (negative
rows: money already paid since). Marking a payout paid adds a ``payout`` row of
``-due`` with ``dedupe_key = payout|<partner code>|<period>``: the ledger stays
append-only and the same period is never paid twice.

An amount due below the partner's minimum payout (``RegionalTerms.minimum_payout`` of
the region's terms in force on the period's last day) is not paid: it is *carried over*.
Nothing is written for it: it stays in the payable balance, so the next close's closing
balance holds it and that close pays it once the sum reaches the minimum. The payout
CSV leaves carried partners out, and :func:`mark_paid` refuses them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from server.audit.commands import record
from server.db.types import to_money, utcnow
from server.errors import CommandError
from server.extensions import db
from server.i18n import format_money
from server.ledger.models import Accrual, AccrualKind, AccrualStatus
from server.partners.models import Partner
from server.partners.terms import terms_in_force
from server.spreadsheet import UTF8_BOM, cell
from server.statements.models import PeriodClose, Statement

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
    """A partner's positive amount due for a close, and the minimum payout of its terms."""

    partner_id: int
    partner_code: str
    amount: Decimal
    minimum_payout: Decimal = ZERO

    @property
    def carried_over(self) -> bool:
        """Below the minimum payout: not paid this period, left in the balance."""
        return self.amount < self.minimum_payout


@dataclass(frozen=True)
class PayoutPlan:
    """What a close pays (``due``) and what it carries over to the next (``carried``)."""

    due: list[PayoutDue]
    carried: list[PayoutDue]


def payout_key(partner_code: str, close: PeriodClose) -> str:
    return f"payout|{partner_code}|{close.period_start.isoformat()}..{close.period_end.isoformat()}"


def _close(close_id: int) -> PeriodClose:
    close = db.session.get(PeriodClose, close_id)
    if close is None:
        raise CommandError(f"Close {close_id} does not exist.")
    return close


def _minimums(close: PeriodClose, region_ids: set[int]) -> dict[int, Decimal]:
    """Minimum payout per region: its terms in force on the period's last day (0: none)."""
    minimums = {}
    for region_id in region_ids:
        terms = terms_in_force(region_id, close.period_end)
        minimums[region_id] = to_money(terms.minimum_payout) if terms is not None else ZERO
    return minimums


def payout_plan(close_id: int) -> PayoutPlan:
    """Positive amounts due per partner for a close, by partner code: those at or above
    the partner's minimum payout are due, those below it are carried over.

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
        sa.select(
            Partner.id, Partner.code, Partner.region_id, Statement.closing_balance, paid_since
        )
        .join(Partner, Partner.id == Statement.partner_id)
        .where(
            Statement.period_start == close.period_start,
            Statement.period_end == close.period_end,
        )
        .order_by(Partner.code)
    ).all()
    minimums = _minimums(close, {region_id for _id, _code, region_id, *_rest in rows})
    plan = PayoutPlan(due=[], carried=[])
    for partner_id, code, region_id, closing, paid in rows:
        amount = to_money(Decimal(closing) + Decimal(paid or 0))
        if amount > 0:
            item = PayoutDue(partner_id, code, amount, minimums[region_id])
            (plan.carried if item.carried_over else plan.due).append(item)
    return plan


def payouts_due(close_id: int) -> list[PayoutDue]:
    """The partners a close pays (amount due at or above their minimum payout), by code.

    Raises:
        CommandError: unknown close.
    """
    return payout_plan(close_id).due


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
                cell(partner.code),
                cell(partner.name),
                cell(partner.legal_name),
                cell(partner.inn),
                cell(partner.bank_name),
                cell(partner.bik),
                cell(partner.settlement_account),
                cell(partner.correspondent_account),
                close.period_start.isoformat(),
                close.period_end.isoformat(),
                f"{item.amount:.2f}",
            ]
        )
    return (UTF8_BOM + out.getvalue()).encode("utf-8")


def _below_minimum(item: PayoutDue) -> str:
    return (
        f"{item.partner_code} ({format_money(item.amount)} < {format_money(item.minimum_payout)})"
    )


def mark_paid(
    close_id: int, partner_ids: list[int] | None = None, actor_id: int | None = None
) -> list[int]:
    """Add a ``payout`` row for each partner due (all, or those in ``partner_ids``);
    commit. Returns the new rows' ids; partners already paid for the period are skipped.

    Raises:
        CommandError: unknown close; a partner in ``partner_ids`` is carried over (its
            amount due is below its minimum payout). Nothing is written then.
    """
    close = _close(close_id)
    plan = payout_plan(close_id)
    refused = [c for c in plan.carried if partner_ids is not None and c.partner_id in partner_ids]
    if refused:
        raise CommandError(
            _l(
                "Not paid: %(partners)s below the minimum payout; the balance carries over"
                " to the next period.",
                partners=", ".join(_below_minimum(item) for item in refused),
            )
        )
    due = [d for d in plan.due if partner_ids is None or d.partner_id in partner_ids]
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
