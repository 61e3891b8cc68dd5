"""Fixtures for workflows: the documents world (regions, terms, a published program,
contract templates), the seed definitions imported, a partner in onboarding, users of
each role, a campaign world, a real rq worker run in this process and the clock its
actions read."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from server.campaigns.commands import NewCampaign, update_budget
from server.campaigns.models import Campaign, CampaignKind, CampaignStatus
from server.extensions import db
from server.ledger.intake import ingest_batch
from server.partners.models import Partner, PartnerKind, PartnerStatus, Region
from server.programs.models import ProgramVersion
from server.queues import get_queue
from server.security.commands import NewUser, create_user
from server.security.roles import Role
from server.tasks.documents import DOCUMENTS_QUEUE
from server.tasks.events import request_evaluation
from server.tasks.worker import SimpleWorker, set_worker_app
from server.tasks.workflows import WORKFLOWS_QUEUE, queue_instance_actions
from server.workflows import engine
from server.workflows.definitions import import_definition_files
from server.workflows.models import EvidenceKind, WorkflowInstance
from tests.integration.documents.conftest import make_world
from tests.integration.ledger.helpers import run_worker as run_events_worker
from tests.support.web import PASSWORD, log_in

REPO = Path(__file__).parents[3]


@dataclass(frozen=True)
class Onboarding:
    partner_id: int
    manager_id: int
    legal_id: int


@pytest.fixture
def wf_app(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The app with fresh files, empty queues and retries without waiting."""
    app.config["FILES_DIR"] = str(tmp_path / "files")
    app.config["WORKFLOW_ACTION_RETRY_INTERVALS"] = [0, 0]
    for name in (WORKFLOWS_QUEUE, DOCUMENTS_QUEUE):
        get_queue(name, app).empty()
    yield app


def seed_onboarding() -> None:
    """The documents' world (regions, terms, templates) and the shipped workflow
    definitions: where every onboarding starts. Inside an app context."""
    make_world()
    import_definition_files(REPO / "workflows")


def instance_state(app: Flask, instance_id: int) -> str:
    """The instance's state as stored now (another thread, the live server, moved it)."""
    with app.app_context():
        db.session.expire_all()
        instance = db.session.get(WorkflowInstance, instance_id)
        assert instance is not None
        return instance.state


def make_user(role: Role) -> int:
    username = f"u-{role.value.lower()}-{uuid.uuid4().hex[:6]}"
    return create_user(
        NewUser(username, PASSWORD, role, "Test", role.value, f"{username}@example.test")
    )


def add_partner(code: str, kind: PartnerKind, region: str = "A", **fields: object) -> int:
    region_id = db.session.query(Region.id).filter_by(code=region).scalar()
    partner = Partner(
        code=code,
        name=f"Партнёр {code}",
        kind=kind,
        status=PartnerStatus.onboarding,
        region_id=region_id,
        email=f"{code.lower()}@example.test",
        **fields,
    )
    db.session.add(partner)
    db.session.commit()
    return partner.id


@pytest.fixture
def onboarding(wf_app: Flask) -> Iterator[Onboarding]:
    """World + seed definitions + an online affiliate in region A applying; command
    messages in English (the default locale is Russian)."""
    with wf_app.app_context(), force_locale("en"):
        seed_onboarding()
        partner_id = add_partner("WEB-NEW", PartnerKind.online_affiliate)
        yield Onboarding(partner_id, make_user(Role.MANAGER), make_user(Role.LEGAL))


@dataclass(frozen=True)
class CampaignWorld:
    program_id: int
    partner_id: int
    manager_id: int
    legal_id: int


@pytest.fixture
def campaign_world(wf_app: Flask) -> Iterator[CampaignWorld]:
    """Regions, terms, the demo program (published), partners, the seed workflow
    definitions, a manager and a lawyer; command messages in English."""
    with wf_app.app_context(), force_locale("en"):
        world = make_world()
        import_definition_files(REPO / "workflows")
        version = db.session.get(ProgramVersion, world.program_version_id)
        assert version is not None
        yield CampaignWorld(
            version.program_id,
            world.partners["A-WEB-01"],
            make_user(Role.MANAGER),
            make_user(Role.LEGAL),
        )


def spring_push(world: CampaignWorld, **changes: object) -> NewCampaign:
    """The campaign the tests compose: a promo push «Весенние промокоды» for March in
    region A, 4 % for the world's program and partner; ``changes`` replace fields."""
    fields: dict[str, object] = {
        "slug": "spring-push",
        "title": "Весенние промокоды",
        "kind": CampaignKind.promo_push,
        "starts_on": date(2026, 3, 1),
        "ends_on": date(2026, 3, 31),
        "program_id": world.program_id,
        "regions": ("A",),
        "rate": Decimal("4"),
        "partner_ids": (world.partner_id,),
    }
    return NewCampaign(**{**fields, **changes})  # type: ignore[arg-type]


def at(monkeypatch: pytest.MonkeyPatch, instant: datetime) -> None:
    """Fire transitions from now on as if at ``instant``: what their actions record (a
    campaign's ``running_since`` / ``closed_at``) is that instant, whenever the worker
    runs them. The web server of the browser tests runs in this process too."""
    monkeypatch.setattr(engine, "utcnow", lambda: instant)


def run_worker(app: Flask) -> None:
    """Run the workflow and document queues to empty with a real rq worker."""
    set_worker_app(app)
    queues = [get_queue(WORKFLOWS_QUEUE, app), get_queue(DOCUMENTS_QUEUE, app)]
    SimpleWorker(queues, connection=queues[0].connection).work(burst=True)


def login(app: Flask, user_id: int) -> FlaskClient:
    """A client logged in as the user ``user_id`` (made with the tests' password)."""
    from flask_appbuilder.security.sqla.models import User

    with app.app_context():
        username = db.session.get(User, user_id).username
    return log_in(app, username)


def stored_campaign(campaign_id: int) -> Campaign:
    """The campaign as the database has it now."""
    db.session.expire_all()
    found = db.session.get(Campaign, campaign_id)
    assert found is not None
    return found


def campaign_window(campaign_id: int) -> tuple[CampaignStatus, datetime | None, datetime | None]:
    """The stored campaign's status and when it started and stopped running."""
    campaign = stored_campaign(campaign_id)
    return campaign.status, campaign.running_since, campaign.closed_at


def promo_sale(sale_id: str, occurred_at: str, code: str) -> dict[str, str]:
    """An online sale of 10,000 ₽ with a promo code, by a customer of its own."""
    return {
        "id": sale_id,
        "type": "sale",
        "occurred_at": occurred_at,
        "promo_code": code,
        "channel": "online",
        "amount": "10000",
        "currency": "RUB",
        "customer": f"c-{sale_id}",
    }


def evaluate(app: Flask, *events: dict[str, str]) -> None:
    """Take ``events`` in from a shop (in the caller's app context), then evaluate
    everything pending with a real worker on the events queue."""
    if events:
        ingest_batch("shop", list(events), "RUB")
    request_evaluation()
    run_events_worker(app)
    db.session.expire_all()


# The engine's commands commit and leave their actions' job to their caller, as the
# workflow screens do: these run the command, then queue like the screens.


def start_workflow(
    subject_type: str, subject_id: int, actor_id: int | None, key: str | None = None
) -> WorkflowInstance:
    instance = engine.start_workflow(subject_type, subject_id, actor_id, key)
    queue_instance_actions(instance.id)
    return instance


def fire_transition(instance_id: int, *args: Any, **kwargs: Any) -> WorkflowInstance:
    instance = engine.fire_transition(instance_id, *args, **kwargs)
    queue_instance_actions(instance_id)
    return instance


def fire_at(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    instant: datetime,
    instance_id: int,
    *args: Any,
    **kwargs: Any,
) -> None:
    """Fire a transition as if at ``instant`` (see :func:`at`), then run its actions with
    a real worker: the worker runs later, at the real clock's time."""
    at(monkeypatch, instant)
    fire_transition(instance_id, *args, **kwargs)
    run_worker(app)


def approve_campaign(
    campaign_id: int, instance_id: int, actor_id: int, budget: Decimal = Decimal("1000")
) -> WorkflowInstance:
    """Meet the approval's guards (a budget, the manager's say-so) and approve: its
    actions are queued, for the caller's worker."""
    update_budget(campaign_id, budget, actor_id)
    engine.record_evidence(instance_id, EvidenceKind.approval, "budget", actor_id)
    return fire_transition(instance_id, "approve", actor_id)


def retry_actions(instance_id: int, actor_id: int | None) -> WorkflowInstance:
    instance = engine.retry_actions(instance_id, actor_id)
    queue_instance_actions(instance_id)
    return instance
