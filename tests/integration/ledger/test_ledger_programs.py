"""Several programs in the live ledger (spec §6): every program with a version in force
at an event's local date evaluates it, and the ledger equals ``simulate --program A
--program B`` over the same events.

The example is the spec's two-programs folder with its ``enrolment`` keys removed, so
that every program evaluates every partner's events and the dates alone decide; the
folder with its enrolments, stored, is tested in
``tests/integration/programs/test_enrolment.py``.
"""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.ledger.models import Accrual, SalesEvent
from server.partners.commands import import_partners
from server.programs.commands import add_program_version
from server.programs.models import Program
from server.rules.evaluator import Evaluator
from server.rules.output import outcome_to_json
from server.rules.partners import load_partners_file
from server.rules.program import load_program_file
from server.rules.sorting import sorted_events
from server.security.api_keys import create_api_key
from tests.conftest import SHARED_DIR
from tests.integration.ledger.helpers import exported, post, raw_batch, run_worker
from tests.support.web import login

TWO_PROGRAMS = SHARED_DIR / "spec" / "several-programs" / "two-programs"
PROGRAM_FILES = ("program-affiliates.yaml", "program-stores.yaml")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The two-programs example, its programs without enrolment (every partner)."""
    for name in ("partners.yaml", "events.jsonl"):
        shutil.copy(TWO_PROGRAMS / name, tmp_path / name)
    for name in PROGRAM_FILES:
        document = yaml.safe_load((TWO_PROGRAMS / name).read_text())
        document.pop("enrolment")
        (tmp_path / name).write_text(yaml.safe_dump(document, allow_unicode=True))
    return tmp_path


def simulate_programs(folder: Path) -> list[dict[str, Any]]:
    """What ``simulate --program A --program B`` prints for the folder, as objects."""
    evaluator = Evaluator(
        [load_program_file(folder / name) for name in PROGRAM_FILES],
        load_partners_file(folder / "partners.yaml"),
    )
    return [
        outcome_to_json(o, with_program=True)
        for o in evaluator.run(sorted_events(folder / "events.jsonl"))
    ]


def _load(app: Flask, folder: Path, since: dict[str, date] | None = None) -> str:
    """Import partners, publish both programs (each from its date); an API key."""
    since = since or {}
    with app.app_context():
        import_partners(load_partners_file(folder / "partners.yaml"))
        for name in PROGRAM_FILES:
            spec = load_program_file(folder / name)
            add_program_version(
                spec, publish=True, effective_from=since.get(spec.slug, date(2000, 1, 1))
            )
        return create_api_key("test", "shop").key


def test_two_published_programs_through_the_api_and_a_worker_equal_simulate(
    app: Flask, client: FlaskClient, folder: Path
) -> None:
    key = _load(app, folder)
    body = raw_batch(folder)
    for _ in range(2):  # delivered twice before the worker runs
        assert post(client, key, body).status_code == 200
    run_worker(app)
    want = simulate_programs(folder)
    assert {line.get("program") for line in want if "rejected" not in line} == {
        "stores-2026",
        "web-2026",
    }
    assert exported(app) == want
    # delivered again after evaluation: nothing changes
    assert post(client, key, body).status_code == 200
    run_worker(app)
    assert exported(app) == want
    with app.app_context():
        slugs = {pid: slug for pid, slug in db.session.execute(sa.select(Program.id, Program.slug))}
        rows = db.session.execute(
            sa.select(Accrual.program_id, Accrual.program_version_id, Accrual.rule_key)
        ).all()
        assert rows and all(program_id in slugs for program_id, _, _ in rows)
        # a row's version is its own program's
        versions = {
            v.id: v.program_id for p in db.session.scalars(sa.select(Program)) for v in p.versions
        }
        assert all(versions[v] == p for p, v, _ in rows if v is not None)


def _programs_by_event(app: Flask) -> dict[str, set[tuple[str, int]]]:
    """Event id → (program slug, version number) of its accruals."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(SalesEvent.external_id, Program.slug, Accrual.program_version_id)
            .join(Accrual, Accrual.event_id == SalesEvent.id)
            .join(Program, Program.id == Accrual.program_id)
        ).all()
        numbers = {
            v.id: v.number for p in db.session.scalars(sa.select(Program)) for v in p.versions
        }
        found: dict[str, set[tuple[str, int]]] = {}
        for event, slug, version in rows:
            found.setdefault(event, set()).add((slug, numbers.get(version, 0)))
        return found


def test_each_program_evaluates_from_its_own_dates(
    app: Flask, client: FlaskClient, folder: Path
) -> None:
    """Stores from 10 March, and a second web version from 12 March: the second
    program's publication replaces nothing, nor does the first program's new version."""
    key = _load(app, folder, since={"stores-2026": date(2026, 3, 10)})
    with app.app_context():
        add_program_version(
            load_program_file(folder / "program-affiliates.yaml"),
            publish=True,
            effective_from=date(2026, 3, 12),
        )
    assert post(client, key, raw_batch(folder)).status_code == 200
    run_worker(app)
    by_event = _programs_by_event(app)
    # before 10 March only web-2026 v1 evaluates (e02: a shop's sale, welcome bonus)
    assert by_event["e02"] == {("web-2026", 1)}
    assert by_event["e05"] == {("web-2026", 1)}
    # 11 March: both, web still v1
    assert by_event["e12"] == {("web-2026", 1), ("stores-2026", 1)}
    # 15 March: both, web v2
    assert by_event["e15"] == {("web-2026", 2), ("stores-2026", 1)}
    # the refund of e11 (10 March, both programs) reverses in both programs
    assert {slug for slug, _ in by_event["e14"]} == {"web-2026", "stores-2026"}
    lines = exported(app)
    assert all("program" in line for line in lines if "rejected" not in line)


def test_accrual_screens_show_and_filter_by_program(
    app: Flask, client: FlaskClient, folder: Path
) -> None:
    key = _load(app, folder)
    assert post(client, key, raw_batch(folder)).status_code == 200
    run_worker(app)
    with app.app_context():
        programs = {p.slug: (p.id, p.title) for p in db.session.scalars(sa.select(Program))}
        stores = db.session.scalar(
            sa.select(sa.func.count(Accrual.id)).where(
                Accrual.program_id == programs["stores-2026"][0]
            )
        )
    manager = login(app)
    page = manager.get("/accrualview/list/").get_data(as_text=True)
    assert "Сеть магазинов 2026" in page and "Онлайн-партнёры 2026" in page
    stores_id, stores_title = programs["stores-2026"]
    body = manager.get(f"/accrualview/csv/?_flt_0_program={stores_id}").data
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert stores and len(rows) == stores
    program_column = list(rows[0])[-1]
    assert {row[program_column] for row in rows} == {stores_title}
    filtered = manager.get(f"/accrualview/list/?_flt_0_program={stores_id}").get_data(as_text=True)
    assert "Онлайн-партнёры 2026" not in filtered.split("<tbody")[-1]
