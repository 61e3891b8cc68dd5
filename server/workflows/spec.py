"""A workflow definition parsed into a spec: plain, frozen data the engine runs.

A spec is built only by :func:`server.workflows.validation.parse_definition`, so every
state it names exists, every guard and action is known and its parameters are checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: subjects a workflow can run on
SUBJECT_TYPES = ("partner", "campaign")
#: the trigger recorded when an instance starts (not a transition of the definition)
START_TRIGGER = "(start)"
#: the trigger recorded when a manager moves an instance to another definition version
MIGRATE_TRIGGER = "(migration)"


@dataclass(frozen=True)
class Localized:
    """A text in Russian and English."""

    ru: str
    en: str

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.ru


@dataclass(frozen=True)
class GuardSpec:
    """A condition a transition needs: ``kind`` from the guard catalogue, checked params."""

    kind: str
    params: Mapping[str, Any]
    line: int = 0


@dataclass(frozen=True)
class ActionSpec:
    """Something a worker does on entering a state: ``kind`` from the action catalogue."""

    kind: str
    params: Mapping[str, Any]
    line: int = 0


@dataclass(frozen=True)
class StateSpec:
    name: str
    title: Localized
    #: days an instance may stay here before its card is flagged overdue; None: no limit
    sla_days: int | None
    final: bool
    actions: tuple[ActionSpec, ...]
    line: int = 0


@dataclass(frozen=True)
class TransitionSpec:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    #: roles that may fire it (Admin may fire every transition)
    roles: tuple[str, ...]
    guards: tuple[GuardSpec, ...]
    title: Localized
    line: int = 0


@dataclass(frozen=True)
class AppliesTo:
    """Which partners a definition is for; empty means any."""

    partner_kinds: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    def matches(self, partner_kind: str | None, region: str | None) -> bool:
        kind_ok = not self.partner_kinds or partner_kind in self.partner_kinds
        region_ok = not self.regions or region in self.regions
        return kind_ok and region_ok

    @property
    def specificity(self) -> int:
        """Higher for narrower definitions: a region variant beats the kind's default."""
        return (2 if self.regions else 0) + (1 if self.partner_kinds else 0)


@dataclass(frozen=True)
class WorkflowSpec:
    schema_version: int
    key: str
    subject_type: str
    title: Localized
    initial: str
    states: Mapping[str, StateSpec]
    transitions: tuple[TransitionSpec, ...]
    applies_to: AppliesTo = field(default_factory=AppliesTo)

    def state(self, name: str) -> StateSpec | None:
        return self.states.get(name)

    def transitions_from(self, state: str) -> list[TransitionSpec]:
        """The transitions that may fire in ``state``, in definition order."""
        return [t for t in self.transitions if state in t.sources]

    def transition(self, state: str, trigger: str) -> TransitionSpec | None:
        """The transition ``trigger`` fires in ``state`` (validation keeps it unique)."""
        return next((t for t in self.transitions_from(state) if t.trigger == trigger), None)
