"""Legal edits, previews, publishes and diffs templates and manages contracts in the
browser; Managers and Partners cannot touch templates."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from server.documents.models import Contract, ContractTemplate, TemplateStatus
from server.extensions import db
from server.security.roles import Role
from tests.integration.documents.conftest import World, agreement_ru, run_documents_worker
from tests.support.pages import external_fetches
from tests.support.web import login


def test_legal_edits_previews_publishes_and_diffs(docs_app: Flask, world: World) -> None:
    client = login(docs_app, Role.LEGAL)
    published = agreement_ru()
    page = client.get(f"/contracttemplateview/editor/{published.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "partner.inn" in html and "terms.minimum_payout" in html  # the variables panel
    assert 'sandbox=""' in html  # the preview cannot run scripts
    assert external_fetches(html) == []

    # An unknown variable and a syntax error are shown with their lines; nothing saved.
    broken = "<p>{{ partner.name }}</p>\n<p>{{ partner.nickname }}</p>\n"
    response = client.post(
        f"/contracttemplateview/editor/{published.id}", data={"body_html": broken, "css": ""}
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 422  # refused, with the reasons
    assert "строка 2: неизвестная переменная «partner.nickname»" in text  # ru is the default
    assert db.session.scalar(sa.select(sa.func.count(ContractTemplate.id))) == 4

    preview = client.post(
        f"/contracttemplateview/preview/{published.id}",
        data={"body_html": "{% for x in %}", "css": "", "partner_id": "0"},
        headers={"X-CSRFToken": "not-checked-in-tests"},
    ).get_json()
    assert preview["html"] is None and preview["issues"][0]["line"] == 1

    partner_id = world.partners["A-AMB-01"]
    preview = client.post(
        f"/contracttemplateview/preview/{published.id}",
        data={"body_html": published.body_html, "css": published.css, "partner_id": partner_id},
        headers={"X-CSRFToken": "x"},
    ).get_json()
    assert preview["issues"] == []
    assert "Content-Security-Policy" in preview["html"]
    assert "A-2026-PREVIEW" in preview["html"]
    assert "7 % с каждой продажи онлайн в регионе A" in preview["html"]

    pdf = client.post(
        f"/contracttemplateview/preview_pdf/{published.id}",
        data={"body_html": published.body_html, "css": published.css, "partner_id": partner_id},
    )
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    broken_pdf = client.post(
        f"/contracttemplateview/preview_pdf/{published.id}",
        data={"body_html": "<p>\n{{ partner.nam }}</p>", "css": "", "partner_id": partner_id},
    )
    # the problems' lines in the user's language, as the HTML preview gives them
    assert broken_pdf.status_code >= 400 and "строка 2:" in broken_pdf.get_data(as_text=True)

    # Saving a published version makes version 2 as a draft; publishing archives v1.
    edited = published.body_html.replace("Предмет договора", "Предмет настоящего договора")
    response = client.post(
        f"/contracttemplateview/editor/{published.id}",
        data={"body_html": edited, "css": published.css},
    )
    assert response.status_code == 302
    db.session.expire_all()
    draft = db.session.scalar(
        sa.select(ContractTemplate).where(
            ContractTemplate.key == "partner_agreement.ru", ContractTemplate.version == 2
        )
    )
    assert draft is not None and draft.status is TemplateStatus.draft
    diff = client.get(f"/contracttemplateview/diff/{draft.id}").get_data(as_text=True)
    assert "+  &lt;h2&gt;Предмет настоящего договора" in diff
    assert client.post(f"/contracttemplateview/publish/{draft.id}").status_code == 302
    db.session.expire_all()
    assert draft.status is TemplateStatus.published
    assert db.session.get(ContractTemplate, published.id).status is TemplateStatus.archived


def test_legal_generates_downloads_and_signs_a_contract(docs_app: Flask, world: World) -> None:
    client = login(docs_app, Role.LEGAL)
    partner_id = world.partners["A-SHOP-01"]
    assert client.get(f"/contracts/generate/{partner_id}").status_code == 200
    response = client.post(f"/contracts/generate/{partner_id}")
    assert response.status_code == 302
    contract = db.session.scalar(sa.select(Contract))
    assert contract is not None
    run_documents_worker(docs_app)
    download = client.get(f"/contracts/{contract.id}/pdf")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")
    assert f"{contract.number}.pdf" in download.headers["Content-Disposition"]
    show = client.get(f"/contracts/show/{contract.id}").get_data(as_text=True)
    assert "/send" in show
    assert client.post(f"/contracts/{contract.id}/send").status_code == 302
    from io import BytesIO

    signed = client.post(
        f"/contracts/{contract.id}/sign",
        data={"scan": (BytesIO(b"%PDF-1.7 scan"), "signed.pdf")},
        content_type="multipart/form-data",
    )
    assert signed.status_code == 302
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status.value == "signed"
    assert client.get(f"/contracts/{contract.id}/scan").data == b"%PDF-1.7 scan"


@pytest.mark.parametrize("role", [Role.MANAGER, Role.PARTNER])
def test_managers_and_partners_cannot_edit_templates(
    docs_app: Flask, world: World, role: Role
) -> None:
    client = login(docs_app, role, "A-AMB-01" if role is Role.PARTNER else None)
    template = agreement_ru()
    before = template.body_html
    assert client.get(f"/contracttemplateview/editor/{template.id}").status_code in (302, 403)
    response = client.post(
        f"/contracttemplateview/editor/{template.id}", data={"body_html": "hacked", "css": ""}
    )
    assert response.status_code in (302, 403)
    assert client.post(f"/contracttemplateview/publish/{template.id}").status_code in (302, 403)
    assert client.get("/contracttemplateview/list/").status_code in (302, 403)
    assert client.post(f"/contracts/generate/{world.partners['A-AMB-01']}").status_code in (
        302,
        403,
    )
    db.session.expire_all()
    assert agreement_ru().body_html == before
    assert db.session.scalar(sa.select(sa.func.count(Contract.id))) == 0


def test_state_changes_need_the_csrf_token(docs_app: Flask, world: World) -> None:
    client = login(docs_app, Role.LEGAL)
    docs_app.config["WTF_CSRF_ENABLED"] = True
    template = agreement_ru()
    data = {"body_html": "<p>{{ partner.name }}</p>", "css": ""}
    assert client.post(f"/contracttemplateview/publish/{template.id}").status_code == 400
    assert client.post(f"/contracttemplateview/preview/{template.id}", data=data).status_code == 400
    client.post(f"/contracttemplateview/editor/{template.id}", data=data)
    assert client.post(f"/contracts/generate/{world.partners['A-AMB-01']}").status_code == 400
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(ContractTemplate.id))) == 4
    assert db.session.scalar(sa.select(sa.func.count(Contract.id))) == 0
