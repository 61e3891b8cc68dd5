"""The demo's contract for a store in region B reads as a lawyer expects: the city of
signing and the court are the region's, the partner's requisites are filled in, and the
signatures share a page with their heading and the requisites."""

from __future__ import annotations

import subprocess
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from server.demo.commands import load_demo
from server.documents.contracts import contract_pdf, create_contract, render_contract
from server.extensions import db
from server.partners.models import Partner, PartnerKind, Region


def _pages(path: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [" ".join(page.split()) for page in text.split("\f") if page.strip()]


def test_a_region_b_contract_names_its_city_court_and_requisites(
    app: Flask, tmp_path: Path
) -> None:
    app.config["FILES_DIR"] = str(tmp_path / "files")
    with app.app_context():
        load_demo()
        store = db.session.scalars(
            sa.select(Partner)
            .join(Region)
            .where(Region.code == "B", Partner.kind == PartnerKind.offline_point)
            .order_by(Partner.code)
        ).first()
        assert store is not None
        contract_id = create_contract(store.id)
        render_contract(contract_id)
        path, _name = contract_pdf(contract_id)
        pages = _pages(path)
    text = " ".join(pages)
    # Regression: «г. Москва» in the header while the disputes went to a court in St Petersburg
    header = pages[0][: pages[0].index("с одной стороны")]
    assert "г. Санкт-Петербург" in header and "Москва" not in header.split("ООО")[0]
    assert "Арбитражный суд города Санкт-Петербурга" in text
    # Regression: the demo partner's requisites were mostly «—»
    assert "Демо-Банк" in text and "БИК 044525974" in text
    assert "Р/с: 40702810" in text
    # Regression: the signatures stood alone on the last page
    signatures = [page for page in pages if "М. П. (при наличии)" in page]
    assert len(signatures) == 1
    assert "Реквизиты и подписи сторон" in signatures[0] and "ИНН / КПП" in signatures[0]
