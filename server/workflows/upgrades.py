"""Saved definitions are versioned by ``schema_version``; old ones are upgraded on load.

Each step is a small function from one version's document to the next, like
SpiffWorkflow's ``from_version_1_3``. Steps edit the located document in place and keep
each key's line, so validation of an upgraded file still points at the right lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.workflows.yaml_source import LocatedDict

#: the schema version new and edited definitions are written in
CURRENT_SCHEMA_VERSION = 2


def _rename_key(mapping: LocatedDict, old: str, new: str) -> None:
    if old in mapping and new not in mapping:
        mapping[new] = mapping.pop(old)
        mapping.key_lines[new] = mapping.key_lines.get(old, mapping.line)


def from_version_1(document: LocatedDict) -> LocatedDict:
    """Version 1 named a state's actions ``on_enter`` and its SLA ``sla``."""
    states = document.get("states")
    if isinstance(states, LocatedDict):
        for body in states.values():
            if isinstance(body, LocatedDict):
                _rename_key(body, "on_enter", "actions")
                _rename_key(body, "sla", "sla_days")
    document["schema_version"] = 2
    return document


#: upgrade step from each old version to the next
UPGRADES: dict[int, Callable[[LocatedDict], LocatedDict]] = {1: from_version_1}


def upgrade(document: LocatedDict) -> LocatedDict:
    """Bring ``document`` (with a known, older ``schema_version``) to the current one."""
    version: Any = document.get("schema_version")
    while isinstance(version, int) and version in UPGRADES:
        document = UPGRADES[version](document)
        version = document.get("schema_version")
    return document
