"""Starter programs: ``rule_templates/starters/<key>.yaml``, validated on load.

"New program" in the workspace can start from one of these instead of an empty draft:
each file holds a title and a one-line description (Russian and English) shown in the
form, and the rules of a program file (``spec/rules.md``) that become the new program's
first draft. The program's code, title and currency come from the form, so a starter
names none of them.

Each file's rules are checked with the program parser
(:func:`server.rules.program.parse_program`), as a program file with those rules would
be. :data:`PROGRAM_STARTERS` is loaded when this module is imported, so a broken file
stops the web server, the workers and the CLI at start-up with a message naming the
file and the field, e.g. ``…/store-points.yaml: rule 'store-points'.params.per: …``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from server.rules.program import DEFAULT_CURRENCY, ProgramError, ProgramSpec, parse_program
from server.rules.templates import DEFAULT_TEMPLATES_DIR, LANGS, LOCALISED_TEXT_SCHEMA
from server.rules.yaml_loader import load_yaml

#: The repository's starter programs: a folder of the rule template catalogue (the
#: catalogue reads only its top level, so these files never mix with rule templates).
DEFAULT_STARTERS_DIR = DEFAULT_TEMPLATES_DIR / "starters"
SCHEMA_VERSION = 1

#: What a starter file must look like (its rules are then checked as a program's).
STARTER_FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["schema_version", "key", "title", "description", "rules"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "key": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
        "title": LOCALISED_TEXT_SCHEMA,
        "description": LOCALISED_TEXT_SCHEMA,
        "rules": {"type": "array", "minItems": 1},
    },
}
_VALIDATOR = Draft202012Validator(STARTER_FILE_SCHEMA)


class StarterError(Exception):
    """Starter files are missing or invalid; :attr:`issues` lists every problem as
    ``<file>: <field>: <what is wrong>``."""

    def __init__(self, issues: list[str]) -> None:
        super().__init__("\n".join(issues))
        self.issues = issues


@dataclass(frozen=True)
class ProgramStarter:
    """One validated starter program."""

    key: str
    title: Mapping[str, str]
    description: Mapping[str, str]
    #: the rules as a program document lists them (``id``, ``template``, ``scope``, ``params``)
    rules: tuple[Mapping[str, Any], ...]
    source: Path | None = None

    def title_in(self, lang: str) -> str:
        """The title in ``lang`` (Russian for a language without one)."""
        return self.title[lang if lang in LANGS else LANGS[0]]

    def describe(self, lang: str) -> str:
        """The one-line description in ``lang`` (Russian for a language without one)."""
        return self.description[lang if lang in LANGS else LANGS[0]]

    def program(self, slug: str, title: str, currency: str) -> ProgramSpec:
        """The starter's rules as a program named ``slug``. Raises ``ProgramError``
        (never for a loaded starter and a valid slug and currency)."""
        return parse_program(
            {"program": slug, "title": title, "currency": currency, "rules": list(self.rules)}
        )


def parse_starter(document: object, source: Path) -> ProgramStarter:
    """Validate one starter document (``source`` names it in messages).

    Raises:
        StarterError: every problem of the file.
    """
    where = str(source)
    if not isinstance(document, dict):
        raise StarterError([f"{where}: the file must hold a mapping of starter fields"])
    issues = [
        f"{where}: field '{'.'.join(str(p) for p in error.absolute_path) or '(file)'}': "
        f"{error.message}"
        for error in sorted(_VALIDATOR.iter_errors(document), key=lambda e: list(e.path))
    ]
    if not issues and document["key"] != source.stem:
        issues.append(f"{where}: field 'key': '{document['key']}' must match the file name")
    if isinstance(document.get("rules"), list):
        try:
            parse_program(
                {"program": source.stem, "currency": DEFAULT_CURRENCY, "rules": document["rules"]}
            )
        except ProgramError as error:
            issues += [f"{where}: {issue}" for issue in error.issues]
    if issues:
        raise StarterError(issues)
    return ProgramStarter(
        key=document["key"],
        title={lang: document["title"][lang] for lang in LANGS},
        description={lang: document["description"][lang] for lang in LANGS},
        rules=tuple(document["rules"]),
        source=source,
    )


def load_starter_file(path: Path) -> ProgramStarter:
    """Read and validate one file. Raises :class:`StarterError` naming it."""
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise StarterError([f"{path}: cannot read: {error.strerror or error}"]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise StarterError([f"{path}: invalid YAML: {error}"]) from None
    return parse_starter(document, path)


def load_starters(directory: Path | str | None = None) -> dict[str, ProgramStarter]:
    """Every ``*.yaml`` of ``directory`` (default: the repository's), by key, in file
    name order.

    Raises:
        StarterError: the folder is missing or holds no starter, or a file is invalid
            (every problem of every file is listed).
    """
    root = Path(directory) if directory is not None else DEFAULT_STARTERS_DIR
    if not root.is_dir():
        raise StarterError([f"{root}: starter program folder not found"])
    starters: dict[str, ProgramStarter] = {}
    issues: list[str] = []
    for path in sorted(root.glob("*.yaml")):
        try:
            starter = load_starter_file(path)
        except StarterError as error:
            issues += error.issues
            continue
        starters[starter.key] = starter  # the file name is the key: no duplicates
    if not starters and not issues:
        issues.append(f"{root}: no starter program files (*.yaml)")
    if issues:
        raise StarterError(issues)
    return starters


#: The repository's starter programs, by key (loaded, and validated, on import).
PROGRAM_STARTERS: Mapping[str, ProgramStarter] = load_starters()
