"""A partner in two programs, evaluated for real: the spec's two-programs example (its
programs without ``enrolment``: stored programs enrol everybody) plus a goal rule in the
web program, published, its March 2026 events taken in and evaluated, March closed.

SHOP-1 (an offline point) earns in both: the stores program's tiers and network rules
and the web program's first-purchase bonus; its goal (two sales a month) is reached in
the web program. The statement and portal tests read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import yaml

from server.campaigns.models import Campaign, CampaignKind, CampaignStatus
from server.documents.templates import import_seed_templates
from server.extensions import db
from server.ledger.evaluation import evaluation_batches
from server.ledger.intake import ingest_batch
from server.partners.commands import import_partners
from server.partners.models import Partner
from server.programs.commands import add_program_version
from server.programs.models import Program
from server.rules.partners import load_partners_file
from server.rules.program import parse_program
from server.security.commands import sync_roles
from server.statements.commands import close_period
from server.statements.models import Statement
from tests.conftest import SHARED_DIR

TWO_PROGRAMS = SHARED_DIR / "spec" / "several-programs" / "two-programs"
#: the web program's goal, added to the example so the portal has a goal to show
GOAL_RULE = {
    "id": "two-sales",
    "template": "goal_bonus",
    "params": {"metric": "sales_count", "threshold": "2", "amount": "150"},
}
PARTNER = "SHOP-1"
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
TITLES = {"web-2026": "Онлайн-партнёры 2026", "stores-2026": "Сеть магазинов 2026"}


@dataclass(frozen=True)
class TwoProgramsWorld:
    partner_id: int
    statement_id: int


def _program(name: str, extra: list[dict[str, Any]] | None = None) -> Any:
    document = yaml.safe_load((TWO_PROGRAMS / name).read_text(encoding="utf-8"))
    document.pop("enrolment")
    document["rules"] = [*document["rules"], *(extra or [])]
    return parse_program(document)


def load_two_programs() -> TwoProgramsWorld:
    """Build the world in the current app context (commits); March is closed."""
    sync_roles()
    import_seed_templates()
    import_partners(load_partners_file(TWO_PROGRAMS / "partners.yaml"))
    for spec in (_program("program-affiliates.yaml", [GOAL_RULE]), _program("program-stores.yaml")):
        add_program_version(spec, publish=True, effective_from=date(2026, 1, 1))
    events = [
        json.loads(line, parse_float=Decimal)
        for line in (TWO_PROGRAMS / "events.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    ingest_batch("shop", events, "RUB")
    for _report in evaluation_batches():
        pass
    close_period(*MARCH)
    partner_id = db.session.scalar(sa.select(Partner.id).where(Partner.code == PARTNER))
    assert partner_id is not None
    statement_id = db.session.scalar(
        sa.select(Statement.id).where(Statement.partner_id == partner_id)
    )
    assert statement_id is not None
    return TwoProgramsWorld(partner_id, statement_id)


def make_campaign_of(program_slug: str, status: CampaignStatus) -> None:
    """Turn ``program_slug`` into a campaign's own program («Весенняя распродажа»),
    running on its first version's day; committed."""
    program = db.session.scalar(sa.select(Program).where(Program.slug == program_slug))
    assert program is not None
    day = program.versions[0].effective_from
    db.session.add(
        Campaign(
            slug="spring",
            title="Весенняя распродажа",
            kind=CampaignKind.seasonal,
            status=status,
            starts_on=day,
            ends_on=day,
            rules_program_id=program.id,
        )
    )
    db.session.commit()
