"""The campaign's own page moves its lifecycle: POST ``/campaign-workspace/<id>/lifecycle``.

With CSRF protection on, a POST without the page's token is refused (400) and moves
nothing; a step the lifecycle does not allow in the campaign's state is refused with
409 and the reason on the page; an allowed one moves the instance, queues the new
state's actions (a real rq worker sets the campaign's status) and comes back to the
page. Pausing stops the campaign's rules paying until it resumes; closing is final.
On SQLite and PostgreSQL (the ``app`` fixture).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.campaigns.commands import compose_campaign
from server.campaigns.models import CampaignStatus
from server.campaigns.window import running_windows
from server.extensions import db
from server.workflows.models import InstanceStatus, WorkflowInstance
from tests.integration.workflows.conftest import (
    CampaignWorld,
    approve_campaign,
    at,
    login,
    run_worker,
    spring_push,
    stored_campaign,
)

APPROVED = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
LAUNCHED = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
PAUSED = datetime(2026, 3, 5, 6, 0, tzinfo=UTC)
RESUMED = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)


def _approved_campaign(app: Flask, world: CampaignWorld) -> tuple[int, int]:
    """A promo push composed, budgeted, approved and its actions run: (campaign, instance)."""
    with app.app_context():
        composed = compose_campaign(spring_push(world), world.manager_id)
        campaign_id, instance_id = composed.campaign.id, composed.lifecycle_id
        assert instance_id is not None
        approve_campaign(campaign_id, instance_id, world.manager_id)
    run_worker(app)
    return campaign_id, instance_id


def _token(client: FlaskClient, campaign_id: int) -> str:
    page = client.get(f"/campaign-workspace/{campaign_id}").get_data(as_text=True)
    found = re.search(r'class="pf-lifecycle-form".*?name="csrf_token" value="([^"]+)"', page, re.S)
    assert found is not None, "the campaign page has no lifecycle form"
    return found.group(1)


def _state(app: Flask, instance_id: int) -> tuple[str, InstanceStatus, CampaignStatus]:
    with app.app_context():
        db.session.expire_all()
        instance = db.session.get(WorkflowInstance, instance_id)
        assert instance is not None
        return instance.state, instance.status, stored_campaign(instance.subject_id).status


def test_lifecycle_posts_need_csrf_refuse_wrong_steps_and_queue_actions(
    wf_app: Flask, campaign_world: CampaignWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = wf_app
    at(monkeypatch, APPROVED)
    campaign_id, instance_id = _approved_campaign(app, campaign_world)
    client = login(app, campaign_world.manager_id)
    app.config["WTF_CSRF_ENABLED"] = True  # after the log-in (its form has no token here)
    url = f"/campaign-workspace/{campaign_id}/lifecycle"

    # the page offers the steps the lifecycle allows now, each asking first
    page = client.get(f"/campaign-workspace/{campaign_id}").get_data(as_text=True)
    assert 'data-trigger="launch"' in page and 'data-trigger="close"' in page
    assert 'data-trigger="pause"' not in page
    assert "This is final" in page or "Это окончательно" in page

    # no token: refused, nothing moves
    response = client.post(url, data={"trigger": "launch", "expected_state": "approved"})
    assert response.status_code == 400
    assert _state(app, instance_id) == ("approved", InstanceStatus.running, CampaignStatus.approved)

    # a step the state does not allow: 409 with the reason, nothing moves
    token = _token(client, campaign_id)
    response = client.post(url, data={"trigger": "pause", "csrf_token": token})
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "cannot be taken from the stage" in text or "нельзя" in text
    assert _state(app, instance_id) == ("approved", InstanceStatus.running, CampaignStatus.approved)
    # no step at all: 400
    assert client.post(url, data={"csrf_token": token}).status_code == 400
    # the page was loaded in another state (someone moved it meanwhile): 409
    response = client.post(
        url, data={"trigger": "launch", "expected_state": "plan", "csrf_token": token}
    )
    assert response.status_code == 409
    assert _state(app, instance_id)[0] == "approved"

    # launch: moved, its actions queued; the worker sets the status
    at(monkeypatch, LAUNCHED)
    response = client.post(
        url, data={"trigger": "launch", "expected_state": "approved", "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/campaign-workspace/{campaign_id}")
    assert _state(app, instance_id) == ("running", InstanceStatus.acting, CampaignStatus.approved)
    run_worker(app)
    assert _state(app, instance_id) == ("running", InstanceStatus.running, CampaignStatus.running)

    # pause, then resume: the rules pay nothing in between
    at(monkeypatch, PAUSED)
    assert client.post(url, data={"trigger": "pause", "csrf_token": token}).status_code == 302
    run_worker(app)
    assert _state(app, instance_id) == ("paused", InstanceStatus.running, CampaignStatus.paused)
    at(monkeypatch, RESUMED)
    assert client.post(url, data={"trigger": "resume", "csrf_token": token}).status_code == 302
    run_worker(app)
    assert _state(app, instance_id) == ("running", InstanceStatus.running, CampaignStatus.running)
    with app.app_context():
        [window] = running_windows(db.session).values()
    assert window.covers(datetime(2026, 3, 3, tzinfo=UTC))
    assert not window.covers(datetime(2026, 3, 6, tzinfo=UTC))
    assert window.covers(datetime(2026, 3, 9, tzinfo=UTC))

    # close: final; nothing can follow it
    assert client.post(url, data={"trigger": "close", "csrf_token": token}).status_code == 302
    run_worker(app)
    assert _state(app, instance_id) == ("closed", InstanceStatus.finished, CampaignStatus.closed)
    response = client.post(url, data={"trigger": "launch", "csrf_token": token})
    assert response.status_code == 409
    assert _state(app, instance_id)[0] == "closed"
