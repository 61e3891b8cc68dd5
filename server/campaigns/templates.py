"""Campaign templates: ``rule_templates/campaigns/<kind>.yaml``, validated on import.

One file per :class:`~server.campaigns.models.CampaignKind` says what composing a
campaign of that kind creates: the default rate of its ``campaign_bonus`` rule, the
rule's channel scope, whether the campaign needs a place, issues promo codes to the
chosen partners or restricts the bonus to them, and the title and plain-words
description (Russian and English) the compose form shows.

Validation uses the project's two existing tools: located YAML
(:mod:`server.workflows.yaml_source`, as workflow definitions: every key knows its line,
a key written twice is caught) and a JSON Schema checked with the rule templates'
decimal formats (:data:`server.rules.templates.DECIMAL_FORMATS`). Every problem of a
file is reported, each as ``<file>:<line>: field '<name>': <what is wrong>``. The
catalogue must hold exactly one template per kind.

:data:`CAMPAIGN_TEMPLATES` is loaded when this module is imported, so a broken file
stops the web server, the workers and the CLI at start-up with that message.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from server.campaigns.models import CampaignKind
from server.rules.events import Channel
from server.rules.money import parse_decimal
from server.rules.templates import (
    DECIMAL_FORMATS,
    DEFAULT_TEMPLATES_DIR,
    LANGS,
    LOCALISED_TEXT_SCHEMA,
    TemplateError,
)
from server.workflows.yaml_source import LocatedDict, LocatedList, YamlSyntaxError, load_located

#: The repository's campaign templates: a folder of the rule template catalogue (each
#: campaign composes a ``campaign_bonus`` rule); the rule catalogue reads only the
#: top level, so these files never mix with rule templates.
DEFAULT_CAMPAIGN_TEMPLATES_DIR = DEFAULT_TEMPLATES_DIR / "campaigns"
SCHEMA_VERSION = 1
#: the only placeholder a description may use: the template's default rate
DESCRIPTION_PLACEHOLDERS = frozenset({"rate"})

#: What a campaign template file must look like.
CAMPAIGN_FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "schema_version",
        "kind",
        "title",
        "description",
        "default_rate",
        "channels",
        "needs_place",
        "issues_promo_codes",
        "partners_in_scope",
    ],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "kind": {"enum": [kind.value for kind in CampaignKind]},
        "title": LOCALISED_TEXT_SCHEMA,
        "description": LOCALISED_TEXT_SCHEMA,
        "default_rate": {"type": ["string", "integer"], "format": "non-negative-decimal"},
        "channels": {
            "type": "array",
            "uniqueItems": True,
            "items": {"enum": [channel.value for channel in Channel]},
        },
        "needs_place": {"type": "boolean"},
        "issues_promo_codes": {"type": "boolean"},
        "partners_in_scope": {"type": "boolean"},
    },
}
_VALIDATOR = Draft202012Validator(CAMPAIGN_FILE_SCHEMA, format_checker=DECIMAL_FORMATS)
_TYPE_WORDS = {
    "boolean": "true or false",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "array": "a list",
    "object": "a mapping",
}
_FORMAT_WORDS = {
    "non-negative-decimal": "a decimal number of 0 or more",
    "positive-decimal": "a decimal number above 0",
}
#: how to write a field right, added to its messages
_HINTS = {"default_rate": 'write the rate in % as decimal text, e.g. "2.5"'}


class CampaignTemplateError(TemplateError):
    """Campaign template files are missing or invalid; :attr:`issues` lists every
    problem as ``<file>:<line>: field '<name>': <what is wrong>``."""

    def __init__(self, issues: list[str]) -> None:
        super().__init__("\n".join(issues))
        self.issues = issues


@dataclass(frozen=True)
class CampaignTemplate:
    """Defaults and requirements of a campaign kind (one validated file).

    ``channels`` is the bonus rule's default channel scope (empty: every channel);
    ``needs_place`` asks for a place (an exhibition, a joint event);
    ``issues_promo_codes`` gives each chosen partner a promo code linked to the
    campaign; ``partners_in_scope`` restricts the bonus to the chosen partners (the
    co-factors taking part in an offline event).
    """

    kind: CampaignKind
    default_rate: Decimal
    channels: tuple[str, ...]
    needs_place: bool
    issues_promo_codes: bool
    partners_in_scope: bool
    title: Mapping[str, str]
    description: Mapping[str, str]
    source: Path | None = None

    def title_in(self, lang: str) -> str:
        """The title in ``lang`` (Russian for a language without one)."""
        return self.title[lang if lang in LANGS else LANGS[0]]

    def describe(self, lang: str) -> str:
        """The plain-words description in ``lang``, the default rate written for it."""
        lang = lang if lang in LANGS else LANGS[0]
        return self.description[lang].format(rate=format_decimal(self.default_rate, locale=lang))


def _line_of(document: Any, path: list[Any]) -> int:
    """The line of the value at ``path`` (of its key), else of the nearest parent."""
    line = document.line if isinstance(document, LocatedDict | LocatedList) else 1
    node = document
    for part in path:
        in_mapping = isinstance(node, LocatedDict) and part in node
        in_list = isinstance(node, LocatedList) and isinstance(part, int) and part < len(node)
        if not (in_mapping or in_list):
            break
        line, node = node.line_of(part), node[part]
    return line or 1


def _field(path: list[Any]) -> str:
    return ".".join(str(part) for part in path) or "(file)"


def _shown(value: Any) -> str:
    return "nothing" if value is None else repr(value)


def _with_hint(path: list[Any], message: str) -> str:
    hint = _HINTS.get(str(path[0])) if path else None
    return f"{message} ({hint})" if hint else message


def _schema_problems(error: ValidationError) -> list[tuple[list[Any], str]]:
    """``(path, message)`` for one schema error: a mistake a person can fix."""
    path = list(error.absolute_path)
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        return [
            (
                [*path, key],
                f"unknown key '{key}' (expected: {', '.join(allowed)})",
            )
            for key in instance
            if key not in allowed
        ]
    if error.validator == "required" and isinstance(instance, dict):
        return [
            ([*path, name], "is missing") for name in error.validator_value if name not in instance
        ]
    if error.validator == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else list(expected)
        words = " or ".join(_TYPE_WORDS.get(name, name) for name in names)
        return [(path, _with_hint(path, f"must be {words}, not {_shown(instance)}"))]
    if error.validator == "format":
        what = _FORMAT_WORDS.get(error.validator_value, error.validator_value)
        return [(path, _with_hint(path, f"must be {what}, not {_shown(instance)}"))]
    if error.validator == "enum" and path == ["kind"]:
        kinds = ", ".join(kind.value for kind in CampaignKind)
        return [(path, f"unknown campaign kind {_shown(instance)} (kinds: {kinds})")]
    if error.validator == "enum":
        choices = ", ".join(str(choice) for choice in error.validator_value)
        return [(path, f"{_shown(instance)} is not one of {choices}")]
    if error.validator == "const":
        return [(path, f"must be {error.validator_value}, not {_shown(instance)}")]
    if error.validator == "minLength":
        return [(path, "must not be empty")]
    if error.validator == "uniqueItems":
        return [(path, "lists a value twice")]
    return [(path, error.message)]


def _duplicate_keys(value: Any, path: list[Any]) -> list[tuple[list[Any], int]]:
    """Keys written twice anywhere (YAML would silently keep only the last one)."""
    found: list[tuple[list[Any], int]] = []
    if isinstance(value, LocatedDict):
        found += [([*path, key], line) for key, line in value.duplicate_keys]
        for key, item in value.items():
            found += _duplicate_keys(item, [*path, key])
    elif isinstance(value, LocatedList):
        for index, item in enumerate(value):
            found += _duplicate_keys(item, [*path, index])
    return found


def _description_problems(document: LocatedDict) -> list[tuple[list[Any], str]]:
    problems: list[tuple[list[Any], str]] = []
    description = document.get("description")
    if not isinstance(description, dict):
        return problems
    for lang in LANGS:
        text = description.get(lang)
        if not isinstance(text, str):
            continue
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as error:
            problems.append((["description", lang], f"{error} (write a brace as {{{{ or }}}})"))
            continue
        unknown = sorted(names - DESCRIPTION_PLACEHOLDERS)
        if unknown:
            problems.append(
                (
                    ["description", lang],
                    f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)} "
                    f"(a description may use {{rate}})",
                )
            )
    return problems


def parse_campaign_template(text: str, source: Path) -> CampaignTemplate:
    """Validate one template file's text (``source`` names it in messages).

    Raises:
        CampaignTemplateError: every problem of the file, each with its line.
    """
    where = str(source)
    try:
        document = load_located(text)
    except YamlSyntaxError as bad:
        raise CampaignTemplateError([f"{where}:{bad.line or 1}: invalid YAML: {bad}"]) from None
    if not isinstance(document, LocatedDict):
        raise CampaignTemplateError(
            [f"{where}:1: the file must hold a mapping of campaign template fields"]
        )
    located: list[tuple[int, str]] = [
        (line, f"field '{_field(path)}': written twice (YAML keeps only the last one)")
        for path, line in _duplicate_keys(document, [])
    ]
    errors = list(_VALIDATOR.iter_errors(document))
    # one message per field: "must be text" says enough, a format error on top is noise
    mistyped = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    problems: list[tuple[list[Any], str]] = []
    for error in errors:
        if error.validator != "format" or tuple(error.absolute_path) not in mistyped:
            problems += _schema_problems(error)
    if not problems:
        problems += _description_problems(document)
        kind = document["kind"]
        if kind != source.stem:
            problems.append((["kind"], f"'{kind}' must match the file name ({source.name})"))
    located += [(_line_of(document, path), f"field '{_field(path)}': {m}") for path, m in problems]
    if located:
        unique = sorted(set(located))
        raise CampaignTemplateError([f"{where}:{line}: {message}" for line, message in unique])
    return CampaignTemplate(
        kind=CampaignKind(document["kind"]),
        default_rate=_rate(document["default_rate"]),
        channels=tuple(document["channels"]),
        needs_place=document["needs_place"],
        issues_promo_codes=document["issues_promo_codes"],
        partners_in_scope=document["partners_in_scope"],
        title={lang: document["title"][lang] for lang in LANGS},
        description={lang: document["description"][lang] for lang in LANGS},
        source=source,
    )


def _rate(value: object) -> Decimal:
    number = parse_decimal(value)
    assert number is not None  # the schema's format checked it
    return number


def load_campaign_template_file(path: Path) -> CampaignTemplate:
    """Read and validate one file. Raises :class:`CampaignTemplateError` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise CampaignTemplateError([f"{path}: cannot read: {reason or error}"]) from None
    return parse_campaign_template(text, path)


def load_campaign_templates(
    directory: Path | str | None = None,
) -> dict[CampaignKind, CampaignTemplate]:
    """Every ``*.yaml`` of ``directory`` (default: the repository's), one per kind.

    Raises:
        CampaignTemplateError: the folder is missing, a file is invalid (every problem
            of every file is listed), or a kind has no template.
    """
    root = Path(directory) if directory is not None else DEFAULT_CAMPAIGN_TEMPLATES_DIR
    if not root.is_dir():
        raise CampaignTemplateError([f"{root}: campaign template folder not found"])
    templates: dict[CampaignKind, CampaignTemplate] = {}
    issues: list[str] = []
    for path in sorted(root.glob("*.yaml")):
        try:
            template = load_campaign_template_file(path)
        except CampaignTemplateError as error:
            issues += error.issues
            continue
        templates[template.kind] = template  # the file name is the kind: no duplicates
    missing = [kind.value for kind in CampaignKind if kind not in templates]
    if missing and not issues:
        issues.append(
            f"{root}: no template for campaign kind(s) {', '.join(missing)} "
            f"(add {', '.join(name + '.yaml' for name in missing)})"
        )
    if issues:
        raise CampaignTemplateError(issues)
    return {kind: templates[kind] for kind in CampaignKind}


#: The repository's templates, by kind (loaded, and validated, on import).
CAMPAIGN_TEMPLATES: Mapping[CampaignKind, CampaignTemplate] = load_campaign_templates()
