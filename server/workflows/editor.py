"""The form-based editor: a definition as rows of states and transitions, and back.

The form edits what managers change most (titles, SLAs, final states, who may fire
what, guards); action parameters and anything else stay as they are in the YAML and
are edited in the YAML view. Guards are written compactly in the form, one parameter
each: ``field_filled(inn, legal_name), contract_signed``. The result is YAML text that
goes through the same validation as the YAML view.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from server.workflows.catalogue import COMPACT_PARAM
from server.workflows.upgrades import CURRENT_SCHEMA_VERSION, upgrade
from server.workflows.validation import STATE_KEY_ORDER, TOP_KEY_ORDER
from server.workflows.yaml_source import LocatedDict, load_located

COMPACT_GUARD = re.compile(r"\s*([a-z_]+)\s*(?:\(([^()]*)\))?\s*(?:,|$)")


@dataclass
class StateRow:
    name: str
    original: str
    title_ru: str
    title_en: str
    sla_days: str
    final: bool
    actions: str  # a read-only summary


@dataclass
class TransitionRow:
    trigger: str
    title_ru: str
    title_en: str
    sources: str
    dest: str
    roles: str
    guards: str


@dataclass
class EditorRows:
    title_ru: str
    title_en: str
    initial: str
    states: list[StateRow]
    transitions: list[TransitionRow]


def _plain(value: Any) -> Any:
    """Located containers back to plain ``dict``/``list`` (for dumping)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _text(value: Any, language: str) -> str:
    if isinstance(value, dict):
        return str(value.get(language) or "")
    return "" if value is None else str(value)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def compact_guards(guards: Any) -> str:
    """``[{guard: field_filled, fields: [inn]}, contract_signed]`` → ``field_filled(inn), …``."""
    parts = []
    for guard in guards or []:
        if isinstance(guard, str):
            parts.append(guard)
            continue
        kind = str(guard.get("guard", ""))
        param = COMPACT_PARAM.get(kind)
        values = _as_list(guard.get(param)) if param else []
        parts.append(f"{kind}({', '.join(values)})" if values else kind)
    return ", ".join(parts)


def parse_compact_guards(text: str) -> list[Any]:
    """The inverse of :func:`compact_guards`; unknown names pass through for validation."""
    guards: list[Any] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = COMPACT_GUARD.match(text, position)
        if match is None or match.end() == position:
            guards.append(text[position:].strip())  # validation reports it as unknown
            break
        kind, argument = match.group(1), match.group(2)
        position = match.end()
        param = COMPACT_PARAM.get(kind)
        values = [v.strip() for v in (argument or "").split(",") if v.strip()]
        if not values or param is None:
            guards.append(kind)
        elif param == "step":
            guards.append({"guard": kind, param: values[0]})
        else:
            guards.append({"guard": kind, param: values})
    return guards


def _action_summary(actions: Any) -> str:
    names = []
    for action in actions or []:
        names.append(action if isinstance(action, str) else str(action.get("action", "?")))
    return ", ".join(names)


def rows_from_yaml(text: str) -> EditorRows | None:
    """The form's rows for a definition, or None if the text is not a mapping."""
    try:
        document = load_located(text)
    except ValueError:
        return None
    if not isinstance(document, LocatedDict):
        return None
    document = upgrade(document)
    raw_states = document.get("states")
    states: dict[Any, Any] = raw_states if isinstance(raw_states, dict) else {}
    transitions = document.get("transitions")
    return EditorRows(
        title_ru=_text(document.get("title"), "ru"),
        title_en=_text(document.get("title"), "en"),
        initial=str(document.get("initial") or ""),
        states=[
            StateRow(
                name=str(name),
                original=str(name),
                title_ru=_text((body or {}).get("title"), "ru"),
                title_en=_text((body or {}).get("title"), "en"),
                sla_days="" if (body or {}).get("sla_days") is None else str(body["sla_days"]),
                final=bool((body or {}).get("final")),
                actions=_action_summary((body or {}).get("actions")),
            )
            for name, body in states.items()
        ],
        transitions=[
            TransitionRow(
                trigger=str(item.get("trigger") or ""),
                title_ru=_text(item.get("title"), "ru"),
                title_en=_text(item.get("title"), "en"),
                sources=", ".join(_as_list(item.get("from"))),
                dest=str(item.get("to") or ""),
                roles=", ".join(_as_list(item.get("roles"))),
                guards=compact_guards(item.get("guards")),
            )
            for item in (transitions if isinstance(transitions, list) else [])
            if isinstance(item, dict)
        ],
    )


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _sla(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text  # validation reports a non-number


def yaml_from_rows(original_text: str, rows: EditorRows) -> str:
    """The definition with the form's rows applied; other content of the original kept."""
    try:
        loaded = load_located(original_text)
    except ValueError:
        loaded = None
    document: dict[str, Any] = _plain(upgrade(loaded)) if isinstance(loaded, LocatedDict) else {}
    old_states: Mapping[str, Any] = document.get("states") or {}
    document["schema_version"] = CURRENT_SCHEMA_VERSION
    document["title"] = {"ru": rows.title_ru.strip(), "en": rows.title_en.strip()}
    document["initial"] = rows.initial.strip()
    states: dict[str, Any] = {}
    for row in rows.states:
        body = dict(old_states.get(row.original) or {}) if row.original else {}
        body["title"] = {"ru": row.title_ru.strip(), "en": row.title_en.strip()}
        sla = _sla(row.sla_days)
        if sla is None:
            body.pop("sla_days", None)
        else:
            body["sla_days"] = sla
        if row.final:
            body["final"] = True
        else:
            body.pop("final", None)
        states[row.name.strip()] = {k: body[k] for k in _in_order(body, STATE_KEY_ORDER)}
    document["states"] = states
    transitions = []
    for transition in rows.transitions:
        item: dict[str, Any] = {"trigger": transition.trigger.strip()}
        if transition.title_ru.strip() or transition.title_en.strip():
            item["title"] = {"ru": transition.title_ru.strip(), "en": transition.title_en.strip()}
        sources = _split(transition.sources)
        item["from"] = sources[0] if len(sources) == 1 else sources
        item["to"] = transition.dest.strip()
        item["roles"] = _split(transition.roles)
        guards = parse_compact_guards(transition.guards)
        if guards:
            item["guards"] = guards
        transitions.append(item)
    document["transitions"] = transitions
    ordered = {k: document[k] for k in _in_order(document, TOP_KEY_ORDER)}
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=100)


def _in_order(keys: Iterable[str], order: tuple[str, ...]) -> list[str]:
    """``keys`` in the validator's ``order``; unknown keys last, as they came."""
    return sorted(keys, key=lambda key: order.index(key) if key in order else len(order))


def rows_from_form(form: Mapping[str, str]) -> EditorRows:
    """Rows from the posted editor form; rows with no name/trigger or ticked delete drop."""

    def field(prefix: str, index: int, name: str) -> str:
        return str(form.get(f"{prefix}-{index}-{name}", "") or "")

    states, transitions = [], []
    index = 0
    while f"state-{index}-name" in form:
        if field("state", index, "name").strip() and not field("state", index, "delete"):
            states.append(
                StateRow(
                    name=field("state", index, "name"),
                    original=field("state", index, "original"),
                    title_ru=field("state", index, "title_ru"),
                    title_en=field("state", index, "title_en"),
                    sla_days=field("state", index, "sla_days"),
                    final=bool(field("state", index, "final")),
                    actions="",
                )
            )
        index += 1
    index = 0
    while f"transition-{index}-trigger" in form:
        if field("transition", index, "trigger").strip() and not field(
            "transition", index, "delete"
        ):
            transitions.append(
                TransitionRow(
                    trigger=field("transition", index, "trigger"),
                    title_ru=field("transition", index, "title_ru"),
                    title_en=field("transition", index, "title_en"),
                    sources=field("transition", index, "sources"),
                    dest=field("transition", index, "dest"),
                    roles=field("transition", index, "roles"),
                    guards=field("transition", index, "guards"),
                )
            )
        index += 1
    return EditorRows(
        title_ru=str(form.get("title_ru", "")),
        title_en=str(form.get("title_en", "")),
        initial=str(form.get("initial", "")),
        states=states,
        transitions=transitions,
    )
