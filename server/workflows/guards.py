"""Guards: conditions a transition needs, checked against the database.

:func:`unmet_guards` returns, for each guard that does not hold, a sentence saying what
is missing; an empty list means the transition may fire. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from server.documents.models import Contract, ContractStatus
from server.extensions import db
from server.workflows.models import EvidenceKind, WorkflowEvidence, WorkflowInstance
from server.workflows.spec import GuardSpec, TransitionSpec
from server.workflows.subjects import Subject

GuardCheck = Callable[[WorkflowInstance, Subject, Mapping[str, Any], str], Any | None]


def _evidence_names(instance: WorkflowInstance, kind: EvidenceKind) -> set[str]:
    query = sa.select(WorkflowEvidence.name).where(
        WorkflowEvidence.subject_type == instance.subject_type,
        WorkflowEvidence.subject_id == instance.subject_id,
        WorkflowEvidence.kind == kind,
    )
    if kind is EvidenceKind.approval:
        query = query.where(WorkflowEvidence.instance_id == instance.id)
    return set(db.session.scalars(query))


def _documents_uploaded(
    instance: WorkflowInstance, subject: Subject, params: Mapping[str, Any], trigger: str
) -> Any | None:
    missing = [
        d for d in params["documents"] if d not in _evidence_names(instance, EvidenceKind.document)
    ]
    if missing:
        return _l("documents not uploaded: %(names)s", names=", ".join(missing))
    return None


def _contract_signed(
    instance: WorkflowInstance, subject: Subject, params: Mapping[str, Any], trigger: str
) -> Any | None:
    signed = db.session.scalar(
        sa.select(sa.func.count(Contract.id)).where(
            Contract.partner_id == instance.subject_id, Contract.status == ContractStatus.signed
        )
    )
    return None if signed else _l("the contract is not signed yet")


def _training_completed(
    instance: WorkflowInstance, subject: Subject, params: Mapping[str, Any], trigger: str
) -> Any | None:
    done = _evidence_names(instance, EvidenceKind.training)
    missing = [course for course in params["courses"] if course not in done]
    if missing:
        return _l("training not completed: %(names)s", names=", ".join(missing))
    return None


def _field_filled(
    instance: WorkflowInstance, subject: Subject, params: Mapping[str, Any], trigger: str
) -> Any | None:
    empty = [
        name
        for name in params["fields"]
        if getattr(subject, name, None) is None or str(getattr(subject, name)).strip() == ""
    ]
    if empty:
        return _l("fields not filled: %(names)s", names=", ".join(empty))
    return None


def approval_step(params: Mapping[str, Any], trigger: str) -> str:
    """The name an approval is recorded under: the guard's ``step``, else the trigger."""
    return str(params.get("step") or trigger)


def _manager_approval(
    instance: WorkflowInstance, subject: Subject, params: Mapping[str, Any], trigger: str
) -> Any | None:
    step = approval_step(params, trigger)
    if step in _evidence_names(instance, EvidenceKind.approval):
        return None
    return _l("a manager has not approved %(step)s", step=step)


#: the check behind each guard of :data:`server.workflows.catalogue.GUARDS`
GUARD_CHECKS: dict[str, GuardCheck] = {
    "documents_uploaded": _documents_uploaded,
    "contract_signed": _contract_signed,
    "training_completed": _training_completed,
    "field_filled": _field_filled,
    "manager_approval": _manager_approval,
}


def unmet_guards(
    instance: WorkflowInstance, subject: Subject, transition: TransitionSpec
) -> list[Any]:
    """What stops ``transition`` from firing, one sentence per unmet guard."""
    reasons = []
    for guard in transition.guards:
        reason = check_guard(instance, subject, guard, transition.trigger)
        if reason is not None:
            reasons.append(reason)
    return reasons


def check_guard(
    instance: WorkflowInstance, subject: Subject, guard: GuardSpec, trigger: str
) -> Any | None:
    return GUARD_CHECKS[guard.kind](instance, subject, guard.params, trigger)
