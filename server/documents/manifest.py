"""The seed templates in ``contract_templates/``: manifests, variables, validated on load.

Layout::

    contract_templates/
      variables.yaml               the data each template kind receives (schema_version)
      assets/fonts/…               fonts the PDFs embed (served by the URL fetcher)
      <template key>/
        manifest.yaml              schema_version, key, kind, languages, variables, files
        body.<language>.html       Jinja2 body per language (rendered in the sandbox)
        style.css                  print CSS shared by the languages
        sample.yaml                example data, used by the preview and the tests

Loading checks the manifest against its schema, that every file exists, that the
manifest's variables are known for its kind, that every body compiles in the sandbox
and uses only the manifest's variables, and that the sample renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from server.documents.models import TemplateKind
from server.documents.sandbox import TemplateValidationError, validate_source
from server.partners.models import PartnerKind

#: the manifest and variables format this code reads
SCHEMA_VERSION = 1
LANGUAGES = ("ru", "en")

_TEXT = {"type": "string", "minLength": 1}
_BILINGUAL = {
    "type": "object",
    "required": list(LANGUAGES),
    "properties": {language: _TEXT for language in LANGUAGES},
    "additionalProperties": False,
}

MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "key", "kind", "title", "languages", "variables", "body"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "key": {"type": "string", "pattern": "^[a-z][a-z0-9_]{1,60}$"},
        "kind": {"enum": [kind.value for kind in TemplateKind]},
        "title": _BILINGUAL,
        "description": _BILINGUAL,
        "languages": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"enum": list(LANGUAGES)},
        },
        "region_code": {"type": ["string", "null"], "pattern": "^[A-Z0-9]{1,16}$"},
        "partner_kind": {"enum": [None, *[kind.value for kind in PartnerKind]]},
        "variables": {"type": "array", "minItems": 1, "uniqueItems": True, "items": _TEXT},
        "body": {
            "type": "object",
            "additionalProperties": False,
            "properties": {language: _TEXT for language in LANGUAGES},
        },
        "css": _TEXT,
        "sample": _TEXT,
    },
}

VARIABLES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "kinds"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "kinds": {
            "type": "object",
            "required": [kind.value for kind in TemplateKind],
            "additionalProperties": False,
            "properties": {
                kind.value: {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"pattern": "^[a-z_]+(\\.[a-z_]+)*$"},
                    "additionalProperties": _BILINGUAL,
                }
                for kind in TemplateKind
            },
        },
    },
}


class ManifestError(Exception):
    """A file in ``contract_templates/`` is invalid; the message names file and field."""


@dataclass(frozen=True)
class TemplateFiles:
    """A validated seed template: one entry per language, sharing the CSS."""

    key: str
    kind: TemplateKind
    title: Mapping[str, str]
    languages: tuple[str, ...]
    region_code: str | None
    partner_kind: str | None
    variables: tuple[str, ...]
    bodies: Mapping[str, str]
    css: str
    sample: Mapping[str, Any]
    directory: Path

    def stored_key(self, language: str) -> str:
        """The ``ContractTemplate.key`` of this template in ``language``."""
        return stored_key(self.key, language)


def stored_key(key: str, language: str) -> str:
    """``partner_agreement`` in ``ru`` is stored as ``partner_agreement.ru``."""
    return f"{key}.{language}"


@dataclass(frozen=True)
class VariableCatalogue:
    """What each template kind may use: dotted path → description per language."""

    kinds: Mapping[TemplateKind, Mapping[str, Mapping[str, str]]]

    def names(self, kind: TemplateKind) -> tuple[str, ...]:
        return tuple(self.kinds[kind])

    def described(self, kind: TemplateKind, language: str) -> list[tuple[str, str]]:
        """(name, description) pairs for the editor's panel."""
        lang = language if language in LANGUAGES else "en"
        return [(name, text[lang]) for name, text in self.kinds[kind].items()]


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ManifestError(f"{path}: cannot read: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise ManifestError(f"{path}: invalid YAML: {error}") from None


def _check(schema: Mapping[str, Any], data: Any, path: Path) -> None:
    errors = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = ".".join(str(part) for part in first.path) or "(document)"
        raise ManifestError(f"{path}: field '{where}': {first.message}")


def load_variables(directory: Path | str) -> VariableCatalogue:
    """Load and validate ``variables.yaml``.

    Raises:
        ManifestError: the file is missing or does not match its schema.
    """
    path = Path(directory) / "variables.yaml"
    data = _read_yaml(path)
    _check(VARIABLES_SCHEMA, data, path)
    return VariableCatalogue(
        {TemplateKind(kind): dict(names) for kind, names in data["kinds"].items()}
    )


def _read_text(directory: Path, name: str, manifest: Path) -> str:
    path = (directory / name).resolve()
    if not path.is_relative_to(directory.resolve()) or not path.is_file():
        raise ManifestError(f"{manifest}: file '{name}' not found in {directory}")
    return path.read_text(encoding="utf-8")


def load_template_files(directory: Path, catalogue: VariableCatalogue) -> TemplateFiles:
    """Load one template folder and validate it (see the module docstring).

    Raises:
        ManifestError: naming the file and what is wrong with it.
    """
    manifest_path = directory / "manifest.yaml"
    data = _read_yaml(manifest_path)
    _check(MANIFEST_SCHEMA, data, manifest_path)
    if data["key"] != directory.name:
        raise ManifestError(f"{manifest_path}: field 'key': must equal the folder name")
    kind = TemplateKind(data["kind"])
    known = set(catalogue.names(kind))
    unknown = [name for name in data["variables"] if name not in known]
    if unknown:
        raise ManifestError(
            f"{manifest_path}: field 'variables': not available to {kind.value} templates: "
            + ", ".join(unknown)
        )
    languages = tuple(data["languages"])
    missing = [language for language in languages if language not in data["body"]]
    if missing:
        raise ManifestError(f"{manifest_path}: field 'body': no file for {', '.join(missing)}")
    bodies = {}
    for language in languages:
        name = data["body"][language]
        source = _read_text(directory, name, manifest_path)
        try:
            validate_source(source, data["variables"])
        except TemplateValidationError as error:
            raise ManifestError(f"{directory / name}: {error}") from None
        bodies[language] = source
    css = _read_text(directory, data["css"], manifest_path) if data.get("css") else ""
    sample: Mapping[str, Any] = {}
    if data.get("sample"):
        sample = _read_yaml(directory / data["sample"]) or {}
        if not isinstance(sample, dict):
            raise ManifestError(f"{directory / data['sample']}: must be a mapping")
    return TemplateFiles(
        key=data["key"],
        kind=kind,
        title=data["title"],
        languages=languages,
        region_code=data.get("region_code"),
        partner_kind=data.get("partner_kind"),
        variables=tuple(data["variables"]),
        bodies=bodies,
        css=css,
        sample=sample,
        directory=directory,
    )


def load_seed_templates(directory: Path | str) -> list[TemplateFiles]:
    """Every template folder under ``directory`` (folders with a ``manifest.yaml``).

    Raises:
        ManifestError: for the first invalid file.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ManifestError(f"{root}: contract template directory not found")
    catalogue = load_variables(root)
    return [
        load_template_files(path.parent, catalogue) for path in sorted(root.glob("*/manifest.yaml"))
    ]
