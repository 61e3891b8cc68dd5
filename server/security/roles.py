"""Roles and what each may do, defined in code.

Flask-AppBuilder's built-in roles (``FAB_ROLES``) are pairs of regular expressions
(view name, permission name) checked in memory, so permissions cannot drift from the
code and need no migration. ``partnerflow init`` creates the role rows idempotently.
View names are the view classes' names; menu entries are checked as ``menu_access``
on the menu item's name.
"""

from __future__ import annotations

import enum


class Role(str, enum.Enum):
    ADMIN = "Admin"
    MANAGER = "Manager"
    LEGAL = "Legal"
    PARTNER = "Partner"
    INTEGRATION = "Integration"


READ = r"^(can_list|can_show|can_get|can_info|can_download)$"
ANY = r".*"

MANAGER_VIEWS = (
    r"^(PartnerView|RegionView|AttributionCodeView|ProgramView|ProgramVersionView"
    r"|RuleInstanceView|CampaignView|SalesEventView|AccrualView|AuditEntryView"
    r"|RegionalTermsView|DashboardView|RuleTemplateView|SalesImportView|HoldReviewView"
    r"|IntakeRejectionView|WorkflowBoardView|WorkflowEditorView|ProgramWorkspaceView"
    r"|CampaignWorkspaceView|StatementView)$"
)
MANAGER_MENUS = (
    r"^(Partners|Regions|Regional terms|Attribution codes|Programs|Program versions"
    r"|Rule templates|Campaigns|Ledger|Events|Accruals|Audit|Audit log|Dashboard|Import sales"
    r"|Hold review|Intake rejections|Onboarding|Onboarding boards|Workflow editor"
    r"|Programs workspace|Campaigns workspace|Statements)$"
)
LEGAL_EDIT_VIEWS = r"^(RegionalTermsView|ContractTemplateView|ContractView|WorkflowBoardView)$"
LEGAL_READ_VIEWS = (
    r"^(PartnerView|RegionView|ProgramView|ProgramVersionView|RuleInstanceView|DashboardView)$"
)
LEGAL_MENUS = (
    r"^(Partners|Regions|Regional terms|Programs|Program versions|Documents"
    r"|Contract templates|Contracts|Dashboard|Onboarding|Onboarding boards|Programs workspace)$"
)

ROLE_PERMISSIONS: dict[str, list[list[str]]] = {
    Role.ADMIN.value: [[ANY, ANY]],
    Role.MANAGER.value: [
        [MANAGER_VIEWS, ANY],
        [MANAGER_MENUS, r"^menu_access$"],
        [r"^(LocaleView|UtilView)$", ANY],
        [r"^(UserInfoEditView|ResetMyPasswordView)$", ANY],
        [r"^UserDBModelView$", r"^(can_userinfo|userinfoedit)$"],
    ],
    Role.LEGAL.value: [
        [LEGAL_EDIT_VIEWS, ANY],
        [LEGAL_READ_VIEWS, READ],
        [r"^ProgramWorkspaceView$", r"^can_(index|version|diff|export)$"],
        [LEGAL_MENUS, r"^menu_access$"],
        [r"^(LocaleView|UtilView)$", ANY],
        [r"^(UserInfoEditView|ResetMyPasswordView)$", ANY],
        [r"^UserDBModelView$", r"^(can_userinfo|userinfoedit)$"],
    ],
    Role.PARTNER.value: [
        [r"^PortalView$", ANY],
        [r"^(Portal|My partner account)$", r"^menu_access$"],
        [r"^(LocaleView|UtilView)$", ANY],
        # their own login: the navbar's profile link, and changing the password
        [r"^(UserInfoEditView|ResetMyPasswordView)$", ANY],
        [r"^UserDBModelView$", r"^(can_userinfo|userinfoedit)$"],
    ],
    Role.INTEGRATION.value: [
        [r"^EventsApi$", ANY],
        # the API's documentation: Swagger UI, the OpenAPI document and its menu link
        [r"^(SwaggerView|OpenApi)$", ANY],
        [r"^API documentation$", r"^menu_access$"],
        [r"^(LocaleView|UtilView)$", ANY],
        [r"^(UserInfoEditView|ResetMyPasswordView)$", ANY],
        [r"^UserDBModelView$", r"^(can_userinfo|userinfoedit)$"],
    ],
}
