"""``load_demo``: fill an empty database with the demo's partners, program and ledger.

The events are evaluated by the same evaluator as `partnerflow simulate` and the
workers, in the spec's processing order, so the demo ledger is what the engine pays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from server.audit import notes
from server.db.types import utcnow
from server.demo.data import (
    DEMO_USERS,
    REGIONS,
    demo_partners,
    demo_requisites,
    fake_inn,
    fake_ogrn,
)
from server.demo.events import MOSCOW, DemoWindow, demo_events, source_of
from server.errors import CommandError
from server.extensions import db
from server.ledger.evaluation import evaluation_batches
from server.ledger.intake import ingest_batch
from server.partners.models import AttributionCode, Partner, Region, RegionalTerms
from server.programs.commands import add_program_version
from server.rules.program import ProgramSpec, parse_program
from server.rules.yaml_loader import load_yaml
from server.security.commands import NewUser, create_user, sync_roles

PROGRAM_FILE = Path(__file__).with_name("program.yaml")
#: the city of each demo region (its terms' place of signing)
CITIES = {region.code: region.city for region in REGIONS}
#: the rule of the demo program whose dates follow the day the demo is loaded
CAMPAIGN_RULE = "c-winter"


@dataclass(frozen=True)
class DemoReport:
    partners: int
    events: int
    rejected: int
    accruals: int

    def summary(self) -> str:
        return (
            f"Demo loaded: {self.partners} partners, {self.events} events "
            f"({self.rejected} rejected), {self.accruals} accruals."
        )


def demo_loaded() -> bool:
    """Whether the database already holds partners (the demo loads only into an empty one)."""
    return db.session.scalar(sa.select(sa.func.count(Partner.id))) != 0


def demo_program(window: DemoWindow) -> ProgramSpec:
    """The demo program, its winter campaign dated to the window's last two months."""
    document: Any = load_yaml(PROGRAM_FILE.read_text(encoding="utf-8"))
    starts, ends = window.campaign
    for rule in document["rules"]:
        if rule["id"] == CAMPAIGN_RULE:
            rule["scope"].update(valid_from=starts.isoformat(), valid_to=ends.isoformat())
    return parse_program(document)


def load_demo(today: date | None = None) -> DemoReport:
    """Load the demo into an empty, migrated database (commits as it goes).

    The history covers the months up to the day before ``today`` (by default the
    current date in Moscow, the demo's time zone): see :class:`DemoWindow`.

    Raises:
        CommandError: the database already has partners.
    """
    if demo_loaded():
        raise CommandError(
            "The database already has partners; the demo loads only into an empty one."
        )
    window = DemoWindow.ending_before(today or utcnow().astimezone(MOSCOW).date())
    effective_from = window.first_day.replace(month=1, day=1)
    sync_roles()
    _partners(_regions(effective_from))
    version = add_program_version(
        demo_program(window),
        publish=True,
        effective_from=effective_from,
        note=notes.note("demo"),
    )
    for terms in db.session.scalars(sa.select(RegionalTerms)):
        terms.program_version_id = version.id
    from server.documents.templates import import_seed_templates
    from server.workflows.definitions import import_definition_files

    import_seed_templates()
    import_definition_files()
    for user in DEMO_USERS:
        create_user(
            NewUser(
                user.username,
                user.password,
                user.role,
                user.first_name,
                user.last_name,
                f"{user.username}@demo.partnerflow.local",
                user.partner_code,
            )
        )
    db.session.commit()
    return _ledger(window)


def _regions(effective_from: date) -> dict[str, Region]:
    regions = {}
    for item in REGIONS:
        region = Region(
            code=item.code, name_ru=item.name_ru, name_en=item.name_en, description=item.description
        )
        region.terms.append(
            RegionalTerms(
                version=1,
                effective_from=effective_from,
                payment_terms_days=item.payment_terms_days,
                minimum_payout=item.minimum_payout,
                exclusive_rights=item.exclusive_rights,
                training_support=item.training_support,
                marketing_support=item.marketing_support,
                loyalty_and_events=item.loyalty_and_events,
                court=item.court,
                contract_city=item.city,
                contract_language="ru",
            )
        )
        db.session.add(region)
        regions[item.code] = region
    db.session.flush()
    return regions


def _partners(regions: dict[str, Region]) -> dict[str, Partner]:
    rows: dict[str, Partner] = {}
    for index, item in enumerate(demo_partners(), start=1):
        partner = Partner(
            code=item.code,
            name=item.name,
            kind=item.kind,
            status=item.status,
            region=regions[item.region],
            parent=rows.get(item.parent) if item.parent else None,
            customer_ref=item.customer_ref,
            email=f"{item.code.lower()}@partners.example",
            landing_url=f"https://shop.example/?partner={item.code}",
            legal_name=item.name,
            inn=fake_inn(index),
            kpp=f"7701{index:05d}",
            ogrn=fake_ogrn(index),
            **demo_requisites(index, CITIES[item.region]),
        )
        for kind, code in item.codes:
            partner.codes.append(AttributionCode(kind=kind, code=code))
        db.session.add(partner)
        rows[item.code] = partner
    db.session.flush()
    return rows


def _ledger(window: DemoWindow) -> DemoReport:
    """Send the demo events through the workers' own path: intake, then evaluation."""
    by_source: dict[str, list[dict[str, object]]] = {}
    for payload in demo_events(demo_partners(), window):
        source = source_of(payload)
        by_source.setdefault(source, []).append(
            {k: v for k, v in payload.items() if not k.startswith("_")}
        )
    for source, payloads in by_source.items():
        for start in range(0, len(payloads), 5000):
            ingest_batch(source, payloads[start : start + 5000], "RUB")
    events = rejected = accruals = 0
    for report in evaluation_batches():
        events += report.events
        rejected += report.rejected
        accruals += report.accruals
    partners = db.session.scalar(sa.select(sa.func.count(Partner.id))) or 0
    return DemoReport(partners=partners, events=events, rejected=rejected, accruals=accruals)
