"""Fixtures for documents: a region with terms and a published program, partners, the
seed templates imported, the document views registered, and a real rq worker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from server.demo.commands import PROGRAM_FILE
from server.documents.contracts import create_contract
from server.documents.models import ContractTemplate
from server.documents.templates import import_seed_templates
from server.extensions import db
from server.partners.models import Partner, PartnerKind, PartnerStatus, Region
from server.partners.terms import TermsDraft, add_terms_version
from server.programs.commands import add_program_version
from server.queues import get_queue
from server.rules.program import load_program_file
from server.tasks.documents import DOCUMENTS_QUEUE, enqueue_contract_renders
from server.tasks.worker import SimpleWorker, set_worker_app

ISSUED_ON = date(2026, 11, 20)


def generate_contract(partner_id: int, on: date | None = None) -> int:
    """What the contracts screen does: create the contract (committed), queue its render."""
    contract_id = create_contract(partner_id, on=on)
    enqueue_contract_renders([contract_id])
    return contract_id


@dataclass(frozen=True)
class World:
    program_version_id: int
    partners: dict[str, int]


@pytest.fixture
def docs_app(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The app with its files in a fresh folder and an empty documents queue."""
    app.config["FILES_DIR"] = str(tmp_path / "files")
    get_queue(DOCUMENTS_QUEUE, app).empty()
    yield app


def make_world(language: str = "ru") -> World:
    """Regions A and B with terms v1 naming the demo program (published), partners of
    every kind in A and one in B, and the seed templates (committed)."""
    version = add_program_version(
        load_program_file(PROGRAM_FILE), publish=True, effective_from=date(2026, 1, 1)
    )
    partners: dict[str, int] = {}
    for code, name in (("A", "Регион A — Центр"), ("B", "Регион B — Северо-Запад")):
        db.session.add(Region(code=code, name_ru=name, name_en=f"Region {code}"))
    db.session.commit()
    for region in ("A", "B"):
        add_terms_version(
            region,
            TermsDraft(
                effective_from=date(2026, 1, 1),
                payment_terms_days=15 if region == "A" else 30,
                minimum_payout=Decimal("1000") if region == "A" else Decimal("2000"),
                governing_law="Российская Федерация",
                contract_language=language,
                exclusive_rights="Эксклюзивные права на премиальную линейку.",
                court="Арбитражный суд города Москвы",
                program_version_id=version.id,
            ),
        )
    regions = {r.code: r for r in db.session.query(Region)}
    specs = [
        ("A-AMB-01", "Антон Амбассадоров", PartnerKind.ambassador, "A"),
        ("A-WEB-01", "Блог «Гаджеты без воды»", PartnerKind.online_affiliate, "A"),
        ("A-SHOP-01", "Магазин «Техно»", PartnerKind.offline_point, "A"),
        ("B-COF-01", "Агентство «Волна»", PartnerKind.cofactor, "B"),
    ]
    for code, name, kind, region in specs:
        partner = Partner(
            code=code,
            name=name,
            kind=kind,
            status=PartnerStatus.active,
            region_id=regions[region].id,
            legal_name=f"ООО «{code}»",
            inn="7701234567",
        )
        db.session.add(partner)
        db.session.flush()
        partners[code] = partner.id
    db.session.commit()
    import_seed_templates()
    return World(version.id, partners)


@pytest.fixture
def world(docs_app: Flask) -> Iterator[World]:
    with docs_app.app_context():
        yield make_world()


def run_documents_worker(app: Flask) -> None:
    """Run the documents queue to empty with a real rq worker (in this process)."""
    set_worker_app(app)
    queue = get_queue(DOCUMENTS_QUEUE, app)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def agreement_ru() -> ContractTemplate:
    """The seed partner agreement in Russian, version 1 (published)."""
    template = db.session.scalar(
        sa.select(ContractTemplate).where(ContractTemplate.key == "partner_agreement.ru")
    )
    assert template is not None
    return template
