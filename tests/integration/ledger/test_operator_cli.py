"""Operator commands: programs import/export and partners import from YAML and CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.partners.imports import import_partners_csv
from server.partners.models import Partner, PartnerStatus
from server.programs.models import ProgramVersion, VersionStatus
from tests.integration.ledger.helpers import (
    EXAMPLES,
    cli,
    event_lines,
    expected,
    exported,
    store_example,
)

pytestmark = pytest.mark.spec_examples
BASIC = EXAMPLES / "basic"


def test_programs_import_publish_and_export_round_trip(app: Flask, tmp_path: Path) -> None:
    imported = cli(
        app,
        tmp_path,
        "programs",
        "import",
        str(BASIC / "program.yaml"),
        "--publish",
        "--effective-from",
        "2026-01-01",
    )
    assert imported.returncode == 0, imported.stderr
    assert "example-2026 v1: 10 rule(s), published from 2026-01-01" in imported.stdout
    with app.app_context():
        version = db.session.scalar(sa.select(ProgramVersion))
        assert version is not None and version.status is VersionStatus.published
    exported = cli(app, tmp_path, "programs", "export", "example-2026")
    assert exported.returncode == 0, exported.stderr
    normalized = cli(app, tmp_path, "programs", "normalize", str(BASIC / "program.yaml"))
    assert exported.stdout == normalized.stdout
    refused = cli(app, tmp_path, "programs", "import", str(BASIC / "program.yaml"), "--publish")
    assert refused.returncode == 2 and "--effective-from" in refused.stderr


def test_partners_import_yaml_then_csv_with_row_errors(app: Flask, tmp_path: Path) -> None:
    done = cli(app, tmp_path, "partners", "import", str(BASIC / "partners.yaml"))
    assert done.returncode == 0, done.stderr
    assert "4 partners created" in done.stdout
    csv_text = (
        "id;type;region;parent;status;promo;qr\n"
        "NEW-1;ambassador;A;AMB-1;active;NEW1;\n"  # parent from the database
        "NEW-2;wizard;A;;active;;\n"  # unknown type
        "NEW-3;offline_point;B;NEW-2;active;;qr-n3\n"  # child of a rejected row
        "WEB-2;online_affiliate;B;;active;;\n"  # an update: now active
        ";ambassador;A;;active;;\n"  # no id
    )
    with app.app_context():
        report = import_partners_csv(csv_text.encode("cp1251"))
        assert [(e.line, e.column) for e in report.errors] == [
            (3, "type"),
            (4, "parent"),
            (6, "id"),
        ]
        assert report.imported is not None and report.imported.created == 1
        assert report.imported.updated == 1
        new = db.session.scalar(sa.select(Partner).where(Partner.code == "NEW-1"))
        assert new is not None and new.parent is not None and new.parent.code == "AMB-1"
        web2 = db.session.scalar(sa.select(Partner).where(Partner.code == "WEB-2"))
        assert web2 is not None and web2.status is PartnerStatus.active
        assert db.session.scalar(sa.select(Partner).where(Partner.code == "NEW-3")) is None


def test_evaluate_runs_batches_of_the_configured_size_until_none_is_pending(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    store_example(app, client, BASIC)
    done = cli(app, tmp_path, "evaluate", EVALUATION_BATCH_SIZE="4")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    events = len(event_lines(BASIC))
    assert len(lines) == -(-events // 4)  # one line per batch of 4
    assert lines[0].startswith("4 events,") and lines[0].endswith("4+ pending")
    assert lines[-1].endswith(" 0 pending")
    assert exported(app) == expected(BASIC)
