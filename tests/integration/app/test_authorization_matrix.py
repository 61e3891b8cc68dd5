"""The authorization matrix: every registered view and API × every role.

``ACCESS`` is the product's decision, kept by hand: which roles may enter each
blueprint (Flask-AppBuilder view or API, or our own blueprints). The test walks the
app's URL map, so a new endpoint without a decision fails the suite, and checks every
GET route: roles outside the set are refused (login page, 401/403/404, or FAB's
"access denied" redirect to the index); roles inside it get the parameterless pages.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from server.extensions import db
from server.partners.models import PartnerKind
from server.security.roles import Role
from tests.support import factories
from tests.support.web import login

ANON = "anonymous"
STAFF = {Role.ADMIN.value}
EVERYONE = {ANON, *(r.value for r in Role)}
LOGGED_IN = {r.value for r in Role}
M, L, A, P, INT = (
    Role.MANAGER.value,
    Role.LEGAL.value,
    Role.ADMIN.value,
    Role.PARTNER.value,
    Role.INTEGRATION.value,
)

#: blueprint → the roles that may open its pages (GET)
ACCESS: dict[str, set[str]] = {
    # public: login, health, QR and referral landing pages, language switch, assets
    "AuthDBView": EVERYONE,
    "health": EVERYONE,
    "public_codes": EVERYONE,
    "LocaleView": EVERYONE,
    "appbuilder": EVERYONE,
    "static": EVERYONE,
    "IndexView": EVERYONE,  # anonymous visitors are redirected to the login page
    "UtilView": EVERYONE,
    # every logged-in user edits their own profile
    "UserInfoEditView": {M, L, A, P, INT},
    "ResetMyPasswordView": {M, L, A, P, INT},
    # partner network and ledger: managers (legal reads partners, regions and terms)
    "PartnerView": {M, L, A},
    "RegionView": {M, L, A},
    "RegionalTermsView": {M, L, A},
    "AttributionCodeView": {M, A},
    "SalesEventView": {M, A},
    "AccrualView": {M, A},
    "HoldReviewView": {M, A},
    "IntakeRejectionView": {M, A},
    "SalesImportView": {M, A},
    "ProgramView": {M, L, A},
    "ProgramVersionView": {M, L, A},
    "RuleInstanceView": {M, L, A},
    "CampaignView": {M, A},
    "ProgramWorkspaceView": {M, L, A},
    "CampaignWorkspaceView": {M, A},
    "WorkflowBoardView": {M, L, A},
    "WorkflowEditorView": {M, A},
    "AuditEntryView": {M, A},
    # KPIs and period closes
    "DashboardView": {M, L, A},
    "StatementView": {M, A},
    # the partner portal: a partner's own data only (isolation: tests/integration/portal)
    "PortalView": {P},
    # legal documents
    "ContractTemplateView": {L, A},
    "ContractView": {L, A},
    # administration
    "ApiKeyView": STAFF,
    "LoginLockView": STAFF,
    "UserDBModelView": STAFF,
    "RoleView": STAFF,  # FAB's RoleModelView with translated filters
    "PermissionModelView": STAFF,
    "PermissionView": STAFF,  # FAB's PermissionViewModelView, likewise
    "ViewMenuModelView": STAFF,
    "GroupView": STAFF,  # FAB's UserGroupModelView, likewise
    "ResetPasswordView": STAFF,
    # the API's documentation: for the integrations that call it (and admins)
    "OpenApi": {A, INT},
    "SwaggerView": {A, INT},
    "MenuApi": STAFF,
    # FAB's login API (JWT for API clients): open, it checks credentials itself
    "SecurityApi": EVERYONE,
    # the events API authenticates with its own keys, never with a session
    "EventsApi": set(),
}
#: routes that answer everyone by design although their blueprint is restricted
#: (FAB's own user-info page needs only a login, never a permission)
OPEN_ROUTES = {"UserDBModelView.userinfo": {M, L, A, P, INT}}
#: routes open to fewer roles than their blueprint (legal reads the programs workspace
#: but does not create programs)
NARROWER_ROUTES = {"ProgramWorkspaceView.new_program": {M, A}}


def _get_rules(app: Flask) -> Iterator[Rule]:
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or set()):
            yield rule


def _url(rule: Rule) -> str:
    values = {
        arg: 1 if rule._converters[arg].__class__.__name__ == "IntegerConverter" else "x"
        for arg in rule.arguments
    }
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<{name}>", str(value))
        for converter in ("int", "string", "path", "any"):
            path = path.replace(f"<{converter}:{name}>", str(value))
    return path


def _denied(response: TestResponse) -> bool:
    status = response.status_code
    if status in (401, 403, 404, 405):
        return True
    if status in (301, 302, 303, 307, 308):
        target = response.headers.get("Location", "")
        return "/login" in target or target.rstrip("/").endswith(("", "localhost"))
    return False


def _decision(rule: Rule) -> tuple[str, set[str]]:
    """The rule's blueprint and who may open the rule's page."""
    blueprint = rule.endpoint.split(".")[0]
    return blueprint, NARROWER_ROUTES.get(rule.endpoint, ACCESS.get(blueprint, set()))


def _clients(app: Flask) -> dict[str, FlaskClient]:
    """A client of each role, logged in (a Partner login acts for P-1), and one not."""
    with app.app_context():
        factories.partner("P-1", kind=PartnerKind.ambassador)
        db.session.commit()
    clients = {ANON: app.test_client()}
    for role in Role:
        partner = "P-1" if role is Role.PARTNER else None
        clients[role.value] = login(app, role, partner, username=f"u-{role.value}")
    return clients


def test_every_endpoint_has_a_decision(app: Flask) -> None:
    blueprints = {rule.endpoint.split(".")[0] for rule in app.url_map.iter_rules()}
    missing = sorted(blueprints - set(ACCESS))
    assert not missing, (
        f"decide who may open these (tests/…/test_authorization_matrix.py): {missing}"
    )


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_roles_outside_a_blueprint_are_refused_everywhere(app: Flask, role: str) -> None:
    client = _clients(app)[role]
    let_in = []
    for rule in _get_rules(app):
        blueprint, allowed = _decision(rule)
        allowed = allowed | OPEN_ROUTES.get(rule.endpoint, set())
        if role in allowed or blueprint == "static":
            continue
        response = client.get(_url(rule))
        if not _denied(response):
            let_in.append(f"{_url(rule)} → {response.status_code}")
    assert not let_in, f"{role} was let in: {let_in}"


@pytest.mark.parametrize("role", sorted(LOGGED_IN - {INT, P}))
def test_roles_inside_a_blueprint_open_its_pages(app: Flask, role: str) -> None:
    client = _clients(app)[role]
    refused = []
    for rule in _get_rules(app):
        blueprint, allowed = _decision(rule)
        if rule.arguments or role not in allowed or blueprint == "static":
            continue
        if blueprint in {"AuthDBView", "LocaleView", "UtilView"} or rule.endpoint.endswith(
            ("logout", "login")
        ):
            continue
        response = client.get(_url(rule))
        # Refused means refused by authorization: a page that needs query arguments may
        # answer 400/404, and FAB's add pages of read-only views answer 403 to everyone.
        if rule.endpoint.endswith(".add"):
            continue
        if response.status_code in (401, 403) or (
            response.status_code == 302 and _denied(response)
        ):
            refused.append(f"{_url(rule)} → {response.status_code}")
    assert not refused, f"{role} was refused: {refused}"
