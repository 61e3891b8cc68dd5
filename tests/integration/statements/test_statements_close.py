"""Period closes and statements: reconciliation with the ledger (demo data), immutable
PDFs, late events as adjustments, batches on a real worker resumed after a crash,
payouts."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from server.errors import CommandError
from server.extensions import db
from server.ledger.models import Accrual, AccrualKind, AccrualStatus
from server.statements.commands import (
    close_period,
    covered_by,
    progress,
    render_statement,
    statement_data,
    statement_ids,
    statement_pdf,
)
from server.statements.models import PeriodClose, Statement, StatementStatus
from server.statements.payouts import mark_paid, payouts_csv, payouts_due
from server.tasks.statements import enqueue_close_renders
from tests.integration.statements.support import run_documents_worker
from tests.support.factories import accrual, partner, sale

MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
APRIL_2 = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)


def _statement(partner_id: int, start: date) -> Statement:
    return db.session.scalars(
        sa.select(Statement).where(
            Statement.partner_id == partner_id, Statement.period_start == start
        )
    ).one()


def test_every_demo_statement_reconciles_with_the_ledger_to_the_kopeck(app: Flask) -> None:
    from server.demo.commands import load_demo

    with app.app_context():
        load_demo()
        months = [(date(2026, m, 1), date(2026, m + 1, 1)) for m in range(6, 11)]
        closing_before: dict[int, Decimal] = {}
        checked = 0
        for start, following in months:
            end = date.fromordinal(following.toordinal() - 1)
            close_id = close_period(start, end)
            close = db.session.get(PeriodClose, close_id)
            assert close is not None
            ledger = dict(
                db.session.execute(
                    sa.select(Accrual.partner_id, sa.func.sum(Accrual.amount))
                    .where(covered_by(close), Accrual.status == AccrualStatus.approved)
                    .group_by(Accrual.partner_id)
                ).all()
            )
            for statement_id in statement_ids(close_id):
                statement = db.session.get(Statement, statement_id)
                assert statement is not None
                data, _template = statement_data(statement)  # raises unless it reconciles
                lines = sum((Decimal(row["payable"]) for row in data["rows"]), Decimal("0"))
                assert statement.opening_balance == closing_before.get(
                    statement.partner_id, Decimal("0")
                )
                assert statement.opening_balance + lines == statement.closing_balance
                assert statement.closing_balance == ledger[statement.partner_id]
                assert Decimal(data["totals"]["closing"]) == statement.closing_balance
                closing_before[statement.partner_id] = statement.closing_balance
                checked += 1
        assert checked >= 100
        # every approved row up to the last close is in exactly one statement
        everything = db.session.scalar(
            sa.select(sa.func.sum(Accrual.amount)).where(
                covered_by(close), Accrual.status == AccrualStatus.approved
            )
        )
        assert sum(closing_before.values(), Decimal("0")) == everything


@pytest.mark.usefixtures("seed_templates")
def test_a_late_event_goes_to_the_next_statement_and_the_closed_one_never_changes(
    app: Flask,
) -> None:
    with app.app_context():
        owner = partner("P-LATE")
        first = sale("S-1", owner, MARCH, "10000.00", code="PROMO-1")
        accrual(first, owner, "700.00", MARCH, rule="a-online")
        accrual(first, owner, "300.00", MARCH, status=AccrualStatus.held, reason="hold-large")
        db.session.commit()
        march = close_period(date(2026, 3, 1), date(2026, 3, 31), now=APRIL_2)
        (march_id,) = statement_ids(march)
        assert render_statement(march_id) is StatementStatus.ready
        path, _name = statement_pdf(march_id)
        before = path.read_bytes()
        closed = db.session.get(Statement, march_id)
        assert closed is not None and closed.closing_balance == Decimal("700.00")
        sha = closed.sha256
        assert sha == hashlib.sha256(before).hexdigest()

        # a sale of March arrives after the close
        late = sale("S-LATE", owner, datetime(2026, 3, 30, 12, tzinfo=UTC), "2000.00")
        late_at = datetime(2026, 3, 30, 12, tzinfo=UTC)
        accrual(late, owner, "140.00", late_at, rule="a-online", created_at=datetime.now(UTC))
        db.session.commit()
        assert render_statement(march_id) is StatementStatus.ready  # left alone
        april = close_period(date(2026, 4, 1), date(2026, 4, 30), now=datetime.now(UTC))
        (april_id,) = statement_ids(april)
        assert render_statement(april_id) is StatementStatus.ready

        db.session.expire_all()
        closed = db.session.get(Statement, march_id)
        assert closed is not None
        assert (closed.sha256, closed.closing_balance) == (sha, Decimal("700.00"))
        assert statement_pdf(march_id)[0].read_bytes() == before
        nxt = db.session.get(Statement, april_id)
        assert nxt is not None
        assert nxt.opening_balance == Decimal("700.00")
        assert nxt.closing_balance == Decimal("840.00")
        data, _template = statement_data(nxt)
        assert [row["event"] for row in data["adjustments"]] == ["S-LATE"]
        assert data["totals"]["adjustments"] == "140.00"


def test_closes_refuse_open_or_overlapping_periods(app: Flask) -> None:
    with app.app_context():
        with pytest.raises(CommandError):
            close_period(date(2026, 3, 1), date(2026, 3, 31), now=MARCH)
        close_period(date(2026, 3, 1), date(2026, 3, 31), now=APRIL_2)
        with pytest.raises(CommandError):
            close_period(date(2026, 3, 15), date(2026, 4, 30), now=datetime(2026, 6, 1, tzinfo=UTC))


@pytest.mark.usefixtures("seed_templates")
def test_a_batch_renders_on_workers_and_resumes_after_a_crash_without_duplicates(
    app: Flask, tmp_path: Path
) -> None:
    with app.app_context():
        for index in range(6):
            owner = partner(f"P-{index}")
            event = sale(f"S-{index}", owner, MARCH, "1000.00")
            accrual(event, owner, f"{10 + index}.05", MARCH)
        db.session.commit()
        close_id = close_period(date(2026, 3, 1), date(2026, 3, 31), now=APRIL_2)
        assert enqueue_close_renders(close_id) == 6
    run_documents_worker(app, max_jobs=2)  # the worker "crashes" after two jobs
    with app.app_context():
        assert progress(close_id).ready == 2
        assert enqueue_close_renders(close_id) == 4  # resume: only unfinished ones
        enqueue_close_renders(close_id)  # a second resume queues the same jobs again
    run_documents_worker(app)
    with app.app_context():
        state = progress(close_id)
        assert (state.total, state.ready, state.pending, state.failed) == (6, 6, 0, 0)
        assert db.session.scalar(sa.select(sa.func.count(Statement.id))) == 6
        files = list((tmp_path / "files" / "statements").rglob("*.pdf"))
        assert len(files) == 6


def test_payouts_export_and_mark_paid_add_ledger_rows_once(app: Flask) -> None:
    with app.app_context():
        paid, small, negative = partner("P-PAY"), partner("P-SMALL"), partner("=P-NEG")
        accrual(sale("S-A", paid, MARCH), paid, "1500.50", MARCH)
        accrual(sale("S-B", small, MARCH), small, "0.01", MARCH)
        accrual(sale("S-C", negative, MARCH), negative, "-5.00", MARCH)
        accrual(sale("S-D", paid, MARCH), paid, "99.00", MARCH, status=AccrualStatus.held)
        db.session.commit()
        close_id = close_period(date(2026, 3, 1), date(2026, 3, 31), now=APRIL_2)
        due = {item.partner_code: item.amount for item in payouts_due(close_id)}
        assert due == {"P-PAY": Decimal("1500.50"), "P-SMALL": Decimal("0.01")}
        text = payouts_csv(close_id).decode("utf-8-sig").splitlines()
        assert text[0].startswith("partner_code,")
        assert "P-PAY" in text[1] and text[1].endswith(",1500.50")

        rows = mark_paid(close_id, [paid.id])
        assert len(rows) == 1
        assert mark_paid(close_id, [paid.id]) == []  # never twice
        payout = db.session.get(Accrual, rows[0])
        assert payout is not None
        assert (payout.kind, payout.amount, payout.status) == (
            AccrualKind.payout,
            Decimal("-1500.50"),
            AccrualStatus.approved,
        )
        assert payout.dedupe_key == "payout|P-PAY|2026-03-01..2026-03-31"
        assert {item.partner_code for item in payouts_due(close_id)} == {"P-SMALL"}
        balance = db.session.scalar(
            sa.select(sa.func.sum(Accrual.amount)).where(
                Accrual.partner_id == paid.id, Accrual.status == AccrualStatus.approved
            )
        )
        assert balance == Decimal("0.00")
