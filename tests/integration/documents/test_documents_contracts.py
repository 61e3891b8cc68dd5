"""Contracts end to end on both databases: number, snapshot, rq render, PDF text, hash,
statuses, and atomic numbering under two concurrent workers."""

from __future__ import annotations

import hashlib
import subprocess
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from server.documents.contracts import (
    contract_html,
    contract_pdf,
    create_contract,
    generate_region_contracts,
    mark_contract_sent,
    record_signed_contract,
    terminate_contract,
)
from server.documents.models import Contract, ContractStatus, RenderStatus
from server.documents.numbering import allocate_contract_number, last_contract_number
from server.documents.pdf import PdfOptions, html_to_pdf
from server.documents.storage import StoredFileError
from server.documents.templates import assets_dir
from server.errors import CommandError
from server.extensions import db
from tests.integration.documents.conftest import (
    ISSUED_ON,
    World,
    generate_contract,
    run_documents_worker,
)


def pdf_text(path: Path) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(result.stdout.split())


def pdf_metadata(path: Path) -> str:
    return subprocess.run(
        ["pdfinfo", "-meta", str(path)], capture_output=True, text=True, check=True
    ).stdout


def test_generated_contract_is_rendered_by_the_worker_with_the_engines_terms(
    docs_app: Flask, world: World
) -> None:
    contract_id = generate_contract(world.partners["A-AMB-01"], on=ISSUED_ON)
    contract = db.session.get(Contract, contract_id)
    assert contract is not None
    assert contract.number == "A-2026-0001"
    assert contract.render_status is RenderStatus.pending
    assert contract.snapshot["terms"]["minimum_payout"] == "1000.00"

    run_documents_worker(docs_app)
    db.session.expire_all()
    contract = db.session.get(Contract, contract_id)
    assert contract is not None
    assert contract.render_status is RenderStatus.rendered, contract.error
    path, name = contract_pdf(contract_id)
    assert name == "A-2026-0001.pdf"
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == contract.sha256
    assert 'pdfaid:part="3" pdfaid:conformance="U"' in pdf_metadata(path)  # PDF/A-3u
    text = pdf_text(path)
    assert "Партнёрский договор № A-2026-0001" in text
    assert "1 000,00 ₽" in text  # minimum payout from the regional terms
    assert "7 % с каждой продажи онлайн в регионе A" in text  # the program's rule, in words
    assert "300 ₽ за первую покупку нового клиента для амбассадоров" in text
    assert "5 % с каждой продажи" not in text  # region B/C rule is not this partner's
    assert "страница 1 из" in text

    # Re-rendering from the stored snapshot gives the same text.
    again = path.with_name("again.pdf")
    html = contract_html(contract_id)
    again.write_bytes(html_to_pdf(html, contract.template.css, PdfOptions(assets_dir())))
    assert pdf_text(again) == text


def test_numbers_run_per_region_and_year_and_skip_nothing(docs_app: Flask, world: World) -> None:
    first = create_contract(world.partners["A-WEB-01"], on=ISSUED_ON)
    second = create_contract(world.partners["A-SHOP-01"], on=ISSUED_ON)
    other_region = create_contract(world.partners["B-COF-01"], on=ISSUED_ON)
    numbers = [db.session.get(Contract, i).number for i in (first, second, other_region)]
    assert numbers == ["A-2026-0001", "A-2026-0002", "B-2026-0001"]
    # A refused contract gives no number away.
    with pytest.raises(CommandError):
        create_contract(world.partners["A-WEB-01"], on=ISSUED_ON.replace(year=2025))
    assert last_contract_number("A", 2025) == 0


def test_two_workers_never_take_the_same_number(docs_app: Flask, world: World) -> None:
    taken: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            with docs_app.app_context():
                barrier.wait()
                for _ in range(15):
                    taken.append(allocate_contract_number("C", 2026))
                    db.session.commit()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(taken)) == 30
    assert sorted(taken) == [f"C-2026-{n:04d}" for n in range(1, 31)]


def test_status_moves_only_forward_with_a_signed_scan(docs_app: Flask, world: World) -> None:
    contract_id = create_contract(world.partners["A-AMB-01"], on=ISSUED_ON)
    with pytest.raises(CommandError, match="no rendered PDF"):
        mark_contract_sent(contract_id)
    contract = db.session.get(Contract, contract_id)
    assert contract is not None
    # Pretend-render: a real render is covered above; the status rules are what matter here.
    contract.render_status = RenderStatus.rendered
    db.session.commit()
    with pytest.raises(CommandError, match="cannot become signed"):
        record_signed_contract(contract_id, "scan.pdf", b"%PDF-1.7 signed")
    mark_contract_sent(contract_id)
    with pytest.raises(CommandError, match="PDF"):
        record_signed_contract(contract_id, "scan.pdf", b"<html>not a pdf</html>")
    with pytest.raises(CommandError, match="PDF, PNG or JPEG"):
        record_signed_contract(contract_id, "scan.exe", b"MZ")
    record_signed_contract(contract_id, "scan.pdf", b"%PDF-1.7 signed")
    db.session.expire_all()
    contract = db.session.get(Contract, contract_id)
    assert contract is not None
    assert contract.status is ContractStatus.signed
    assert contract.signed_at is not None
    assert contract.signed_scan_path and contract.signed_scan_path.endswith(".pdf")
    terminate_contract(contract_id)
    with pytest.raises(CommandError, match="terminated"):
        terminate_contract(contract_id)


def test_region_bulk_skips_partners_with_a_live_contract(docs_app: Flask, world: World) -> None:
    create_contract(world.partners["A-AMB-01"], on=ISSUED_ON)
    ids = generate_region_contracts("A", on=ISSUED_ON)
    assert len(ids) == 2
    numbers = set(db.session.scalars(sa.select(Contract.number)))
    assert numbers == {"A-2026-0001", "A-2026-0002", "A-2026-0003"}
    assert generate_region_contracts("A", on=ISSUED_ON) == []


def test_altered_pdf_is_refused_and_failed_render_is_recorded(
    docs_app: Flask, world: World
) -> None:
    from server.documents.contracts import render_contract
    from server.documents.models import ContractTemplate

    contract_id = create_contract(world.partners["A-WEB-01"], on=ISSUED_ON)
    contract = db.session.get(Contract, contract_id)
    assert contract is not None
    # Tampering with the stored template row is what a failed render looks like.
    template = db.session.get(ContractTemplate, contract.template_id)
    assert template is not None
    template.body_html = "{{ ''.__class__ }}"
    db.session.commit()
    assert render_contract(contract_id).value == "failed"
    db.session.expire_all()
    contract = db.session.get(Contract, contract_id)
    # stored for the Legal screen, in the deployment's default language (Russian)
    assert (
        contract is not None
        and contract.error == "строка 1: обращение к атрибуту «__class__» запрещено"
    )
    with pytest.raises(StoredFileError):
        contract_pdf(contract_id)
