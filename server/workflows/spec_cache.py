"""The spec of a stored definition version, parsed once per process."""

from __future__ import annotations

from functools import lru_cache

from server.workflows.models import WorkflowDefinition
from server.workflows.spec import WorkflowSpec
from server.workflows.validation import parse_definition

#: parsed definitions kept per process (versions never change once stored as published)
SPEC_CACHE_SIZE = 256


@lru_cache(maxsize=SPEC_CACHE_SIZE)
def _parse(source: str, name: str) -> WorkflowSpec:
    return parse_definition(source, name)


def spec_of(definition: WorkflowDefinition) -> WorkflowSpec:
    """The spec of a stored version (keyed by its text, so an edited draft re-parses).

    Raises:
        DefinitionInvalid: the stored text no longer validates (e.g. a role was removed).
    """
    return _parse(definition.source_yaml, f"{definition.key} v{definition.version}")
