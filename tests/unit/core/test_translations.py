"""Every user-visible string of ours has a Russian translation, compiled."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).parents[3]
PO = ROOT / "server/translations/ru/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")


def _extracted() -> set[str]:
    method_map = [("server/**.py", "python"), ("server/templates/**.html", "jinja2")]
    keywords = {"_": None, "_l": None, "lazy_gettext": None, "gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_string_is_translated_to_russian() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="ru")
    translated = {m.id for m in catalog if m.id and m.string}
    missing = _extracted() - translated
    assert not missing, f"add to {PO.relative_to(ROOT)} and run pybabel compile: {sorted(missing)}"


def _key(text: object) -> object:
    """A message's id or string; plural forms as a tuple (``read_mo`` gives lists)."""
    return tuple(text) if isinstance(text, list | tuple) else text


def test_compiled_catalog_matches_the_source() -> None:
    with PO.open("rb") as handle:
        source = {_key(m.id): _key(m.string) for m in read_po(handle, locale="ru") if m.id}
    with MO.open("rb") as handle:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
    assert compiled == source, "run: .venv/bin/pybabel compile -d server/translations"
