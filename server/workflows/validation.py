"""Parse and validate a workflow definition (YAML text) into a :class:`WorkflowSpec`.

Every problem is collected, not just the first: unknown keys, states, guards, actions
and roles, unreachable states, states with no way out that are not final, repeated
triggers and bad parameters. Each :class:`DefinitionIssue` names the file, the state
(when there is one) and the line.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from server.partners.models import PartnerKind
from server.security.roles import Role
from server.workflows.catalogue import ACTIONS, GUARDS, SUBJECT_FIELDS, ParamKind, Vocabulary
from server.workflows.spec import (
    SUBJECT_TYPES,
    ActionSpec,
    AppliesTo,
    GuardSpec,
    Localized,
    StateSpec,
    TransitionSpec,
    WorkflowSpec,
)
from server.workflows.upgrades import CURRENT_SCHEMA_VERSION, UPGRADES, upgrade
from server.workflows.yaml_source import LocatedDict, LocatedList, YamlSyntaxError, load_located

#: keys, state names and triggers: lower-case letters, digits, ``_`` and ``-``
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")
#: a definition's keys, in the order the editor writes them
TOP_KEY_ORDER = (
    "schema_version",
    "key",
    "subject_type",
    "title",
    "description",
    "applies_to",
    "initial",
    "states",
    "transitions",
)
TOP_KEYS = frozenset(TOP_KEY_ORDER)
STATE_KEY_ORDER = ("title", "description", "sla_days", "final", "actions")
STATE_KEYS = frozenset(STATE_KEY_ORDER)
TRANSITION_KEYS = frozenset({"trigger", "from", "to", "roles", "guards", "title"})
ROLE_NAMES = frozenset(role.value for role in Role)


@dataclass(frozen=True)
class DefinitionIssue:
    """One problem in a definition: where it is and what is wrong."""

    file: str
    line: int
    state: str | None
    message: Any  # a lazy string: rendered in the reader's language

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        if self.state:
            return str(
                _l(
                    "%(where)s: state %(state)s: %(message)s",
                    where=where,
                    state=self.state,
                    message=self.message,
                )
            )
        return f"{where}: {self.message}"


class DefinitionInvalid(ValueError):
    """The definition has problems; :attr:`issues` lists every one."""

    def __init__(self, issues: list[DefinitionIssue]) -> None:
        super().__init__("\n".join(str(issue) for issue in issues))
        self.issues = issues


class _Checker:
    """Collects issues while building a spec from a located document."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[DefinitionIssue] = []

    def issue(self, line: int, message: Any, state: str | None = None) -> None:
        self.issues.append(DefinitionIssue(self.file, line, state, message))

    # -- small readers -----------------------------------------------------------

    def localized(self, value: Any, line: int, what: str, state: str | None) -> Localized:
        if isinstance(value, str) and value.strip():
            self.issue(line, _l("%(what)s needs both ru and en texts", what=what), state)
            return Localized(value, value)
        if not isinstance(value, dict):
            self.issue(line, _l("%(what)s must be a mapping with ru and en", what=what), state)
            return Localized("", "")
        texts = {}
        for language in ("ru", "en"):
            text = value.get(language)
            if not isinstance(text, str) or not text.strip():
                self.issue(
                    line,
                    _l("%(what)s has no %(language)s text", what=what, language=language),
                    state,
                )
                text = ""
            texts[language] = text.strip()
        return Localized(texts["ru"], texts["en"])

    def names(self, value: Any, line: int, what: str, state: str | None) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.issue(line, _l("%(what)s must be a list of names", what=what), state)
            return ()
        return tuple(value)

    def unknown_keys(self, mapping: LocatedDict, allowed: Iterable[str], state: str | None) -> None:
        for key in mapping:
            if key not in allowed:
                self.issue(mapping.line_of(key), _l("unknown key %(key)s", key=key), state)

    # -- guards and actions ------------------------------------------------------

    def vocabulary_item(
        self,
        item: Any,
        line: int,
        catalogue: dict[str, Vocabulary],
        tag: str,
        subject_type: str,
        state: str | None,
    ) -> tuple[str, dict[str, Any]] | None:
        """``(kind, params)`` of a guard/action written as a name or a mapping."""
        if isinstance(item, str):
            kind, raw, item_line = item, LocatedDict(), line
            raw.line, raw.key_lines, raw.duplicate_keys = line, {}, []
        elif isinstance(item, LocatedDict) and isinstance(item.get(tag), str):
            kind, item_line = item[tag], item.line_of(tag)
            raw = item
        else:
            self.issue(
                line,
                _l("write a %(tag)s as its name or a mapping with %(tag)s: name", tag=tag),
                state,
            )
            return None
        vocabulary = catalogue.get(kind)
        if vocabulary is None:
            message = (
                _l("unknown guard %(kind)s", kind=kind)
                if tag == "guard"
                else _l("unknown action %(kind)s", kind=kind)
            )
            self.issue(item_line, message, state)
            return None
        if subject_type in SUBJECT_TYPES and subject_type not in vocabulary.subjects:
            self.issue(
                item_line,
                _l("%(kind)s does not apply to a %(subject)s", kind=kind, subject=subject_type),
                state,
            )
        params: dict[str, Any] = {}
        for name, value in raw.items():
            if name == tag:
                continue
            param = vocabulary.param(name)
            where = raw.line_of(name)
            if param is None:
                self.issue(
                    where, _l("%(kind)s takes no parameter %(name)s", kind=kind, name=name), state
                )
                continue
            params[name] = self.param_value(param.kind, param.choices, value, where, name, state)
        for param in vocabulary.params:
            if param.required and param.name not in params:
                self.issue(
                    item_line, _l("%(kind)s needs %(name)s", kind=kind, name=param.name), state
                )
        if kind == "field_filled" and subject_type in SUBJECT_FIELDS:
            for name in params.get("fields", ()):
                if name not in SUBJECT_FIELDS[subject_type]:
                    self.issue(item_line, _l("unknown field %(name)s", name=name), state)
        return kind, params

    def param_value(
        self,
        kind: ParamKind,
        choices: tuple[str, ...],
        value: Any,
        line: int,
        name: str,
        state: str | None,
    ) -> Any:
        if kind is ParamKind.names:
            values = self.names(value, line, name, state)
            for item in values:
                if choices and item not in choices:
                    self.issue(
                        line,
                        _l(
                            "%(name)s: %(value)s is not one of %(choices)s",
                            name=name,
                            value=item,
                            choices=", ".join(choices),
                        ),
                        state,
                    )
            return list(values)
        if kind is ParamKind.localized:
            text = self.localized(value, line, name, state)
            return {"ru": text.ru, "en": text.en}
        if not isinstance(value, str) or not value.strip():
            self.issue(line, _l("%(name)s must be a text", name=name), state)
            return ""
        if kind is ParamKind.choice and value not in choices:
            self.issue(
                line,
                _l(
                    "%(name)s: %(value)s is not one of %(choices)s",
                    name=name,
                    value=value,
                    choices=", ".join(choices),
                ),
                state,
            )
        return value.strip()


def _duplicates(value: Any, checker: _Checker, state: str | None = None) -> None:
    """Report keys written twice anywhere (YAML would silently keep only the last)."""
    if isinstance(value, LocatedDict):
        for key, line in value.duplicate_keys:
            checker.issue(line, _l("%(key)s is written twice", key=key), state)
        for item in value.values():
            _duplicates(item, checker, state)
    elif isinstance(value, list):
        for item in value:
            _duplicates(item, checker, state)


def _all_duplicates(document: LocatedDict, checker: _Checker) -> None:
    states = document.get("states")
    for key, value in document.items():
        if key == "states" and isinstance(states, LocatedDict):
            for line_key, line in states.duplicate_keys:
                checker.issue(line, _l("%(key)s is written twice", key=line_key), str(line_key))
            for name, body in states.items():
                _duplicates(body, checker, str(name))
        else:
            _duplicates(value, checker)
    for key, line in document.duplicate_keys:
        checker.issue(line, _l("%(key)s is written twice", key=key))


def check_definition(text: str, file: str) -> tuple[WorkflowSpec | None, list[DefinitionIssue]]:
    """Parse ``text`` (named ``file`` in messages); the spec is None when there are issues."""
    checker = _Checker(file)
    try:
        document = load_located(text)
    except YamlSyntaxError as error:
        checker.issue(error.line, _l("not valid YAML: %(problem)s", problem=str(error)))
        return None, checker.issues
    if not isinstance(document, LocatedDict):
        checker.issue(1, _l("a definition is a mapping with schema_version, key, states, …"))
        return None, checker.issues
    version = document.get("schema_version")
    if version != CURRENT_SCHEMA_VERSION and version not in UPGRADES:
        checker.issue(
            document.line_of("schema_version"),
            _l(
                "schema_version must be one of %(versions)s",
                versions=", ".join(map(str, [*UPGRADES, CURRENT_SCHEMA_VERSION])),
            ),
        )
        return None, checker.issues
    document = upgrade(document)
    _all_duplicates(document, checker)
    spec = _build(document, checker)
    return (spec if not checker.issues else None), checker.issues


def parse_definition(text: str, file: str) -> WorkflowSpec:
    """The spec of a definition.

    Raises:
        DefinitionInvalid: the definition has problems (all of them are listed).
    """
    spec, issues = check_definition(text, file)
    if spec is None:
        raise DefinitionInvalid(issues)
    return spec


def _build(document: LocatedDict, checker: _Checker) -> WorkflowSpec:
    checker.unknown_keys(document, TOP_KEYS, None)
    key = document.get("key")
    if not isinstance(key, str) or not NAME.match(key):
        checker.issue(document.line_of("key"), _l("key must be a lower-case name"))
        key = ""
    subject_type = document.get("subject_type")
    if subject_type not in SUBJECT_TYPES:
        checker.issue(
            document.line_of("subject_type"),
            _l("subject_type must be one of %(choices)s", choices=", ".join(SUBJECT_TYPES)),
        )
        subject_type = ""
    title = checker.localized(document.get("title"), document.line_of("title"), "title", None)
    applies_to = _applies_to(document.get("applies_to"), document.line_of("applies_to"), checker)

    raw_states = document.get("states")
    if not isinstance(raw_states, LocatedDict) or not raw_states:
        checker.issue(document.line_of("states"), _l("states must be a mapping of states"))
        raw_states = LocatedDict()
        raw_states.line, raw_states.key_lines, raw_states.duplicate_keys = 0, {}, []
    states = {
        name: _state(name, body, raw_states.line_of(name), subject_type, checker)
        for name, body in raw_states.items()
    }
    initial = document.get("initial")
    if not isinstance(initial, str) or initial not in states:
        checker.issue(
            document.line_of("initial"), _l("initial names unknown state %(state)s", state=initial)
        )
        initial = ""

    raw_transitions = document.get("transitions")
    transitions: list[TransitionSpec] = []
    if not isinstance(raw_transitions, LocatedList):
        checker.issue(document.line_of("transitions"), _l("transitions must be a list"))
    else:
        for index, item in enumerate(raw_transitions):
            built = _transition(item, raw_transitions.line_of(index), states, subject_type, checker)
            if built is not None:
                transitions.append(built)
    _graph_checks(states, transitions, initial, checker)
    return WorkflowSpec(
        schema_version=CURRENT_SCHEMA_VERSION,
        key=key,
        subject_type=subject_type,
        title=title,
        initial=initial,
        states=states,
        transitions=tuple(transitions),
        applies_to=applies_to,
    )


def _applies_to(value: Any, line: int, checker: _Checker) -> AppliesTo:
    if value is None:
        return AppliesTo()
    if not isinstance(value, LocatedDict):
        checker.issue(line, _l("applies_to must be a mapping"))
        return AppliesTo()
    checker.unknown_keys(value, ("partner_kinds", "regions"), None)
    kinds = checker.names(
        value.get("partner_kinds", []), value.line_of("partner_kinds"), "partner_kinds", None
    )
    known = {kind.value for kind in PartnerKind}
    for kind in kinds:
        if kind not in known:
            checker.issue(
                value.line_of("partner_kinds"), _l("unknown partner kind %(kind)s", kind=kind)
            )
    regions = checker.names(value.get("regions", []), value.line_of("regions"), "regions", None)
    return AppliesTo(kinds, regions)


def _state(name: Any, body: Any, line: int, subject_type: str, checker: _Checker) -> StateSpec:
    label = str(name)
    if not isinstance(name, str) or not NAME.match(name):
        checker.issue(line, _l("a state name must be a lower-case name"), label)
    if not isinstance(body, LocatedDict):
        checker.issue(line, _l("a state is a mapping with at least a title"), label)
        return StateSpec(label, Localized(label, label), None, False, (), line)
    checker.unknown_keys(body, STATE_KEYS, label)
    title = checker.localized(body.get("title"), body.line_of("title"), "title", label)
    sla = body.get("sla_days")
    if sla is not None and (isinstance(sla, bool) or not isinstance(sla, int) or sla < 0):
        checker.issue(
            body.line_of("sla_days"), _l("sla_days must be a whole number of days"), label
        )
        sla = None
    final = body.get("final", False)
    if not isinstance(final, bool):
        checker.issue(body.line_of("final"), _l("final must be true or false"), label)
        final = False
    actions: list[ActionSpec] = []
    raw_actions = body.get("actions", [])
    if raw_actions is None:
        raw_actions = []
    if not isinstance(raw_actions, list):
        checker.issue(body.line_of("actions"), _l("actions must be a list"), label)
        raw_actions = []
    for index, item in enumerate(raw_actions):
        item_line = (
            raw_actions.line_of(index)
            if isinstance(raw_actions, LocatedList)
            else body.line_of("actions")
        )
        built = checker.vocabulary_item(item, item_line, ACTIONS, "action", subject_type, label)
        if built is not None:
            actions.append(ActionSpec(built[0], built[1], item_line))
    return StateSpec(label, title, sla, final, tuple(actions), line)


def _transition(
    item: Any, line: int, states: dict[str, StateSpec], subject_type: str, checker: _Checker
) -> TransitionSpec | None:
    if not isinstance(item, LocatedDict):
        checker.issue(line, _l("a transition is a mapping with trigger, from and to"))
        return None
    raw_sources = item.get("from")
    sources = checker.names(raw_sources, item.line_of("from"), "from", None)
    state = sources[0] if sources else None
    checker.unknown_keys(item, TRANSITION_KEYS, state)
    trigger = item.get("trigger")
    if not isinstance(trigger, str) or not NAME.match(trigger):
        checker.issue(item.line_of("trigger"), _l("trigger must be a lower-case name"), state)
        trigger = ""
    for source in sources:
        if source not in states:
            checker.issue(
                item.line_of("from"),
                _l(
                    "transition %(trigger)s comes from unknown state %(state)s",
                    trigger=trigger,
                    state=source,
                ),
                source,
            )
    dest = item.get("to")
    if not isinstance(dest, str) or dest not in states:
        checker.issue(
            item.line_of("to"),
            _l(
                "transition %(trigger)s goes to unknown state %(state)s",
                trigger=trigger,
                state=dest,
            ),
            state,
        )
        dest = ""
    roles = checker.names(item.get("roles"), item.line_of("roles"), "roles", state)
    if not roles:
        checker.issue(
            item.line_of("roles"),
            _l("transition %(trigger)s names no role that may fire it", trigger=trigger),
            state,
        )
    for role in roles:
        if role not in ROLE_NAMES:
            checker.issue(
                item.line_of("roles"),
                _l(
                    "unknown role %(role)s (roles: %(roles)s)",
                    role=role,
                    roles=", ".join(sorted(ROLE_NAMES)),
                ),
                state,
            )
    guards: list[GuardSpec] = []
    raw_guards = item.get("guards") or []
    if not isinstance(raw_guards, list):
        checker.issue(item.line_of("guards"), _l("guards must be a list"), state)
        raw_guards = []
    for index, guard in enumerate(raw_guards):
        guard_line = (
            raw_guards.line_of(index)
            if isinstance(raw_guards, LocatedList)
            else item.line_of("guards")
        )
        built = checker.vocabulary_item(guard, guard_line, GUARDS, "guard", subject_type, state)
        if built is not None:
            guards.append(GuardSpec(built[0], built[1], guard_line))
    raw_title = item.get("title")
    title = (
        checker.localized(raw_title, item.line_of("title"), "title", state)
        if raw_title is not None
        else Localized(trigger, trigger)
    )
    return TransitionSpec(trigger, sources, dest, roles, tuple(guards), title, line)


def _graph_checks(
    states: dict[str, StateSpec],
    transitions: list[TransitionSpec],
    initial: str,
    checker: _Checker,
) -> None:
    seen: dict[tuple[str, str], int] = {}
    for transition in transitions:
        for source in transition.sources:
            pair = (source, transition.trigger)
            if pair in seen:
                checker.issue(
                    transition.line,
                    _l(
                        "trigger %(trigger)s is defined twice from this state (first on line "
                        "%(line)s)",
                        trigger=transition.trigger,
                        line=seen[pair],
                    ),
                    source,
                )
            else:
                seen[pair] = transition.line
            if source in states and states[source].final:
                checker.issue(
                    transition.line,
                    _l(
                        "a final state has transition %(trigger)s: it could never fire",
                        trigger=transition.trigger,
                    ),
                    source,
                )
    outgoing: dict[str, set[str]] = {name: set() for name in states}
    for transition in transitions:
        for source in transition.sources:
            if source in outgoing and transition.dest in states:
                outgoing[source].add(transition.dest)
    for name, state in states.items():
        if not state.final and not outgoing[name]:
            checker.issue(
                state.line, _l("no transition leaves this state and it is not final"), name
            )
    if initial not in states:
        return
    reached = {initial}
    queue = deque([initial])
    while queue:
        for dest in outgoing[queue.popleft()]:
            if dest not in reached:
                reached.add(dest)
                queue.append(dest)
    for name, state in states.items():
        if name not in reached:
            checker.issue(
                state.line,
                _l("unreachable: no path from the initial state %(initial)s", initial=initial),
                name,
            )
