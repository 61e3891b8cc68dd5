"""One way to publish: the command line (and the demo) and the workspace give the same
versions, dates and audit entries.

Regression: ``add_program_version(publish=True)`` (``programs import --publish``, the
demo) took no lock, archived nothing, left ``effective_to`` empty and wrote no audit
entry, while the workspace's publish did all of that.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Flask

from server.audit.models import AuditEntry
from server.extensions import db
from server.programs import commands as program_commands
from server.programs.models import Program, ProgramVersion
from server.rules.program import dump_program_yaml, parse_program

#: effective dates of three publications: the second is followed, the third supersedes it
DAYS = (date(2026, 1, 1), date(2026, 10, 1), date(2026, 6, 1))


def _spec(slug: str, rate: str) -> Any:
    return parse_program(
        {
            "program": slug,
            "title": "Тест",
            "currency": "RUB",
            "rules": [{"id": "cps", "template": "percent_of_sale", "params": {"rate": rate}}],
        }
    )


def _from_the_command_line(slug: str, rate: str, day: date) -> None:
    program_commands.add_program_version(_spec(slug, rate), publish=True, effective_from=day)


def _from_the_workspace(slug: str, rate: str, day: date) -> None:
    draft = program_commands.import_program_yaml(dump_program_yaml(_spec(slug, rate)), None)
    program_commands.publish_version(draft.id, day, None)


def _history(slug: str) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    program = db.session.scalar(sa.select(Program).where(Program.slug == slug))
    assert program is not None
    versions = db.session.scalars(
        sa.select(ProgramVersion)
        .where(ProgramVersion.program_id == program.id)
        .order_by(ProgramVersion.number)
    ).all()
    rows = [
        (v.number, v.status.value, v.effective_from, v.effective_to, v.published_at is not None)
        for v in versions
    ]
    ids = {str(v.id): v.number for v in versions}
    audit = [
        (entry.action, f"v{ids[entry.entity_id]}")
        for entry in db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.entity_type == "program_version", AuditEntry.entity_id.in_(ids))
            .order_by(AuditEntry.id)
        )
    ]
    return rows, audit


def test_command_line_and_workspace_publish_alike(app: Flask) -> None:
    paths: dict[str, Callable[[str, str, date], None]] = {
        "cli": _from_the_command_line,
        "web": _from_the_workspace,
    }
    with app.app_context():
        for slug, publish in paths.items():
            for rate, day in zip(("5", "6", "7"), DAYS, strict=True):
                publish(slug, rate, day)
        cli, web = _history("cli"), _history("web")
    assert cli == web
    versions, audit = cli
    assert versions == [
        (1, "published", date(2026, 1, 1), date(2026, 5, 31), True),
        (2, "archived", date(2026, 10, 1), None, True),
        (3, "published", date(2026, 6, 1), None, True),
    ]
    assert ("program_version.archive", "v2") in audit
    assert ("program_version.close", "v1") in audit
    assert [action for action, _ in audit].count("program_version.publish") == 3
