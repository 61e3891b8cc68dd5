"""Reading program and partner YAML without losing decimal text.

PyYAML's ``SafeLoader`` turns ``7.5`` into a ``float`` (the decimal text is lost) and,
following YAML 1.1, reads ``NO``, ``on`` or ``y`` as booleans: region ``NO`` or a code
``ON`` would silently become ``False``/``True``. This loader reads floats as
``Decimal`` from their text and recognises only ``true``/``false`` as booleans.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml


class DecimalSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with decimal floats and YAML 1.2 booleans."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    cleaned = text.replace("_", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return text  # .inf / .nan: kept as text, so validation names the bad value
    return number if number.is_finite() else text


def _construct_bool(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    return {"true": True, "false": False}.get(text.lower(), text)


DecimalSafeLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
DecimalSafeLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)

# Drop the YAML 1.1 implicit booleans (yes/no/on/off) so they stay plain strings.
DecimalSafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
DecimalSafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_yaml(text: str) -> Any:
    """Parse one YAML document with :class:`DecimalSafeLoader`.

    Raises ``yaml.YAMLError`` for malformed YAML.
    """
    return yaml.load(text, Loader=DecimalSafeLoader)
