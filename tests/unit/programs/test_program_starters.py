"""Starter programs load from rule_templates/starters/*.yaml, each checked with the
program parser; a broken file is refused with messages naming the file and the field,
and the repository's files load when the module is imported."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server.programs.starters import (
    DEFAULT_STARTERS_DIR,
    PROGRAM_STARTERS,
    StarterError,
    load_starters,
)
from server.rules.program import TemplateKey

REPO = Path(__file__).parents[3]


def test_the_three_starters_load_and_are_valid_programs() -> None:
    starters = load_starters()
    assert starters == PROGRAM_STARTERS
    assert list(starters) == ["affiliates-cps", "ambassadors-goals", "store-points"]
    assert {path.stem for path in DEFAULT_STARTERS_DIR.glob("*.yaml")} == set(starters)
    for key, starter in starters.items():
        assert starter.source == DEFAULT_STARTERS_DIR / f"{key}.yaml"
        for lang in ("ru", "en"):
            assert starter.title_in(lang) and starter.describe(lang)
            assert "\n" not in starter.describe(lang)
        spec = starter.program("new-program", "Новая", "RUB")
        assert spec.slug == "new-program" and spec.rules


def test_starters_hold_what_the_form_promises() -> None:
    def templates(key: str) -> set[TemplateKey]:
        return {r.template for r in PROGRAM_STARTERS[key].program("p", "P", "RUB").rules}

    assert templates("affiliates-cps") == {
        TemplateKey.PERCENT_OF_SALE,
        TemplateKey.FIRST_PURCHASE_BONUS,
    }
    assert TemplateKey.POINTS_PER_AMOUNT in templates("store-points")
    assert templates("ambassadors-goals") == {
        TemplateKey.GOAL_BONUS,
        TemplateKey.MULTI_LEVEL_OVERRIDE,
    }
    assert PROGRAM_STARTERS["store-points"].title_in("ru") == "Сетка баллов для магазинов"


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "starters"
    shutil.copytree(DEFAULT_STARTERS_DIR, folder)
    return folder


def test_a_broken_rule_is_refused_naming_the_file_the_rule_and_the_field(
    tmp_path: Path,
) -> None:
    folder = _copy(tmp_path)
    path = folder / "store-points.yaml"
    path.write_text(path.read_text().replace('per: "100"', 'per: "сто"'))
    with pytest.raises(StarterError) as refused:
        load_starters(folder)
    assert refused.value.issues == [
        f"{path}: rule 'store-points'.params.per: "
        'The amount step is a positive number, e.g. "100".'
    ]


def test_file_level_mistakes_are_each_named(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    cps = folder / "affiliates-cps.yaml"
    cps.write_text(cps.read_text().replace("key: affiliates-cps", "key: other"))
    goals = folder / "ambassadors-goals.yaml"
    goals.write_text(goals.read_text().replace("  en: Ambassadors with goals\n", "") + "extra: 1\n")
    (folder / "empty-rules.yaml").write_text(
        "schema_version: 1\nkey: empty-rules\ntitle: {ru: Т, en: T}\n"
        "description: {ru: О, en: D}\nrules: []\n"
    )
    (folder / "bad-yaml.yaml").write_text("key: [unclosed\n")
    with pytest.raises(StarterError) as refused:
        load_starters(folder)
    text = str(refused.value)
    assert f"{cps}: field 'key': 'other' must match the file name" in text
    assert f"{goals}: field '(file)': Additional properties are not allowed ('extra'" in text
    assert f"{goals}: field 'title': 'en' is a required property" in text
    assert f"{folder / 'empty-rules.yaml'}: field 'rules': [] should be non-empty" in text
    assert f"{folder / 'bad-yaml.yaml'}: invalid YAML" in text


def test_a_missing_or_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StarterError, match="starter program folder not found"):
        load_starters(tmp_path / "nowhere")
    with pytest.raises(StarterError, match="no starter program files"):
        load_starters(tmp_path)


def test_the_app_does_not_start_with_a_broken_starter(tmp_path: Path) -> None:
    # the module loads the repository's folder on import: a copy of the repository's
    # server package with one starter broken must stop at import with the message
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "server", copy / "server", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "rule_templates", copy / "rule_templates")
    broken = copy / "rule_templates" / "starters" / "affiliates-cps.yaml"
    broken.write_text(broken.read_text().replace('rate: "7"', 'rate: "семь"'))
    result = subprocess.run(
        [sys.executable, "-c", "import server.programs.commands"],
        cwd=copy,
        env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert f"StarterError: {broken}: rule 'online-cps'.params.rate:" in result.stderr
