"""Walking the URL map: real ids for path arguments, logins, and a record of writes.

Used by the CSRF test (every POST route without a token) and the hostile-query crawl
(every GET route as every role). Path arguments get a real id of the row the route
shows (from the demo data) and, where asked, a hostile one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from server.extensions import db

#: a number no id column holds: larger than any 64-bit integer
HUGE = "99999999999999999999"

#: the demo's logins (server/demo/data.py)
DEMO_LOGINS = {
    "admin": "admin-demo",
    "manager": "manager-demo",
    "legal": "legal-demo",
    "partner": "partner-demo",
    "integration": "integration-demo",
}

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def page_token(html: str) -> str:
    """The CSRF token a page's form carries."""
    found = _TOKEN.search(html)
    assert found is not None, "the page has no csrf_token field"
    return found.group(1)


def _model_of(app: Flask, rule: Rule) -> Any:
    """The mapped class whose id the rule's ``pk`` names, when the view says so."""
    from server import models

    blueprint = rule.endpoint.partition(".")[0]
    for view in app.extensions["appbuilder"].baseviews:
        if getattr(view, "blueprint", None) is not None and view.blueprint.name == blueprint:
            datamodel = getattr(view, "datamodel", None)
            if datamodel is not None:
                return datamodel.obj
    by_view = {
        "ProgramWorkspaceView": models.ProgramVersion,
        "CampaignWorkspaceView": models.Campaign,
        "WorkflowEditorView": models.WorkflowDefinition,
        "WorkflowBoardView": models.WorkflowInstance,
    }
    if rule.endpoint == "WorkflowBoardView.diagram":
        return models.WorkflowDefinition
    return by_view.get(blueprint)


def real_values(app: Flask) -> dict[str, str]:
    """A real value per path-argument name, from the loaded demo data."""
    from server import models
    from server.ledger.models import SalesImport
    from server.partners.models import CodeKind

    def first(column: Any, *where: Any) -> str:
        value = db.session.scalar(sa.select(column).where(*where).order_by(column).limit(1))
        return str(value) if value is not None else "1"

    with app.app_context():
        partner = int(first(models.Partner.id, models.Partner.code == "A-AMB-01"))
        return {
            "partner_id": str(partner),
            "code_id": first(
                models.AttributionCode.id, models.AttributionCode.partner_id == partner
            ),
            "statement_id": first(models.Statement.id),
            "contract_id": first(models.Contract.id),
            "close_id": first(models.PeriodClose.id),
            "import_id": first(SalesImport.id),
            "key_id": first(models.ApiKey.id),
            "code": first(models.AttributionCode.code, models.AttributionCode.kind != CodeKind.qr),
            "token": first(models.AttributionCode.code, models.AttributionCode.kind == CodeKind.qr),
            "key": first(models.WorkflowDefinition.key),
            "job_id": "no-such-job",
            "locale": "en",
            "filename": "csv",
            "version": "v1",
            "name": "no-such-action",
            "path:filename": "css/none.css",
        }


def real_pk(app: Flask, rule: Rule) -> str:
    """An existing id of the row the rule's ``pk`` names (``1`` if unknown or empty)."""
    model = _model_of(app, rule)
    if model is None:
        return "1"
    with app.app_context():
        column = sa.inspect(model).primary_key[0]
        value = db.session.scalar(sa.select(column).order_by(column).limit(1))
    return str(value) if value is not None else "1"


def fill(rule: Rule, values: dict[str, str], pk: str, hostile_ints: bool = False) -> str:
    """The rule's path with its arguments filled (integers with :data:`HUGE` if asked)."""
    path = rule.rule
    for match in re.finditer(r"<(?:(\w+):)?(\w+)>", rule.rule):
        converter, name = match.group(1), match.group(2)
        if hostile_ints and converter == "int":
            value = HUGE
        elif name == "pk":
            value = HUGE if hostile_ints else pk
        else:
            value = values.get(f"{converter}:{name}") or values.get(name, "x")
        path = path.replace(match.group(0), value)
    return path


#: a statement that writes, and its table
_WRITE = re.compile(r"^\s*(insert\s+into|update|delete\s+from)\s+\"?(\w+)", re.I)


class WriteRecorder:
    """Records every INSERT, UPDATE and DELETE the app's engine runs, with its table."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def _listen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        match = _WRITE.match(statement)
        if match:
            self.writes.append(f"{match.group(1).split()[0].lower()} {match.group(2)}")

    @contextmanager
    def recording(self, app: Flask) -> Iterator[WriteRecorder]:
        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", self._listen)
        try:
            yield self
        finally:
            sa.event.remove(engine, "before_cursor_execute", self._listen)
