"""The disk of the PDF folder fills up: the contract shows why it has no PDF, no half
file is left, and a retry after space is freed renders it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from server.documents.contracts import retry_render
from server.documents.models import Contract, RenderStatus
from server.extensions import db
from server.tasks.documents import enqueue_contract_renders
from tests.integration.documents.conftest import generate_contract, make_world, run_documents_worker

# its workers run in subprocesses, on the machine clock
pytestmark = pytest.mark.real_clock


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A 1 MB tmpfs for the files folder, filled but for 4 KB; (folder, filler)."""
    folder = tmp_path / "files"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (CI and make test run as root)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=True)
    try:
        filler = folder / "filler"
        with filler.open("wb", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"\0" * 4096)
            except OSError:
                pass
        yield folder, filler
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_full_pdf_folder_is_visible_and_recoverable(
    app: Flask, full_disk: tuple[Path, Path]
) -> None:
    folder, filler = full_disk
    app.config["FILES_DIR"] = str(folder)
    with app.app_context():
        world = make_world()
        contract_id = generate_contract(next(iter(world.partners.values())))
    run_documents_worker(app)
    with app.app_context():
        contract = db.session.get(Contract, contract_id)
        assert contract is not None and contract.render_status is RenderStatus.failed
        assert "No space left on device" in (contract.error or "")
        assert contract.pdf_path is None
    leftovers = [p.name for p in folder.rglob("*") if p.is_file() and p != filler]
    assert leftovers == []
    filler.unlink()
    with app.app_context():
        retry_render(contract_id)
        enqueue_contract_renders([contract_id])
    run_documents_worker(app)
    with app.app_context():
        contract = db.session.scalar(sa.select(Contract).where(Contract.id == contract_id))
        assert contract is not None and contract.render_status is RenderStatus.rendered
        assert contract.error is None and (folder / (contract.pdf_path or "")).is_file()
