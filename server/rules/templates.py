"""The rule template catalogue: ``rule_templates/*.yaml``, validated on load.

A template file describes one kind of rule: its key, group, titles and plain-words
description in Russian and English, the JSON Schema (draft 2020-12) of its parameters
with human error messages, the event types it reads and what it produces. The
evaluator implements each key in code; the files make the catalogue visible to
managers and partners and validate the parameters managers type in.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError

from server.rules.money import parse_decimal
from server.rules.yaml_loader import load_yaml

#: The repository's catalogue; the app passes ``RULE_TEMPLATES_DIR`` instead.
DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "rule_templates"
SCHEMA_VERSION = 1
LANGS = ("ru", "en")

#: Custom JSON Schema formats: decimals as text or numbers, read without ``float``.
DECIMAL_FORMATS = FormatChecker()


@DECIMAL_FORMATS.checks("non-negative-decimal")
def _non_negative_decimal(instance: object) -> bool:
    number = parse_decimal(instance)
    return number is not None and number >= 0


@DECIMAL_FORMATS.checks("positive-decimal")
def _positive_decimal(instance: object) -> bool:
    number = parse_decimal(instance)
    return number is not None and number > 0


_TEXT = {"type": "string", "minLength": 1}
#: a text in every UI language (``{"ru": …, "en": …}``): template titles and descriptions
LOCALISED_TEXT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": list(LANGS),
    "additionalProperties": False,
    "properties": {lang: _TEXT for lang in LANGS},
}
#: What a template file must look like (checked before anything else).
TEMPLATE_FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "schema_version",
        "key",
        "group",
        "title",
        "description",
        "params_schema",
        "reads",
        "produces",
    ],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "key": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "group": {"enum": ["commission", "bonus", "loyalty", "fraud"]},
        "title": LOCALISED_TEXT_SCHEMA,
        "description": LOCALISED_TEXT_SCHEMA,
        "params_schema": {"type": "object"},
        "errors": {"type": "object", "additionalProperties": LOCALISED_TEXT_SCHEMA},
        "reads": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"enum": ["sale", "refund", "lead", "action", "impressions"]},
        },
        "produces": {"enum": ["commission", "bonus", "override", "points", "reward", "hold"]},
        "value_labels": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": LOCALISED_TEXT_SCHEMA,
            },
        },
        "item_format": {"type": "object", "additionalProperties": LOCALISED_TEXT_SCHEMA},
        "optional_format": {"type": "object", "additionalProperties": LOCALISED_TEXT_SCHEMA},
        "money_params": {"type": "array", "items": {"type": "string"}},
        # a count's noun in each language's plural forms (CLDR categories): «1 балл»,
        # «2 балла», «5 баллов»; the number is written before the word
        "plural_words": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": list(LANGS),
                "additionalProperties": False,
                "properties": {
                    lang: {"type": "object", "additionalProperties": _TEXT} for lang in LANGS
                },
            },
        },
    },
}


def plural_categories(lang: str) -> frozenset[str]:
    """The CLDR plural categories ``lang`` uses (``other`` included)."""
    return Locale.parse(lang).plural_form.tags | {"other"}


class TemplateError(Exception):
    """A template file is missing, unreadable or invalid; the message names file and field."""


@dataclass(frozen=True)
class ParamIssue:
    """One problem with a rule's parameters, in both languages."""

    field: str
    en: str
    ru: str


@dataclass(frozen=True)
class RuleTemplate:
    """One validated template file."""

    key: str
    group: str
    title: Mapping[str, str]
    description: Mapping[str, str]
    params_schema: Mapping[str, Any]
    reads: tuple[str, ...]
    produces: str
    errors: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    value_labels: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    item_format: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    optional_format: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    money_params: tuple[str, ...] = ()
    plural_words: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    source: Path | None = None

    @property
    def param_names(self) -> tuple[str, ...]:
        """The parameter names the schema declares."""
        return tuple(self.params_schema.get("properties", {}))

    def param_default(self, name: str) -> Any:
        """The schema's default for ``name`` (``None`` if it has none)."""
        return self.params_schema.get("properties", {}).get(name, {}).get("default")

    def validate_params(self, params: object) -> list[ParamIssue]:
        """All problems with ``params``; an empty list means they are valid."""
        validator = _validator(self.key, _freeze(self.params_schema))
        issues: list[ParamIssue] = []
        for error in sorted(validator.iter_errors(params), key=lambda e: list(e.path)):
            for name in _fields_of(error, params):
                known = self.errors.get(name)
                if name not in self.param_names and error.validator == "additionalProperties":
                    expected = ", ".join(self.param_names) or "none"
                    en = f"unknown parameter '{name}' (expected: {expected})"
                    ru = f"неизвестный параметр «{name}» (допустимы: {expected})"
                elif error.validator == "required" and not error.path:
                    hint_en = f" {known['en']}" if known else ""
                    hint_ru = f" {known['ru']}" if known else ""
                    en = f"missing parameter '{name}'.{hint_en}"
                    ru = f"не задан параметр «{name}».{hint_ru}"
                elif known:
                    en, ru = known["en"], known["ru"]
                else:
                    en = ru = error.message
                issue = ParamIssue(name, en, ru)
                if issue not in issues:
                    issues.append(issue)
        return issues


def _freeze(value: Any) -> Any:
    """A hashable copy of a JSON-like value, so compiled validators can be cached."""
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("__list__", *(_freeze(v) for v in value))
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple) and value and value[0] == "__list__":
        return [_thaw(v) for v in value[1:]]
    if isinstance(value, tuple):
        return {k: _thaw(v) for k, v in value}
    return value


@cache
def _validator(key: str, frozen_schema: Any) -> Draft202012Validator:
    return Draft202012Validator(_thaw(frozen_schema), format_checker=DECIMAL_FORMATS)


def _fields_of(error: ValidationError, params: object) -> list[str]:
    """The top-level parameter names an error is about."""
    if error.path:
        return [str(error.path[0])]
    if error.validator == "required" and isinstance(params, dict):
        return [name for name in error.validator_value if name not in params] or ["params"]
    if error.validator == "additionalProperties" and isinstance(params, dict):
        allowed = set(error.schema.get("properties", {}))
        return sorted(str(name) for name in params if name not in allowed) or ["params"]
    if error.validator == "not" and isinstance(error.validator_value, dict):
        return list(error.validator_value.get("required", [])) or ["params"]
    return ["params"]


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def parse_template(data: object, source: Path | None = None) -> RuleTemplate:
    """Validate one template document. Raises :class:`TemplateError` naming the field."""
    where = str(source) if source else "<template>"
    if not isinstance(data, dict):
        raise TemplateError(f"{where}: the file must hold a mapping of template fields")
    problems = sorted(
        Draft202012Validator(TEMPLATE_FILE_SCHEMA).iter_errors(data), key=lambda e: list(e.path)
    )
    if problems:
        first = problems[0]
        field_name = ".".join(str(p) for p in first.path) or _fields_of(first, data)[0]
        raise TemplateError(f"{where}: field '{field_name}': {first.message}")
    try:
        Draft202012Validator.check_schema(data["params_schema"])
    except SchemaError as exc:
        path = ".".join(str(p) for p in exc.path)
        raise TemplateError(f"{where}: field 'params_schema.{path}': {exc.message}") from None
    if source is not None and source.stem != data["key"]:
        raise TemplateError(f"{where}: field 'key': '{data['key']}' must match the file name")
    names = set(data["params_schema"].get("properties", {}))
    for lang in LANGS:
        text = data["description"][lang]
        try:
            unknown = _placeholders(text) - names - {"scope"}
        except ValueError as exc:
            raise TemplateError(f"{where}: field 'description.{lang}': {exc}") from None
        if unknown:
            raise TemplateError(
                f"{where}: field 'description.{lang}': unknown placeholder(s) "
                f"{', '.join(sorted(unknown))}"
            )
    for section in ("errors", "value_labels", "item_format", "optional_format", "plural_words"):
        for name in data.get(section, {}):
            if name not in names:
                raise TemplateError(f"{where}: field '{section}.{name}': not a parameter")
    for name, forms in data.get("plural_words", {}).items():
        for lang in LANGS:
            if set(forms[lang]) != plural_categories(lang):
                raise TemplateError(
                    f"{where}: field 'plural_words.{name}.{lang}': needs exactly the forms "
                    f"{', '.join(sorted(plural_categories(lang)))}"
                )
    return RuleTemplate(
        key=data["key"],
        group=data["group"],
        title=dict(data["title"]),
        description=dict(data["description"]),
        params_schema=data["params_schema"],
        reads=tuple(data["reads"]),
        produces=data["produces"],
        errors=data.get("errors", {}),
        value_labels=data.get("value_labels", {}),
        item_format=data.get("item_format", {}),
        optional_format=data.get("optional_format", {}),
        money_params=tuple(data.get("money_params", ())),
        plural_words=data.get("plural_words", {}),
        source=source,
    )


class TemplateCatalogue(Mapping[str, RuleTemplate]):
    """Templates by key, in the order of their file names."""

    def __init__(self, templates: Mapping[str, RuleTemplate]) -> None:
        self._templates = dict(templates)

    def __getitem__(self, key: str) -> RuleTemplate:
        return self._templates[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._templates)

    def title_of(self, key: str, lang: str) -> str:
        """The template's title in ``lang``; the key itself if it left the catalogue."""
        template = self._templates.get(key)
        return template.title[lang] if template is not None else key

    def __len__(self) -> int:
        return len(self._templates)


def load_template_file(path: Path) -> RuleTemplate:
    """Read and validate one file. Raises :class:`TemplateError` naming the file."""
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # yaml.YAMLError and decoding errors
        raise TemplateError(f"{path}: invalid YAML: {exc}") from None
    return parse_template(data, path)


def load_catalogue(directory: Path | str | None = None) -> TemplateCatalogue:
    """Load every ``*.yaml`` in ``directory`` (default: the repository's catalogue).

    Raises :class:`TemplateError` for the first broken file or a duplicate key.
    """
    root = Path(directory) if directory is not None else DEFAULT_TEMPLATES_DIR
    if not root.is_dir():
        raise TemplateError(f"{root}: rule template directory not found")
    templates: dict[str, RuleTemplate] = {}
    for path in sorted(root.glob("*.yaml")):
        template = load_template_file(path)
        if template.key in templates:
            raise TemplateError(f"{path}: field 'key': duplicate template key '{template.key}'")
        templates[template.key] = template
    return TemplateCatalogue(templates)


@cache
def default_catalogue() -> TemplateCatalogue:
    """The repository's catalogue, loaded once per process."""
    return load_catalogue(DEFAULT_TEMPLATES_DIR)
