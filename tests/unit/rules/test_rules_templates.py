"""The template catalogue: every file loads; broken files name the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from server.rules.program import TemplateKey
from server.rules.templates import DEFAULT_TEMPLATES_DIR, TemplateError, load_catalogue


def test_every_template_file_loads_and_covers_the_spec() -> None:
    catalogue = load_catalogue()
    assert set(catalogue) == {key.value for key in TemplateKey}
    for path in sorted(DEFAULT_TEMPLATES_DIR.glob("*.yaml")):
        template = catalogue[path.stem]
        assert template.source == path
        assert set(template.title) == set(template.description) == {"ru", "en"}
        for name in template.param_names:
            # every parameter has a human message in both languages
            assert set(template.errors.get(name, {})) == {"ru", "en"}, (path, name)


def _copy_catalogue(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES_DIR, target)
    return target


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("schema_version: 1", "schema_version: 2", "schema_version"),
        ("group: commission", "group: money", "group"),
        ("  en: Percent of sale (CPS)\n", "", "title"),
        ("{rate} % of every sale{scope}", "{rat} % of every sale{scope}", "description.en"),
        ("produces: commission", "produces: cash", "produces"),
        ("key: percent_of_sale", "key: percent", "key"),
        ("      type: [string, number]", "      type: decimal", "params_schema"),
    ],
)
def test_broken_template_names_file_and_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    directory = _copy_catalogue(tmp_path)
    path = directory / "percent_of_sale.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(TemplateError) as error:
        load_catalogue(directory)
    assert "percent_of_sale.yaml" in str(error.value)
    assert f"'{field}" in str(error.value)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("few: балла, many: баллов, ", "few: балла, "),  # a Russian form missing
        ("{one: point, other: points}", "{one: point, few: points, other: points}"),
    ],
)
def test_plural_words_need_exactly_the_languages_forms(tmp_path: Path, old: str, new: str) -> None:
    directory = _copy_catalogue(tmp_path)
    path = directory / "points_per_amount.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(
        TemplateError, match=r"points_per_amount\.yaml: field 'plural_words\.points"
    ):
        load_catalogue(directory)


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    directory = _copy_catalogue(tmp_path)
    (directory / "cpm.yaml").write_text("key: [unclosed", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"cpm\.yaml: invalid YAML"):
        load_catalogue(directory)


def test_params_errors_are_human(tmp_path: Path) -> None:
    template = load_catalogue()["goal_bonus"]
    issues = template.validate_params({"metric": "clicks", "threshold": "0", "amount": "1", "x": 1})
    fields = {issue.field for issue in issues}
    assert fields == {"metric", "threshold", "x"}
    assert all(issue.ru and issue.en for issue in issues)
