"""The workflow screens over HTTP: board, timeline, buttons, editor, publish, migrate."""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from server.extensions import db
from server.partners.models import Partner
from server.workflows.models import (
    DefinitionStatus,
    WorkflowDefinition,
    WorkflowEvidence,
    WorkflowInstance,
)
from tests.integration.workflows.conftest import Onboarding, login, start_workflow
from tests.support.pages import external_fetches

KEY = "onboarding-online-affiliate"


def _started(app: Flask, onboarding: Onboarding) -> int:
    with app.app_context():
        return start_workflow("partner", onboarding.partner_id, onboarding.manager_id).id


def _state(app: Flask, instance_id: int) -> str:
    with app.app_context():
        return db.session.get(WorkflowInstance, instance_id).state


def _upload_document(
    client: FlaskClient, instance_id: int, name: str, content: bytes, filename: str
) -> TestResponse:
    """Upload a document as the evidence ``name`` of the workflow instance."""
    return client.post(
        f"/workflows/evidence/{instance_id}",
        data={"kind": "document", "name": name, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def test_board_shows_columns_cards_and_moves_a_card(wf_app: Flask, onboarding: Onboarding) -> None:
    instance_id = _started(wf_app, onboarding)
    client = login(wf_app, onboarding.manager_id)
    page = client.get(f"/workflows/board/{KEY}").get_data(as_text=True)
    assert 'data-state="application"' in page and 'data-state="monitoring"' in page
    assert "WEB-NEW" in page
    assert 'data-trigger="accept_application"' in page
    assert "workflows/board.js" in page and external_fetches(page) == []
    assert "/workflow-editor/edit/" in page  # managers edit workflows

    response = client.post(
        f"/workflows/fire/{instance_id}",
        data={
            "trigger": "accept_application",
            "expected_state": "application",
            "next": f"/workflows/board/{KEY}",
        },
    )
    assert response.status_code == 302 and response.location.endswith(f"/workflows/board/{KEY}")
    assert _state(wf_app, instance_id) == "goals"


def test_refused_move_says_why_and_changes_nothing(wf_app: Flask, onboarding: Onboarding) -> None:
    instance_id = _started(wf_app, onboarding)
    legal = login(wf_app, onboarding.legal_id)
    page = legal.get(f"/workflows/board/{KEY}").get_data(as_text=True)
    assert 'data-trigger="accept_application"' not in page  # not offered to Legal
    assert "/workflow-editor/edit/" not in page  # nor the editor, which would answer 403
    response = legal.post(
        f"/workflows/fire/{instance_id}",
        data={"trigger": "accept_application"},
        follow_redirects=True,
    )
    assert "accept_application" in response.get_data(as_text=True)
    assert _state(wf_app, instance_id) == "application"


def test_timeline_records_evidence_and_shows_guards(wf_app: Flask, onboarding: Onboarding) -> None:
    instance_id = _started(wf_app, onboarding)
    client = login(wf_app, onboarding.manager_id)
    page = client.get(f"/workflows/instance/{instance_id}").get_data(as_text=True)
    assert "<svg" in page and "pf-timeline" in page
    # the timeline names states by title, not by key ("→ application (start)")
    timeline = page.split('id="pf-timeline"')[1].split("</table>")[0]
    assert "<strong>Application</strong>" in timeline and ">start<" in timeline
    assert "application" not in timeline and "(start)" not in timeline
    # nothing has run at the application step: the actions table says so, not a bare head
    actions = page.split('id="pf-actions"')[1].split("</table>")[0]
    assert "No actions have run for this partner yet." in actions
    response = _upload_document(client, instance_id, "tax_status", b"%PDF-1.4 doc", "tax.pdf")
    assert response.status_code == 302
    # a name this workflow does not ask for is refused with a reason
    response = _upload_document(client, instance_id, "x", b"%PDF-1.4", "x.pdf")
    assert response.status_code == 400
    assert "this workflow does not ask for it" in response.get_data(as_text=True)
    _upload_document(client, instance_id, "tax_status", b"MZ not a pdf", "x.pdf")
    with wf_app.app_context():
        names = db.session.scalars(sa.select(WorkflowEvidence.name)).all()
    assert names == ["tax_status"]
    with wf_app.app_context():
        db.session.get(Partner, onboarding.partner_id).email = None
        db.session.commit()
    page = client.get(f"/workflows/instance/{instance_id}").get_data(as_text=True)
    # the unmet guard is a checklist line with its title and a link to the form
    checklist = page.split('class="list-unstyled pf-checklist"')[1].split("</ul>")[0]
    assert "<strong>E-mail</strong>" in checklist
    assert f"/partnerview/edit/{onboarding.partner_id}" in checklist


def test_diagram_is_local_svg(wf_app: Flask, onboarding: Onboarding) -> None:
    client = login(wf_app, onboarding.manager_id)
    with wf_app.app_context():
        definition_id = db.session.scalar(
            sa.select(WorkflowDefinition.id).where(WorkflowDefinition.key == KEY)
        )
    response = client.get(f"/workflows/diagram/{definition_id}.svg")
    assert response.mimetype == "image/svg+xml"
    assert b'data-state="contract"' in response.data


def test_editor_refuses_broken_yaml_naming_the_line(wf_app: Flask, onboarding: Onboarding) -> None:
    client = login(wf_app, onboarding.manager_id)
    with wf_app.app_context():
        definition = db.session.scalar(
            sa.select(WorkflowDefinition).where(WorkflowDefinition.key == KEY)
        )
        source, definition_id = definition.source_yaml, definition.id
    broken = source.replace("    to: goals\n", "    to: nowhere\n")
    line = broken.splitlines().index("    to: nowhere") + 1
    page = client.post(
        f"/workflow-editor/edit/{definition_id}", data={"mode": "yaml", "source_yaml": broken}
    ).get_data(as_text=True)
    assert "pf-issues" in page and "nowhere" in page
    assert f"line {line}" in page or f"строка {line}" in page
    with wf_app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(WorkflowDefinition.id)).where(WorkflowDefinition.key == KEY)
            )
            == 1
        )


def test_form_edit_publish_and_migrate(wf_app: Flask, onboarding: Onboarding) -> None:
    instance_id = _started(wf_app, onboarding)
    client = login(wf_app, onboarding.manager_id)
    with wf_app.app_context():
        v1 = db.session.scalar(sa.select(WorkflowDefinition).where(WorkflowDefinition.key == KEY))
        v1_id = v1.id
    page = client.get(f"/workflow-editor/edit/{v1_id}").get_data(as_text=True)
    assert 'name="state-0-name" value="application"' in page
    # the form renames "application" to "intake": a new draft version
    from server.workflows.editor import rows_from_yaml

    with wf_app.app_context():
        rows = rows_from_yaml(db.session.get(WorkflowDefinition, v1_id).source_yaml)
    assert rows is not None
    form: dict[str, str] = {
        "mode": "form",
        "title_ru": rows.title_ru,
        "title_en": rows.title_en,
        "initial": "intake",
    }
    for i, s in enumerate(rows.states):
        form |= {
            f"state-{i}-name": "intake" if s.name == "application" else s.name,
            f"state-{i}-original": s.original,
            f"state-{i}-title_ru": s.title_ru,
            f"state-{i}-title_en": s.title_en,
            f"state-{i}-sla_days": s.sla_days,
        }
        if s.final:
            form[f"state-{i}-final"] = "1"
    for i, t in enumerate(rows.transitions):
        sources = t.sources.replace("application", "intake")
        form |= {
            f"transition-{i}-trigger": t.trigger,
            f"transition-{i}-title_ru": t.title_ru,
            f"transition-{i}-title_en": t.title_en,
            f"transition-{i}-sources": sources,
            f"transition-{i}-dest": t.dest,
            f"transition-{i}-roles": t.roles,
            f"transition-{i}-guards": t.guards,
        }
    response = client.post(f"/workflow-editor/edit/{v1_id}", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with wf_app.app_context():
        v2 = db.session.scalar(
            sa.select(WorkflowDefinition).where(
                WorkflowDefinition.key == KEY, WorkflowDefinition.version == 2
            )
        )
        assert v2.status is DefinitionStatus.draft and "intake:" in v2.source_yaml
        assert "generate_contract" in v2.source_yaml  # actions kept from the YAML
        v2_id = v2.id
    assert client.post(f"/workflow-editor/publish/{v2_id}").status_code == 302
    preview = client.get(f"/workflow-editor/migrate/{v2_id}").get_data(as_text=True)
    assert "WEB-NEW" in preview and "intake" in preview
    client.post(
        f"/workflow-editor/migrate/{v2_id}", data={"apply": "1", "map-application": "goals"}
    )
    with wf_app.app_context():
        instance = db.session.get(WorkflowInstance, instance_id)
        assert (instance.definition_id, instance.state) == (v2_id, "goals")
        assert instance.history[-1].trigger == "(migration)"
        assert db.session.get(WorkflowDefinition, v1_id).status is DefinitionStatus.archived
