"""Admin views: thin classes over the areas' models and queries.

The ledger (events and accruals) is shown read-only here: accruals are append-only and
only commands add rows.
"""

from __future__ import annotations

from flask import current_app
from flask_appbuilder import AppBuilder
from flask_babel import lazy_gettext as _l

from server.views.audit import AuditEntryView
from server.views.codes import register_code_views
from server.views.dashboard import IndexView
from server.views.forms import expose_csrf_token_to_templates
from server.views.ledger import register_ledger_views
from server.views.partners import (
    PartnerView,
    RegionalTermsView,
    RegionView,
)
from server.views.programs import CampaignView, ProgramVersionView, ProgramView, RuleInstanceView

__all__ = ["IndexView", "register_views"]


def register_views(builder: AppBuilder) -> None:
    """Add every view and menu entry; the menu shows only screens that exist."""
    from server.api.events import EventsApi

    expose_csrf_token_to_templates(current_app)
    builder.add_api(EventsApi)
    builder.add_view(
        PartnerView,
        "Partners",
        label=_l("Partners"),
        icon="fa-users",
        category="Partners",
        category_label=_l("Partners"),
    )
    builder.add_view(RegionView, "Regions", label=_l("Regions"), icon="fa-map", category="Partners")
    builder.add_view(
        RegionalTermsView,
        "Regional terms",
        label=_l("Regional terms"),
        icon="fa-file-text-o",
        category="Partners",
    )
    register_code_views(builder)
    builder.add_view(
        ProgramView,
        "Programs",
        label=_l("Programs"),
        icon="fa-cubes",
        category="Programs",
        category_label=_l("Programs"),
    )
    builder.add_view(
        ProgramVersionView,
        "Program versions",
        label=_l("Program versions"),
        icon="fa-code-fork",
        category="Programs",
    )
    builder.add_view_no_menu(RuleInstanceView)
    builder.add_view(
        CampaignView,
        "Campaigns",
        label=_l("Campaigns"),
        icon="fa-bullhorn",
        category="Programs",
    )
    register_ledger_views(builder)
    from server.views.dashboard import register_dashboard_views
    from server.views.portal import register_portal_views
    from server.views.statements import register_statement_views

    register_statement_views(builder)
    register_dashboard_views(builder)
    register_portal_views(builder)
    from server.views.imports import SalesImportView

    builder.add_view(
        SalesImportView,
        "Import sales",
        label=_l("Import sales"),
        icon="fa-upload",
        category="Ledger",
    )
    from server.views.documents import register_document_views

    register_document_views(builder)
    from server.views.workflows import register_workflow_views
    from server.views.workspace import register_workspace_views

    register_workspace_views(builder)

    register_workflow_views(builder)
    from server.views.api_keys import ApiKeyView

    builder.add_view(
        ApiKeyView,
        "API keys",
        label=_l("API keys"),
        icon="fa-key",
        category="Security",
    )
    builder.add_view(
        AuditEntryView,
        "Audit log",
        label=_l("Audit log"),
        icon="fa-history",
        category="Audit",
        category_label=_l("Audit"),
    )
