"""Migration 5b8f0d4c21a7 on data, on both databases: accruals get their program,
figures and sale registry entries are keyed per program, and the downgrade keeps
what the one-program ledger reads. Then 123f429b6a6f (evaluation in two stages) moves
each sale's accruals into its program's record and back."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from server.extensions import db
from server.ledger.models import Accrual, PeriodFiguresRow, SaleRegistryRow
from server.partners.models import Partner
from server.programs.models import Program, ProgramVersion, VersionStatus
from tests.support import factories
from tests.support.schema import empty_database_app

BEFORE = "7d3e91b0c2a4"
#: the revision before evaluation in two stages (123f429b6a6f)
TWO_STAGES_BEFORE = "3f6a2d9e8b14"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _version(slug: str, since: date) -> ProgramVersion:
    program = Program(slug=slug, title=slug.title(), currency="RUB")
    version = ProgramVersion(
        program=program, number=1, status=VersionStatus.published, effective_from=since
    )
    db.session.add(version)
    db.session.flush()
    return version


def _accrual(key: str, partner: Partner, version: ProgramVersion | None, rule: str | None) -> None:
    db.session.execute(
        sa.insert(Accrual.__table__).values(
            dedupe_key=key,
            partner_id=partner.id,
            rule_key=rule,
            program_version_id=version.id if version else None,
            kind="payout" if version is None else "commission",
            amount=Decimal("10.00"),
            points=0,
            status="approved",
        )
    )


def _figures(rule: str) -> None:
    db.session.execute(
        sa.insert(PeriodFiguresRow.__table__).values(
            rule=rule, partner="P-1", period="2026-03", sales_amount=Decimal("5"), sales_count=1
        )
    )


def test_upgrade_gives_accruals_figures_and_sales_their_program_and_downgrade_undoes_it(
    migrated_database: dict[str, Any], tmp_path: Path
) -> None:
    app = empty_database_app(migrated_database, tmp_path)
    with app.app_context():
        upgrade(revision=BEFORE)
        partner = factories.partner("P-1")
        alpha = _version("alpha", date(2026, 1, 1))
        beta = _version("beta", date(2026, 2, 1))  # the latest: the old ledger's program
        ids = {"alpha": alpha.program_id, "beta": beta.program_id}
        _accrual("a1", partner, alpha, "tiers")
        _accrual("a2", partner, beta, "goal")
        _accrual("a3", partner, None, None)  # a payout: no program
        for rule in ("tiers", "goal", "orphan"):
            _figures(rule)
        entry = {"rule": "tiers", "partner": "P-1", "kind": "commission", "amount": "1"}
        db.session.execute(
            sa.insert(SaleRegistryRow.__table__).values(
                sale_id="s1", partner="P-1", amount=Decimal("100"), accruals=[entry]
            )
        )
        db.session.commit()

        upgrade()
        programs = dict(
            db.session.execute(sa.text("SELECT dedupe_key, program_id FROM accruals")).all()
        )
        assert programs == {"a1": ids["alpha"], "a2": ids["beta"], "a3": None}
        rules = set(db.session.scalars(sa.text("SELECT rule FROM eval_period_figures")))
        assert rules == {"alpha/tiers", "beta/goal", "beta/orphan"}
        # then 123f429b6a6f: the sale's accruals are its program's own record
        program, stored = db.session.execute(
            sa.text("SELECT program_id, accruals FROM eval_program_sales")
        ).one()
        stored = json.loads(stored) if isinstance(stored, str) else stored
        assert (program, stored) == (ids["alpha"], [{**entry, "program": "alpha"}])
        left, versions = db.session.execute(
            sa.text("SELECT accruals, versions FROM eval_sales")
        ).one()
        assert [_json(left), _json(versions)] == [[], {str(ids["alpha"]): None}]
        db.session.commit()

        downgrade(revision=TWO_STAGES_BEFORE)
        stored = db.session.scalar(sa.text("SELECT accruals FROM eval_sales"))
        assert _json(stored) == [{**entry, "program": "alpha"}]
        db.session.commit()

        downgrade(revision=BEFORE)
        rules = set(db.session.scalars(sa.text("SELECT rule FROM eval_period_figures")))
        assert rules == {"goal", "orphan"}  # the old ledger evaluates beta only
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("accruals")}
        assert "program_id" not in columns
        db.session.commit()
        db.engine.dispose()
