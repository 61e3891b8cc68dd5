"""Read-only data for the screens: definitions, a board per workflow, an instance's
timeline. Nothing here writes or commits."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from server.db.types import utcnow
from server.extensions import db
from server.workflows.catalogue import ACTIONS
from server.workflows.engine import OPEN_STATUSES, available_transitions
from server.workflows.guards import (
    Requirement,
    approval_step,
    course_title,
    document_title,
    requirements,
    state_title,
    step_title,
)
from server.workflows.models import (
    ActionRunStatus,
    DefinitionStatus,
    EvidenceKind,
    WorkflowActionRun,
    WorkflowDefinition,
    WorkflowEvidence,
    WorkflowInstance,
    WorkflowTransition,
)
from server.workflows.spec import TransitionSpec, WorkflowSpec
from server.workflows.spec_cache import spec_of
from server.workflows.subjects import load_subject, subject_label, subject_labels

SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class DefinitionSummary:
    key: str
    title: str
    subject_type: str
    published: WorkflowDefinition | None
    draft: WorkflowDefinition | None
    versions: list[WorkflowDefinition]
    open_instances: int


def published_version(key: str) -> WorkflowDefinition | None:
    return db.session.scalar(
        sa.select(WorkflowDefinition)
        .where(
            WorkflowDefinition.key == key, WorkflowDefinition.status == DefinitionStatus.published
        )
        .order_by(WorkflowDefinition.version.desc())
        .limit(1)
    )


def definitions_overview(language: str) -> list[DefinitionSummary]:
    """Every key with its published and draft versions and open instance count."""
    versions: dict[str, list[WorkflowDefinition]] = defaultdict(list)
    for definition in db.session.scalars(
        sa.select(WorkflowDefinition).order_by(WorkflowDefinition.key, WorkflowDefinition.version)
    ):
        versions[definition.key].append(definition)
    counts: dict[str, int] = {
        key: count
        for key, count in db.session.execute(
            sa.select(WorkflowDefinition.key, sa.func.count(WorkflowInstance.id))
            .join(WorkflowInstance)
            .where(WorkflowInstance.status.in_(OPEN_STATUSES))
            .group_by(WorkflowDefinition.key)
        )
    }
    summaries = []
    for key, rows in versions.items():
        published = next(
            (d for d in reversed(rows) if d.status is DefinitionStatus.published), None
        )
        draft = next((d for d in reversed(rows) if d.status is DefinitionStatus.draft), None)
        shown = published or rows[-1]
        try:
            title = spec_of(shown).title.get(language)
        except ValueError:
            title = key
        summaries.append(
            DefinitionSummary(
                key, title, shown.subject_type, published, draft, rows, counts.get(key, 0)
            )
        )
    return summaries


@dataclass(frozen=True)
class Card:
    instance: WorkflowInstance
    label: str
    days_in_state: int
    overdue: bool
    transitions: list[TransitionSpec]


@dataclass
class Column:
    state: str
    title: str
    sla_days: int | None
    final: bool
    cards: list[Card] = field(default_factory=list)


@dataclass(frozen=True)
class Board:
    definition: WorkflowDefinition
    spec: WorkflowSpec
    columns: list[Column]


def board(key: str, roles: set[str], language: str) -> Board | None:
    """Columns of the published version's states with every instance of the key.

    Instances on older versions sit in the column of the same state name (a column is
    added for a state the published version no longer has). A card is overdue when it
    has stayed longer than its state's SLA on its own version.
    """
    definition = published_version(key)
    if definition is None:
        return None
    spec = spec_of(definition)
    columns = {
        name: Column(name, state.title.get(language), state.sla_days, state.final)
        for name, state in spec.states.items()
    }
    instances = list(
        db.session.scalars(
            sa.select(WorkflowInstance)
            .join(WorkflowDefinition)
            .where(WorkflowDefinition.key == key)
            .order_by(WorkflowInstance.state_entered_at)
        )
    )
    labels = subject_labels(definition.subject_type, [i.subject_id for i in instances])
    now = utcnow()
    for instance in instances:
        own = spec_of(instance.definition)
        state = own.state(instance.state)
        days = int((now - instance.state_entered_at).total_seconds() // SECONDS_PER_DAY)
        age = (now - instance.state_entered_at).total_seconds() / SECONDS_PER_DAY
        overdue = bool(
            state and state.sla_days is not None and not state.final and age > state.sla_days
        )
        column = columns.get(instance.state)
        if column is None:
            title = state.title.get(language) if state else instance.state
            column = columns[instance.state] = Column(instance.state, title, None, False)
        column.cards.append(
            Card(
                instance,
                labels.get(instance.subject_id, "?"),
                days,
                overdue,
                available_transitions(instance, own, roles),
            )
        )
    return Board(definition, spec, list(columns.values()))


@dataclass(frozen=True)
class TransitionOption:
    transition: TransitionSpec
    #: what it needs (its guards' items), met or not: the page's checklist
    requirements: list[Requirement]

    @property
    def unmet(self) -> list[Requirement]:
        """What still stops it; empty when it may fire."""
        return [item for item in self.requirements if not item.met]


@dataclass(frozen=True)
class ActionRunRow:
    run: WorkflowActionRun
    state: Any
    action: Any


@dataclass(frozen=True)
class Timeline:
    instance: WorkflowInstance
    spec: WorkflowSpec
    label: str
    #: each transition with its actor's name (None: the system moved it)
    history: list[tuple[WorkflowTransition, str | None]]
    runs: list[ActionRunRow]
    #: each piece of evidence with its name in words
    evidence: list[tuple[WorkflowEvidence, Any]]
    options: list[TransitionOption]
    #: what may be recorded, per evidence kind: the names the definition's guards ask
    #: for, with their titles (the pickers of the "Record" forms)
    choices: dict[EvidenceKind, list[tuple[str, Any]]]


def evidence_choices(spec: WorkflowSpec) -> dict[EvidenceKind, list[tuple[str, Any]]]:
    """Documents, courses and approval steps the definition's guards name, in order."""
    found: dict[EvidenceKind, dict[str, Any]] = {kind: {} for kind in EvidenceKind}
    for transition in spec.transitions:
        for guard in transition.guards:
            if guard.kind == "documents_uploaded":
                for name in guard.params["documents"]:
                    found[EvidenceKind.document].setdefault(name, document_title(name))
            elif guard.kind == "training_completed":
                for name in guard.params["courses"]:
                    found[EvidenceKind.training].setdefault(name, course_title(name))
            elif guard.kind == "manager_approval":
                step = approval_step(guard.params, transition.trigger)
                found[EvidenceKind.approval].setdefault(step, step_title(spec, step))
    return {kind: list(names.items()) for kind, names in found.items()}


def evidence_title(spec: WorkflowSpec, evidence: WorkflowEvidence) -> Any:
    if evidence.kind is EvidenceKind.document:
        return document_title(evidence.name)
    if evidence.kind is EvidenceKind.training:
        return course_title(evidence.name)
    return step_title(spec, evidence.name)


def _names(user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = db.session.execute(sa.select(User.id, User.username).where(User.id.in_(user_ids)))
    return {row.id: row.username for row in rows}


def timeline(instance_id: int, roles: set[str]) -> Timeline | None:
    """An instance's history, actions, evidence and the transitions the user may fire."""
    instance = db.session.get(WorkflowInstance, instance_id)
    if instance is None:
        return None
    spec = spec_of(instance.definition)
    subject = load_subject(instance.subject_type, instance.subject_id)
    history = list(instance.history)
    names = _names({t.actor_id for t in history if t.actor_id is not None})
    evidence = list(
        db.session.scalars(
            sa.select(WorkflowEvidence)
            .where(
                WorkflowEvidence.subject_type == instance.subject_type,
                WorkflowEvidence.subject_id == instance.subject_id,
            )
            .order_by(WorkflowEvidence.at)
        )
    )
    options = [
        TransitionOption(t, requirements(instance, subject, t))
        for t in available_transitions(instance, spec, roles)
    ]
    runs = [
        ActionRunRow(
            run,
            state_title(spec, run.state),
            ACTIONS[run.action].description if run.action in ACTIONS else run.action,
        )
        for run in instance.action_runs
    ]
    return Timeline(
        instance,
        spec,
        subject_label(subject),
        [(t, names.get(t.actor_id) if t.actor_id else None) for t in history],
        runs,
        [(e, evidence_title(spec, e)) for e in evidence],
        options,
        evidence_choices(spec),
    )


def instances_of_subject(subject_type: str, subject_id: int) -> list[WorkflowInstance]:
    """A subject's instances, newest first (a partner's onboarding timeline)."""
    return list(
        db.session.scalars(
            sa.select(WorkflowInstance)
            .where(
                WorkflowInstance.subject_type == subject_type,
                WorkflowInstance.subject_id == subject_id,
            )
            .order_by(WorkflowInstance.started_at.desc())
        )
    )


def has_pending_actions(instance_id: int) -> bool:
    """Whether the instance has actions waiting for a worker."""
    return (
        db.session.scalar(
            sa.select(WorkflowActionRun.id)
            .where(
                WorkflowActionRun.instance_id == instance_id,
                WorkflowActionRun.status == ActionRunStatus.pending,
            )
            .limit(1)
        )
        is not None
    )
