"""Every mapped class, imported in one place so Alembic and the app see the whole schema."""

from server.audit.models import AuditEntry
from server.campaigns.models import Campaign
from server.dashboards.models import (
    KpiAccrualDay,
    KpiCampaignDay,
    KpiEventDay,
    KpiFirstSale,
    KpiPartnerTotal,
    KpiRefresh,
)
from server.documents.models import Contract, ContractSequence, ContractTemplate
from server.ledger.models import Accrual, HoldDecision, SalesEvent
from server.partners.models import (
    AttributionCode,
    CodeClick,
    Partner,
    PartnerUser,
    Region,
    RegionalTerms,
)
from server.programs.models import Program, ProgramVersion, RuleInstance
from server.security.models import ApiKey
from server.statements.models import PeriodClose, Statement
from server.workflows.models import WorkflowDefinition, WorkflowInstance, WorkflowTransition

__all__ = [
    "Accrual",
    "ApiKey",
    "AttributionCode",
    "AuditEntry",
    "Campaign",
    "CodeClick",
    "Contract",
    "ContractSequence",
    "ContractTemplate",
    "HoldDecision",
    "KpiAccrualDay",
    "KpiCampaignDay",
    "KpiEventDay",
    "KpiFirstSale",
    "KpiPartnerTotal",
    "KpiRefresh",
    "Partner",
    "PartnerUser",
    "PeriodClose",
    "Program",
    "ProgramVersion",
    "Region",
    "RegionalTerms",
    "RuleInstance",
    "SalesEvent",
    "Statement",
    "WorkflowDefinition",
    "WorkflowInstance",
    "WorkflowTransition",
]
