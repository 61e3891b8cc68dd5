"""The rule builder's form, generated from a template's parameter schema (pure).

A template's ``params_schema`` becomes a list of :class:`FormField` (number, integer,
text, choice, a repeatable list of numbers, repeatable rows such as tiers). Posted
form values (flat names: ``p.rate``, ``p.tiers.0.from``, ``p.rates.1``,
``scope.regions``) become the rule's ``params`` and ``scope`` mappings, and back, so a
manager never types JSON. Validation stays with the engine: :func:`rule_issues`
checks a candidate rule exactly as :func:`server.rules.program.parse_program` will,
with the template's own Russian and English messages per field.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from server.rules.program import (
    ENROLMENT_LISTS,
    SCOPE_DATES,
    SCOPE_LISTS,
    Enrolment,
    ProgramError,
    Rule,
    parse_program,
)
from server.rules.templates import RuleTemplate, TemplateCatalogue

#: prefix of parameter fields in the posted form
PARAM_PREFIX = "p."
#: prefix of scope fields in the posted form
SCOPE_PREFIX = "scope."
#: rows shown for a repeatable field that has none yet
EMPTY_ROWS = 1
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class FieldKind(str, enum.Enum):
    decimal = "decimal"
    integer = "integer"
    text = "text"
    choice = "choice"
    decimal_list = "decimal_list"
    rows = "rows"


@dataclass(frozen=True)
class FormField:
    """One parameter input. ``columns`` are the sub-fields of a ``rows`` field."""

    name: str
    kind: FieldKind
    required: bool
    choices: tuple[tuple[str, str], ...] = ()
    default: Any = None
    columns: tuple[FormField, ...] = ()


@dataclass(frozen=True)
class FieldIssue:
    """A problem shown next to a field (``field`` is a parameter name, ``scope`` or ``id``)."""

    field: str
    ru: str
    en: str

    def text(self, lang: str) -> str:
        return self.ru if lang == "ru" else self.en


@dataclass
class RuleDraft:
    """A rule as the form holds it: what was typed, before validation."""

    rule_id: str
    template: str
    params: dict[str, Any] = field(default_factory=dict)
    scope: dict[str, Any] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        """The rule as an entry of a program document."""
        entry: dict[str, Any] = {"id": self.rule_id, "template": self.template}
        if self.scope:
            entry["scope"] = self.scope
        entry["params"] = self.params
        return entry


def _kind(schema: Mapping[str, Any]) -> FieldKind:
    if "enum" in schema:
        return FieldKind.choice
    if str(schema.get("format", "")).endswith("decimal"):
        return FieldKind.decimal
    if schema.get("type") == "integer":
        return FieldKind.integer
    if schema.get("type") == "array":
        items = schema.get("items", {})
        return FieldKind.rows if items.get("type") == "object" else FieldKind.decimal_list
    return FieldKind.text


def _field(
    name: str, schema: Mapping[str, Any], required: bool, template: RuleTemplate, lang: str
) -> FormField:
    kind = _kind(schema)
    choices: tuple[tuple[str, str], ...] = ()
    if kind is FieldKind.choice:
        labels = template.value_labels.get(name, {})
        choices = tuple(
            (str(value), labels.get(str(value), {}).get(lang, str(value)))
            for value in schema["enum"]
        )
    columns: tuple[FormField, ...] = ()
    if kind is FieldKind.rows:
        items = schema.get("items", {})
        needed = set(items.get("required", ()))
        columns = tuple(
            _field(sub, sub_schema, sub in needed, template, lang)
            for sub, sub_schema in items.get("properties", {}).items()
        )
    return FormField(name, kind, required, choices, schema.get("default"), columns)


def form_fields(template: RuleTemplate, lang: str = "ru") -> list[FormField]:
    """The inputs of a template's parameters, in the schema's order."""
    schema = template.params_schema
    required = set(schema.get("required", ()))
    return [
        _field(name, sub, name in required, template, lang)
        for name, sub in schema.get("properties", {}).items()
    ]


def _first(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key, "")
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value).strip()


def _list(form: Mapping[str, Any], key: str) -> list[str]:
    value = form.get(key, [])
    values = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for item in values:
        # a text input may hold several values separated by commas
        out.extend(part.strip() for part in str(item).split(",") if part.strip())
    return out


def _indexed(form: Mapping[str, Any], prefix: str) -> list[int]:
    """Row indexes present in the form under ``prefix`` (``p.tiers.`` → 0, 1, …)."""
    found: set[int] = set()
    for key in form:
        if key.startswith(prefix):
            head = key[len(prefix) :].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return sorted(found)


def _scalar(kind: FieldKind, text: str) -> Any:
    if kind is FieldKind.integer and re.fullmatch(r"-?\d+", text):
        return int(text)
    if kind is FieldKind.decimal:
        return text.replace(",", ".").replace(" ", "").replace("\u00a0", "")
    return text


def params_from_form(template: RuleTemplate, form: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters typed into the form; empty inputs and empty rows are left out.

    Values stay as typed (decimals as text, with a decimal comma accepted) so the
    template's schema reports what is wrong with them.
    """
    params: dict[str, Any] = {}
    for spec in form_fields(template):
        key = PARAM_PREFIX + spec.name
        if spec.kind is FieldKind.rows:
            rows = []
            for index in _indexed(form, key + "."):
                row = {
                    column.name: _scalar(column.kind, text)
                    for column in spec.columns
                    if (text := _first(form, f"{key}.{index}.{column.name}"))
                }
                if row:
                    rows.append(row)
            if rows:
                params[spec.name] = rows
        elif spec.kind is FieldKind.decimal_list:
            items = [
                _scalar(FieldKind.decimal, text)
                for index in _indexed(form, key + ".")
                if (text := _first(form, f"{key}.{index}"))
            ]
            if items:
                params[spec.name] = items
        else:
            text = _first(form, key)
            if text:
                params[spec.name] = _scalar(spec.kind, text)
    return params


def scope_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The scope chosen with the pickers; an empty picker means "everything"."""
    scope: dict[str, Any] = {}
    for name in SCOPE_LISTS:
        values = _list(form, SCOPE_PREFIX + name)
        if values:
            scope[name] = list(dict.fromkeys(values))
    for name in SCOPE_DATES:
        text = _first(form, SCOPE_PREFIX + name)
        if text:
            scope[name] = text
    return scope


def draft_from_form(form: Mapping[str, Any], catalogue: TemplateCatalogue) -> RuleDraft:
    """The rule the form describes. Raises ``KeyError`` for an unknown template."""
    template = catalogue[_first(form, "template")]
    return RuleDraft(
        rule_id=_first(form, "rule_id"),
        template=template.key,
        params=params_from_form(template, form),
        scope=scope_from_form(form),
    )


def form_from_rule(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A program document's rule as flat form values (the inverse of :func:`draft_from_form`)."""
    form: dict[str, Any] = {"rule_id": str(entry.get("id", "")), "template": entry["template"]}
    for name, value in (entry.get("params") or {}).items():
        key = PARAM_PREFIX + name
        if isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    for sub, sub_value in item.items():
                        form[f"{key}.{index}.{sub}"] = str(sub_value)
                else:
                    form[f"{key}.{index}"] = str(item)
        else:
            form[key] = str(value)
    for name, value in (entry.get("scope") or {}).items():
        form[SCOPE_PREFIX + name] = (
            [str(v) for v in value] if isinstance(value, list) else str(value)
        )
    return form


def _issue_field(where: str) -> str:
    """``rule 'x'.params.tiers`` → ``tiers``; ``rule 'x'.scope.regions`` → ``scope``."""
    if ".params." in where:
        return where.split(".params.", 1)[1].split(".", 1)[0]
    if ".scope" in where:
        return "scope"
    return "id"


def rule_issues(
    draft: RuleDraft,
    catalogue: TemplateCatalogue,
    *,
    other_rule_ids: Sequence[str] = (),
) -> list[FieldIssue]:
    """Every problem of the rule, per field, in Russian and English; ``[]`` if valid.

    The parameters are checked by the template's schema (its own messages), the whole
    rule by :func:`parse_program`, so what passes here also passes on save and publish.
    """
    issues: list[FieldIssue] = []
    if not _RULE_ID.match(draft.rule_id):
        issues.append(
            FieldIssue(
                "id",
                "Код правила: латинские буквы, цифры, «-», «_», «.»; не длиннее 100 знаков.",
                "The rule id: Latin letters, digits, '-', '_', '.'; up to 100 characters.",
            )
        )
    elif draft.rule_id in other_rule_ids:
        issues.append(
            FieldIssue(
                "id",
                "В версии уже есть правило с таким кодом.",
                "The version already has a rule with this id.",
            )
        )
    template = catalogue[draft.template]
    for problem in template.validate_params(draft.params):
        issues.append(FieldIssue(problem.field, problem.ru, problem.en))
    if _dates_reversed(draft.scope):
        issues.append(
            FieldIssue(
                "scope",
                "«Действует с» позже, чем «Действует по».",
                "'Valid from' is after 'Valid to'.",
            )
        )
    if issues:
        return issues
    try:
        parse_program({"program": "check", "rules": [draft.document()]}, catalogue)
    except ProgramError as error:
        for found in error.issues:
            name = _issue_field(found.where)
            known = template.errors.get(name)
            if known is not None:
                issues.append(FieldIssue(name, known["ru"], known["en"]))
            else:  # scope problems: the engine's own message, in both languages
                issues.append(FieldIssue(name, found.ru or found.message, found.message))
    return issues


def _dates_reversed(scope: Mapping[str, Any]) -> bool:
    """Both scope dates given, readable, and the first after the second."""
    try:
        start = date.fromisoformat(str(scope["valid_from"]))
        end = date.fromisoformat(str(scope["valid_to"]))
    except (KeyError, ValueError):
        return False  # absent, or not a date: parse_program names that
    return start > end


def parsed_rule(draft: RuleDraft, catalogue: TemplateCatalogue) -> Rule:
    """The engine's rule for a valid draft. Raises ``ProgramError`` if it is not."""
    return parse_program({"program": "check", "rules": [draft.document()]}, catalogue).rules[0]


#: the enrolment editor's fields, one multi-valued picker per key of the enrolment
ENROLMENT_PREFIX = "enrolment_"
ENROLMENT_FIELDS = tuple(ENROLMENT_PREFIX + name for name in ENROLMENT_LISTS)


def enrolment_from_form(values: Mapping[str, list[str]]) -> Enrolment:
    """The enrolment editor's pickers as an enrolment: a picker left empty names
    nothing (it does not narrow the selection), and nothing picked at all enrols every
    partner. Values are trimmed, repeats dropped, order kept."""
    named: dict[str, tuple[str, ...]] = {}
    for name in ENROLMENT_LISTS:
        picked = [v.strip() for v in values.get(ENROLMENT_PREFIX + name, []) if v.strip()]
        if picked:
            named[name] = tuple(dict.fromkeys(picked))
    return Enrolment(**named)
