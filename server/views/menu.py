"""The main menu as data: its categories and entries, top to bottom, as they are shown.

An entry's ``name`` is what Flask-AppBuilder keys its permissions by ("menu access on
Partners"): renaming one is a change of the roles, not of wording. ``label`` is what the
user reads, in their language.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_appbuilder import AppBuilder, BaseView
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from server.views.api_keys import ApiKeyView
from server.views.audit import AuditEntryView
from server.views.campaigns import CampaignWorkspaceView
from server.views.codes import AttributionCodeView
from server.views.dashboard import DashboardView
from server.views.documents import ContractTemplateView, ContractView
from server.views.holds import HoldReviewView
from server.views.imports import SalesImportView
from server.views.ledger import AccrualView, IntakeRejectionView, SalesEventView
from server.views.login_locks import LoginLockView
from server.views.partners import PartnerView, RegionalTermsView, RegionView
from server.views.portal import PortalView
from server.views.programs import CampaignView, ProgramVersionView, ProgramView
from server.views.statements import StatementView
from server.views.workflows import WorkflowBoardView, WorkflowEditorView
from server.views.workspace import ProgramWorkspaceView


@dataclass(frozen=True)
class MenuEntry:
    """One menu entry: it opens ``view``, or ``href`` where there is no view."""

    name: str
    label: LazyString
    icon: str
    view: type[BaseView] | None = None
    href: str = ""


@dataclass(frozen=True)
class MenuCategory:
    """A drop-down of the menu. An empty ``label`` keeps the one the category already
    has (Flask-AppBuilder's own "Security")."""

    name: str
    label: LazyString | str
    entries: tuple[MenuEntry, ...]


#: the main menu, after Flask-AppBuilder's own Security category
MAIN_MENU: tuple[MenuCategory | MenuEntry, ...] = (
    MenuCategory(
        "Partners",
        _l("Partners"),
        (
            MenuEntry("Partners", _l("Partners"), "fa-users", PartnerView),
            MenuEntry("Regions", _l("Regions"), "fa-map", RegionView),
            MenuEntry("Regional terms", _l("Regional terms"), "fa-file-text-o", RegionalTermsView),
            MenuEntry(
                "Attribution codes", _l("Attribution codes"), "fa-qrcode", AttributionCodeView
            ),
        ),
    ),
    MenuCategory(
        "Programs",
        _l("Programs"),
        (
            MenuEntry("Programs", _l("Programs"), "fa-cubes", ProgramView),
            MenuEntry(
                "Program versions", _l("Program versions"), "fa-code-fork", ProgramVersionView
            ),
            MenuEntry("Campaigns", _l("Campaigns"), "fa-bullhorn", CampaignView),
            MenuEntry(
                "Programs workspace", _l("Programs workspace"), "fa-magic", ProgramWorkspaceView
            ),
            MenuEntry(
                "Campaigns workspace",
                _l("Campaigns workspace"),
                "fa-bullhorn",
                CampaignWorkspaceView,
            ),
        ),
    ),
    MenuCategory(
        "Ledger",
        _l("Ledger"),
        (
            MenuEntry("Events", _l("Events"), "fa-shopping-cart", SalesEventView),
            MenuEntry("Accruals", _l("Accruals"), "fa-rub", AccrualView),
            MenuEntry("Hold review", _l("Hold review"), "fa-pause-circle", HoldReviewView),
            MenuEntry("Intake rejections", _l("Intake rejections"), "fa-ban", IntakeRejectionView),
            MenuEntry("Statements", _l("Statements"), "fa-file-pdf-o", StatementView),
            MenuEntry("Import sales", _l("Import sales"), "fa-upload", SalesImportView),
        ),
    ),
    MenuEntry("Dashboard", _l("Dashboards"), "fa-bar-chart", DashboardView),
    MenuCategory(
        "My partner account",
        _l("My partner account"),
        (MenuEntry("Portal", _l("My account"), "fa-user", PortalView),),
    ),
    MenuCategory(
        "Documents",
        _l("Documents"),
        (
            MenuEntry(
                "Contract templates",
                _l("Contract templates"),
                "fa-file-code-o",
                ContractTemplateView,
            ),
            MenuEntry("Contracts", _l("Contracts"), "fa-file-pdf-o", ContractView),
        ),
    ),
    MenuCategory(
        "Onboarding",
        _l("Onboarding"),
        (
            MenuEntry(
                "Onboarding boards", _l("Onboarding boards"), "fa-columns", WorkflowBoardView
            ),
            MenuEntry("Workflow editor", _l("Workflow editor"), "fa-sitemap", WorkflowEditorView),
        ),
    ),
    MenuCategory(
        "Security",
        "",
        (
            MenuEntry("API keys", _l("API keys"), "fa-key", ApiKeyView),
            MenuEntry("Login locks", _l("Login locks"), "fa-lock", LoginLockView),
        ),
    ),
    MenuEntry("API documentation", _l("API documentation"), "fa-book", href="/swagger/v1"),
    MenuCategory(
        "Audit",
        _l("Audit"),
        (MenuEntry("Audit log", _l("Audit log"), "fa-history", AuditEntryView),),
    ),
)


def add_menu(builder: AppBuilder, menu: tuple[MenuCategory | MenuEntry, ...]) -> None:
    """Add each entry's view with its menu entry, or its link, in the menu's order."""
    for item in menu:
        if isinstance(item, MenuCategory):
            for entry in item.entries:
                _add_entry(builder, entry, item)
        else:
            _add_entry(builder, item)


def _add_entry(builder: AppBuilder, entry: MenuEntry, category: MenuCategory | None = None) -> None:
    where = {
        "icon": entry.icon,
        "label": entry.label,
        "category": category.name if category else "",
        "category_label": category.label if category else "",
    }
    if entry.view is None:
        builder.add_link(entry.name, href=entry.href, **where)
    else:
        builder.add_view(entry.view, entry.name, **where)
