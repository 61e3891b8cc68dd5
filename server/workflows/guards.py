"""Guards: conditions a transition needs, checked against the database.

:func:`requirements` lists what a transition needs, one item per field, document,
course, approval or contract, each with its title in the user's language and whether
it is met: the instance page shows it as a checklist. :func:`unmet_guards` returns, for
each guard that does not hold, a sentence naming what is missing by those titles; an
empty list means the transition may fire. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from server.documents.models import Contract, ContractStatus
from server.extensions import db
from server.i18n import current_language
from server.workflows.catalogue import (
    COURSE_TITLES,
    DOCUMENT_TITLES,
    FIELD_TITLES,
    ROLE_TITLES,
    STEP_TITLES,
)
from server.workflows.models import EvidenceKind, WorkflowEvidence, WorkflowInstance
from server.workflows.spec import GuardSpec, Localized, TransitionSpec, WorkflowSpec
from server.workflows.spec_cache import spec_of
from server.workflows.subjects import Subject


@dataclass(frozen=True)
class Requirement:
    """One thing a transition needs: a field, a document, a course, an approval or the
    signed contract (``guard`` is the guard's kind, ``name`` the item's key)."""

    guard: str
    name: str
    #: the item in the user's language (a lazy string: evaluated when shown)
    title: Any
    met: bool
    #: the partner's latest contract, for ``contract_signed`` (its state and link)
    contract: Contract | None = None


RequirementList = Callable[[WorkflowInstance, Subject, Mapping[str, Any], str], list[Requirement]]


def document_title(name: str) -> Any:
    return DOCUMENT_TITLES.get(name, name)


def course_title(name: str) -> Any:
    return COURSE_TITLES.get(name, name)


def field_title(subject_type: str, name: str) -> Any:
    return FIELD_TITLES.get(subject_type, {}).get(name, name)


def in_language(text: Localized) -> LazyString:
    """A definition's title, in the language of whoever reads it (evaluated when shown)."""
    return LazyString(lambda: text.get(current_language()))


def state_title(spec: WorkflowSpec, state: str) -> Any:
    return in_language(spec.states[state].title) if state in spec.states else state


def transition_title(spec: WorkflowSpec, trigger: str) -> Any:
    moved_by = next((t for t in spec.transitions if t.trigger == trigger), None)
    return in_language(moved_by.title) if moved_by is not None else trigger


def roles_title(roles: Iterable[str]) -> str:
    return ", ".join(str(ROLE_TITLES.get(role, role)) for role in roles)


def step_title(spec: WorkflowSpec, step: str) -> Any:
    """An approval step in words: the state or transition of that name, else the
    catalogue's word, else the name."""
    if step in spec.states:
        return state_title(spec, step)
    if any(t.trigger == step for t in spec.transitions):
        return transition_title(spec, step)
    return STEP_TITLES.get(step, step)


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
) -> list[Requirement]:
    uploaded = _evidence_names(instance, EvidenceKind.document)
    return [
        Requirement("documents_uploaded", name, document_title(name), name in uploaded)
        for name in params["documents"]
    ]


def _contract_signed(
    instance: WorkflowInstance, subject: Subject, params: Mapping[str, Any], trigger: str
) -> list[Requirement]:
    contracts = list(
        db.session.scalars(
            sa.select(Contract)
            .where(Contract.partner_id == instance.subject_id)
            .order_by(Contract.id.desc())
        )
    )
    signed = next((c for c in contracts if c.status is ContractStatus.signed), None)
    shown = signed or (contracts[0] if contracts else None)
    return [Requirement("contract_signed", "", _l("Signed contract"), signed is not None, shown)]


def _training_completed(
    instance: WorkflowInstance, subject: Subject, params: Mapping[str, Any], trigger: str
) -> list[Requirement]:
    done = _evidence_names(instance, EvidenceKind.training)
    return [
        Requirement("training_completed", course, course_title(course), course in done)
        for course in params["courses"]
    ]


def _field_filled(
    instance: WorkflowInstance, subject: Subject, params: Mapping[str, Any], trigger: str
) -> list[Requirement]:
    return [
        Requirement(
            "field_filled",
            name,
            field_title(instance.subject_type, name),
            not (getattr(subject, name, None) is None or str(getattr(subject, name)).strip() == ""),
        )
        for name in params["fields"]
    ]


def approval_step(params: Mapping[str, Any], trigger: str) -> str:
    """The name an approval is recorded under: the guard's ``step``, else the trigger."""
    return str(params.get("step") or trigger)


def _manager_approval(
    instance: WorkflowInstance, subject: Subject, params: Mapping[str, Any], trigger: str
) -> list[Requirement]:
    step = approval_step(params, trigger)
    approved = step in _evidence_names(instance, EvidenceKind.approval)
    title = step_title(spec_of(instance.definition), step)
    return [Requirement("manager_approval", step, title, approved)]


#: the items behind each guard of :data:`server.workflows.catalogue.GUARDS`
GUARD_REQUIREMENTS: dict[str, RequirementList] = {
    "documents_uploaded": _documents_uploaded,
    "contract_signed": _contract_signed,
    "training_completed": _training_completed,
    "field_filled": _field_filled,
    "manager_approval": _manager_approval,
}

#: the sentence for a guard's unmet items (``%(names)s``: their titles)
_UNMET_SENTENCE: dict[str, LazyString] = {
    "documents_uploaded": _l("documents not uploaded: %(names)s"),
    "contract_signed": _l("the contract is not signed yet"),
    "training_completed": _l("training not completed: %(names)s"),
    "field_filled": _l("fields not filled: %(names)s"),
    "manager_approval": _l("a manager has not approved the step “%(names)s”"),
}


def requirements(
    instance: WorkflowInstance, subject: Subject, transition: TransitionSpec
) -> list[Requirement]:
    """Everything ``transition`` needs, in the order of its guards, met or not."""
    items: list[Requirement] = []
    for guard in transition.guards:
        items += check_guard(instance, subject, guard, transition.trigger)
    return items


def unmet_guards(
    instance: WorkflowInstance, subject: Subject, transition: TransitionSpec
) -> list[Any]:
    """What stops ``transition`` from firing, one sentence per unmet guard."""
    reasons = []
    for guard in transition.guards:
        missing = [
            item
            for item in check_guard(instance, subject, guard, transition.trigger)
            if not item.met
        ]
        if missing:
            reasons.append(_sentence(guard.kind, missing))
    return reasons


def _sentence(kind: str, missing: list[Requirement]) -> LazyString:
    sentence = _UNMET_SENTENCE[kind]
    return LazyString(
        lambda: str(sentence) % {"names": ", ".join(str(item.title) for item in missing)}
    )


def check_guard(
    instance: WorkflowInstance, subject: Subject, guard: GuardSpec, trigger: str
) -> list[Requirement]:
    """The items of one guard, met or not."""
    return GUARD_REQUIREMENTS[guard.kind](instance, subject, guard.params, trigger)
