"""The outside probe of security issue #19 (item 2) through every door: Legal's live
preview, the PDF preview, saving and publishing, and a published template's render job
on a real rq worker. Each ends in a moment with the reason, in the user's language."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from rq.job import Job
from werkzeug.test import TestResponse

from server.documents.models import Contract, ContractTemplate, RenderStatus, TemplateStatus
from server.documents.templates import TemplateSaveError, publish_template, save_template
from server.extensions import db
from server.queues import redis_connection
from server.security.roles import Role
from server.tasks.documents import render_job_id
from tests.integration.documents.conftest import (
    World,
    agreement_ru,
    generate_contract,
    run_documents_worker,
)
from tests.support.web import login

#: the probe as it was sent: a preview took 17.6 s, two at once killed both web workers
PROBE = "{% set a = 10**64 %}{% set b = a**64 %}{% set c = b**64 %}{% set d = c**64 %}"
REASON = {"ru": "число длиннее 1000 цифр", "en": "a number longer than 1000 digits"}
#: well under the 17.6 s the probe took, with room for a busy test machine
QUICK = 5.0


def _lawyer(app: Flask, language: str) -> FlaskClient:
    """A client logged in as a lawyer, its pages in ``language``."""
    client = login(app, Role.LEGAL)
    if language == "en":
        client.get("/lang/en")
    return client


def _post_at_once(client: FlaskClient, url: str, **kwargs: Any) -> TestResponse:
    """POST, and check the answer came well under the time the probe took."""
    started = time.monotonic()
    answer = client.post(url, **kwargs)
    assert time.monotonic() - started < QUICK
    return answer


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_live_preview_answers_at_once_with_the_reason(
    docs_app: Flask, world: World, language: str
) -> None:
    client = _lawyer(docs_app, language)
    published = agreement_ru()
    answer = _post_at_once(
        client,
        f"/contracttemplateview/preview/{published.id}",
        data={"body_html": "<p>{{ partner.name }}</p>\n" + PROBE, "css": "", "partner_id": "0"},
        headers={"X-CSRFToken": "not-checked-in-tests"},
    )
    report = answer.get_json()
    assert report["html"] is None
    assert report["issues"] == [{"line": 2, "message": REASON[language]}]


def test_the_pdf_preview_answers_at_once_with_the_reason(docs_app: Flask, world: World) -> None:
    client = login(docs_app, Role.LEGAL)
    published = agreement_ru()
    answer = _post_at_once(
        client,
        f"/contracttemplateview/preview_pdf/{published.id}",
        data={"body_html": PROBE, "css": "", "partner_id": world.partners["A-AMB-01"]},
    )
    assert answer.status_code == 422
    assert REASON["ru"] in answer.get_data(as_text=True)


@pytest.mark.parametrize("language", ["ru", "en"])
def test_saving_the_probe_is_refused_with_the_reason(
    docs_app: Flask, world: World, language: str
) -> None:
    client = _lawyer(docs_app, language)
    published = agreement_ru()
    body = published.body_html + "\n" + PROBE
    answer = _post_at_once(
        client, f"/contracttemplateview/editor/{published.id}", data={"body_html": body, "css": ""}
    )
    assert answer.status_code == 422
    assert REASON[language] in answer.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ContractTemplate.id))) == 4  # none added


def test_the_save_and_publish_commands_refuse_it_too(docs_app: Flask, world: World) -> None:
    published = agreement_ru()
    with pytest.raises(TemplateSaveError) as caught:
        save_template(published.id, PROBE, "")
    # outside a request the reason reads in the default language
    assert [(i.line, str(i.message)) for i in caught.value.issues] == [(1, REASON["ru"])]
    # a draft saved before this check existed is refused when it is published
    draft = save_template(published.id, published.body_html + "\n<p>v2</p>", published.css)
    draft.body_html = PROBE
    db.session.commit()
    with pytest.raises(TemplateSaveError):
        publish_template(draft.id)
    db.session.expire_all()
    assert db.session.get(ContractTemplate, draft.id).status is TemplateStatus.draft


def test_a_published_probe_fails_its_render_job_at_once(docs_app: Flask, world: World) -> None:
    # As if published before this fix: the stored row holds the probe.
    published = agreement_ru()
    published.body_html = "<p>{{ partner.name }}</p>\n" + PROBE
    db.session.commit()
    contract_id = generate_contract(world.partners["A-AMB-01"])
    run_documents_worker(docs_app)  # a real rq worker, burst mode, on the real Redis
    job = Job.fetch(render_job_id(contract_id), connection=redis_connection(docs_app))
    assert job.started_at is not None and job.ended_at is not None
    # the worker was held for the job's run only: before, 300 s (its rq timeout)
    assert (job.ended_at - job.started_at).total_seconds() < QUICK
    db.session.expire_all()
    contract = db.session.get(Contract, contract_id)
    assert contract is not None and contract.render_status is RenderStatus.failed
    assert contract.error is not None
    # stored for the Legal screen, in the deployment's default language (Russian)
    assert contract.error == f"строка 2: {REASON['ru']}"
