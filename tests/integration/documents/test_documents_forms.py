"""What Legal and Admin may change in the documents screens, and that each form saves
as it is rendered: templates change only through the editor, contracts only through
their commands (no Flask-AppBuilder add/edit form exposes a stored field)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.documents.models import Contract, ContractStatus, ContractTemplate, TemplateStatus
from server.documents.templates import save_template
from server.extensions import db
from server.security.roles import Role
from tests.integration.documents.conftest import World, agreement_ru
from tests.support.web import login

#: columns only commands and the renderer write
INTERNAL_FIELDS = (
    "number",
    "partner",
    "template",
    "snapshot",
    "pdf_path",
    "sha256",
    "signed_scan_path",
    "render_status",
    "error",
    "created_at",
    "signed_at",
    "terminated_at",
    "status",
    "key",
    "version",
    "kind",
    "language",
)
EDITORS = [Role.LEGAL, Role.ADMIN]


class _FormFields(HTMLParser):
    """The values a browser would submit for one ``<form id=…>`` left as rendered."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.inside = attributes.get("id") == self.form_id
        if not self.inside:
            return
        name = attributes.get("name")
        if tag == "input" and name and attributes.get("type") not in ("submit", "file"):
            self.fields[name] = attributes.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select is not None:
            # a browser submits the selected option, else the first
            first = self._select not in self.fields
            if first or "selected" in attributes:
                self.fields[self._select] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data


def form_fields(html: str, form_id: str) -> dict[str, str]:
    parser = _FormFields(form_id)
    parser.feed(html)
    # a browser drops the newline that opens a <textarea>'s content
    return {
        name: value.removeprefix("\r\n").removeprefix("\n") for name, value in parser.fields.items()
    }


def field_names(html: str) -> set[str]:
    """Every ``name`` of an input, textarea or select on the page."""
    names: set[str] = set()

    class Names(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            name = dict(attrs).get("name")
            if tag in ("input", "textarea", "select") and name:
                names.add(name)

    Names().feed(html)
    return names


def assert_saved_without_error(response_html: str) -> None:
    assert "Database Error" not in response_html
    assert "Неверное значение" not in response_html and "Not a valid" not in response_html


@pytest.fixture(params=EDITORS, ids=lambda role: role.value)
def editor(docs_app: Flask, world: World, request: pytest.FixtureRequest) -> FlaskClient:
    """A client logged in as each role that edits documents."""
    return login(docs_app, request.param)


def new_draft() -> ContractTemplate:
    published = agreement_ru()
    return save_template(published.id, published.body_html + "\n<p>Черновик</p>", published.css)


def test_a_template_draft_saves_as_rendered_and_with_a_change(editor: FlaskClient) -> None:
    draft = new_draft()
    draft_id, created_at = draft.id, draft.created_at
    page = editor.get(f"/contracttemplateview/editor/{draft_id}").get_data(as_text=True)
    fields = form_fields(page, "pf-editor")
    assert set(fields) <= {"csrf_token", "body_html", "css"}
    assert not set(INTERNAL_FIELDS) & field_names(page)

    unchanged = editor.post(f"/contracttemplateview/editor/{draft_id}", data=fields)
    assert unchanged.status_code == 302
    assert unchanged.headers["Location"].endswith(f"/contracttemplateview/editor/{draft_id}")
    assert_saved_without_error(editor.get(unchanged.headers["Location"]).get_data(as_text=True))
    db.session.expire_all()
    saved = db.session.get(ContractTemplate, draft_id)
    assert saved is not None and saved.body_html == fields["body_html"]
    assert saved.css == fields["css"]

    fields["body_html"] = fields["body_html"].replace("Черновик", "Черновик, правка")
    changed = editor.post(f"/contracttemplateview/editor/{draft_id}", data=fields)
    assert changed.status_code == 302
    db.session.expire_all()
    saved = db.session.get(ContractTemplate, draft_id)
    assert saved is not None and "Черновик, правка" in saved.body_html
    assert saved.status is TemplateStatus.draft and saved.created_at == created_at
    assert db.session.scalar(sa.select(sa.func.count(ContractTemplate.id))) == 5


def test_the_template_edit_button_opens_the_editor_and_writes_nothing(editor: FlaskClient) -> None:
    published = agreement_ru()
    before = (published.body_html, published.css, published.status, published.created_at)
    listing = editor.get("/contracttemplateview/list/").get_data(as_text=True)
    assert f"/contracttemplateview/edit/{published.id}" in listing
    assert "/contracttemplateview/add" not in listing
    # the language by name, not its code (it read "ru")
    assert "<td>русский</td>" in re.sub(r"\s+<", "<", re.sub(r">\s+", ">", listing))

    opened = editor.get(f"/contracttemplateview/edit/{published.id}")
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/contracttemplateview/editor/{published.id}")
    # What Flask-AppBuilder's form used to post changes nothing now.
    posted = editor.post(
        f"/contracttemplateview/edit/{published.id}",
        data={"key": "hacked", "status": "draft", "created_at": "2026-11-22 20:43:23"},
    )
    assert posted.status_code == 302
    assert editor.get("/contracttemplateview/add").status_code == 404
    assert editor.post(f"/contracttemplateview/delete/{published.id}").status_code == 404
    db.session.expire_all()
    template = agreement_ru()
    assert (template.body_html, template.css, template.status, template.created_at) == before


def test_a_contract_has_no_edit_form_only_its_commands(world: World, editor: FlaskClient) -> None:
    assert editor.post(f"/contracts/generate/{world.partners['A-SHOP-01']}").status_code == 302
    contract = db.session.scalar(sa.select(Contract))
    assert contract is not None
    before = (contract.number, contract.snapshot, contract.status, contract.created_at)

    assert editor.get(f"/contracts/edit/{contract.id}").status_code == 404
    posted = editor.post(
        f"/contracts/edit/{contract.id}",
        data={"status": "signed", "sha256": "0" * 64, "created_at": "2026-11-22 20:43:23"},
    )
    assert posted.status_code == 404
    assert editor.post(f"/contracts/delete/{contract.id}").status_code == 404
    listing = editor.get("/contracts/list/").get_data(as_text=True)
    assert "/contracts/edit/" not in listing
    show = editor.get(f"/contracts/show/{contract.id}").get_data(as_text=True)
    assert not set(INTERNAL_FIELDS) & field_names(show)

    # Its status changes through its page's commands.
    terminated = editor.post(f"/contracts/{contract.id}/terminate")
    assert terminated.status_code == 302
    db.session.expire_all()
    contract = db.session.get(Contract, contract.id)
    assert contract is not None and contract.status is ContractStatus.terminated
    assert (contract.number, contract.snapshot, contract.created_at) == (
        before[0],
        before[1],
        before[3],
    )


def test_the_contract_add_button_generates_for_a_chosen_partner(
    world: World, editor: FlaskClient
) -> None:
    listing = editor.get("/contracts/list/").get_data(as_text=True)
    assert "/contracts/add" in listing
    page = editor.get("/contracts/add").get_data(as_text=True)
    assert not set(INTERNAL_FIELDS) & field_names(page)
    assert field_names(page) <= {"csrf_token", "partner_id"}
    fields = form_fields(page, "pf-generate")
    assert fields["partner_id"] == str(world.partners["A-AMB-01"])  # the first, by code

    as_rendered = editor.post("/contracts/add", data=fields)
    assert as_rendered.status_code == 302
    first = db.session.scalar(sa.select(Contract))
    assert first is not None and first.partner_id == world.partners["A-AMB-01"]
    assert as_rendered.headers["Location"].endswith(f"/contracts/show/{first.id}")

    fields["partner_id"] = str(world.partners["B-COF-01"])
    chosen = editor.post("/contracts/add", data=fields)
    assert chosen.status_code == 302
    contracts = db.session.scalars(sa.select(Contract).order_by(Contract.id)).all()
    assert [c.partner_id for c in contracts] == [
        world.partners["A-AMB-01"],
        world.partners["B-COF-01"],
    ]
    assert contracts[1].number.startswith("B-")

    refused = editor.post("/contracts/add", data={"partner_id": "0"})
    assert refused.status_code == 200
    assert 'class="help-block text-danger"' in refused.text  # the form says why
    unknown = editor.post("/contracts/add", data={"partner_id": "999999"})
    assert 'class="help-block text-danger"' in unknown.text
    assert db.session.scalar(sa.select(sa.func.count(Contract.id))) == 2
