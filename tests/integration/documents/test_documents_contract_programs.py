"""Contracts name the programs they cover, on both databases: the regional terms'
program first, then every other program in force on the contract's date with a rule
that may cover the partner; a campaign's own program is not a contract's. A snapshot
stored before ``programs`` existed still renders (upgraded to name its one program)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import Flask

from server.campaigns.models import Campaign, CampaignKind, CampaignStatus
from server.documents.contracts import contract_html, contract_pdf
from server.documents.models import Contract, RenderStatus
from server.documents.snapshot import SNAPSHOT_VERSION, upgrade_snapshot
from server.extensions import db
from server.programs.commands import add_program_version
from server.programs.models import ProgramVersion
from server.rules.program import parse_program
from tests.integration.documents.conftest import (
    ISSUED_ON,
    World,
    generate_contract,
    run_documents_worker,
)
from tests.integration.documents.test_documents_contracts import pdf_text

STORES: dict[str, Any] = {
    "program": "stores-2026",
    "title": "Сеть магазинов 2026",
    "currency": "RUB",
    "rules": [
        {
            "id": "store-tiers",
            "template": "tiered_percent",
            "scope": {"partner_types": ["offline_point"]},
            "params": {"tiers": [{"from": "0", "rate": "3"}, {"from": "20000", "rate": "5"}]},
        }
    ],
}


def _publish(document: Mapping[str, Any], since: date) -> int:
    return add_program_version(parse_program(dict(document)), publish=True, effective_from=since).id


def test_a_contract_names_every_program_that_covers_the_partner(
    docs_app: Flask, world: World
) -> None:
    _publish(STORES, date(2026, 3, 1))
    # a campaign's own program, in force too: not named by the contract
    campaign_version = _publish(
        {**STORES, "program": "c-spring", "title": "Весенняя распродажа"}, date(2026, 3, 1)
    )
    db.session.add(
        Campaign(
            slug="spring",
            title="Весенняя распродажа",
            kind=CampaignKind.seasonal,
            status=CampaignStatus.running,
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 12, 31),
            rules_program_id=db.session.get_one(ProgramVersion, campaign_version).program_id,
        )
    )
    db.session.commit()

    shop = generate_contract(world.partners["A-SHOP-01"], on=ISSUED_ON)
    blogger = generate_contract(world.partners["A-WEB-01"], on=ISSUED_ON)
    snapshot = db.session.get_one(Contract, shop).snapshot
    assert snapshot["schema_version"] == SNAPSHOT_VERSION
    titles = [program["title"] for program in snapshot["programs"]]
    assert titles[1:] == ["Сеть магазинов 2026"] and titles[0] == snapshot["program"]["title"]
    assert snapshot["programs"][0]["commission"] == snapshot["commission"]
    assert "5 % от 20\xa0000\xa0₽" in snapshot["programs"][1]["commission"][0]["text"]
    # the stores program's only rule is for offline points: not the blogger's program
    assert len(db.session.get_one(Contract, blogger).snapshot["programs"]) == 1

    run_documents_worker(docs_app)
    db.session.expire_all()
    assert db.session.get_one(Contract, shop).render_status is RenderStatus.rendered
    path, _name = contract_pdf(shop)
    text = pdf_text(path)
    assert "партнёрских программ" in text
    assert f"Программа «{titles[0]}»" in text and "Программа «Сеть магазинов 2026»" in text
    assert "Весенняя распродажа" not in text


def test_a_snapshot_stored_before_programs_still_renders(docs_app: Flask, world: World) -> None:
    contract_id = generate_contract(world.partners["A-AMB-01"], on=ISSUED_ON)
    contract = db.session.get_one(Contract, contract_id)
    old = {k: v for k, v in contract.snapshot.items() if k != "programs"} | {"schema_version": 1}
    contract.snapshot = old
    db.session.commit()
    upgraded = upgrade_snapshot(old)
    assert upgraded["programs"] == [
        {**old["program"], "commission": old["commission"], "holds": old["holds"]}
    ]
    html = contract_html(contract_id)
    assert f"Программа «{old['program']['title']}»" in html
