"""Load YAML while keeping where each mapping, key and list item starts.

PyYAML's safe loader builds plain ``dict``/``list`` objects and forgets positions (and
lets a repeated key silently replace the first). Validation must name the line of a
mistake, so mappings load as :class:`LocatedDict` and lists as :class:`LocatedList`,
which are still a ``dict`` and a ``list`` and carry 1-based line numbers; repeated keys
are collected in :attr:`LocatedDict.duplicate_keys`.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode


class LocatedDict(dict[Any, Any]):
    """A mapping that knows its line and the line of each key."""

    line: int = 0
    key_lines: dict[Any, int]
    duplicate_keys: list[tuple[Any, int]]

    def line_of(self, key: Any) -> int:
        """The line of ``key``, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)


class LocatedList(list[Any]):
    """A list that knows its line and the line of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _LocatingLoader(yaml.SafeLoader):
    """The safe loader (no Python tags), building located containers."""


def _construct_mapping(loader: _LocatingLoader, node: MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    result = LocatedDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    result.duplicate_keys = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value", key_node.start_mark
            )
        line = key_node.start_mark.line + 1
        if key in result:
            result.duplicate_keys.append((key, line))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines.setdefault(key, line)
    return result


def _construct_sequence(loader: _LocatingLoader, node: SequenceNode) -> LocatedList:
    result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LocatingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)
_LocatingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
    _construct_sequence,
)


class YamlSyntaxError(ValueError):
    """The text is not YAML; ``line`` is 1-based (0 when unknown)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def load_located(text: str) -> Any:
    """Parse one YAML document into located containers.

    Raises:
        YamlSyntaxError: the text is not valid YAML (with the line of the problem).
    """
    try:
        return yaml.load(text, Loader=_LocatingLoader)  # a SafeLoader subclass: no Python tags
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlSyntaxError(error.problem or str(error), line) from error
    except yaml.YAMLError as error:
        raise YamlSyntaxError(str(error), 0) from error
