"""Campaign templates load from rule_templates/campaigns/*.yaml; a broken file is
refused with messages naming the file, the line and the field."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from server.campaigns.models import CampaignKind
from server.campaigns.templates import (
    CAMPAIGN_TEMPLATES,
    DEFAULT_CAMPAIGN_TEMPLATES_DIR,
    CampaignTemplateError,
    load_campaign_templates,
)

RATE_HINT = '(write the rate in % as decimal text, e.g. "2.5")'


def test_every_kind_has_a_valid_template_file() -> None:
    templates = load_campaign_templates()
    assert list(templates) == list(CampaignKind)
    assert templates == CAMPAIGN_TEMPLATES
    files = sorted(DEFAULT_CAMPAIGN_TEMPLATES_DIR.glob("*.yaml"))
    assert {path.stem for path in files} == {kind.value for kind in CampaignKind}
    for kind, template in templates.items():
        assert template.source == DEFAULT_CAMPAIGN_TEMPLATES_DIR / f"{kind.value}.yaml"
        for lang in ("ru", "en"):
            assert template.title_in(lang)
            sentence = template.describe(lang)
            assert "{" not in sentence and "%" in sentence


def test_templates_say_what_composing_creates() -> None:
    seasonal = CAMPAIGN_TEMPLATES[CampaignKind.seasonal]
    event = CAMPAIGN_TEMPLATES[CampaignKind.offline_event]
    push = CAMPAIGN_TEMPLATES[CampaignKind.promo_push]
    assert (seasonal.default_rate, seasonal.channels) == (Decimal("2"), ())
    assert not (seasonal.needs_place or seasonal.issues_promo_codes or seasonal.partners_in_scope)
    assert (event.default_rate, event.channels) == (Decimal("3"), ("offline",))
    assert event.needs_place and event.partners_in_scope and not event.issues_promo_codes
    assert (push.default_rate, push.channels) == (Decimal("2"), ("online",))
    assert push.issues_promo_codes and not (push.needs_place or push.partners_in_scope)


def test_description_is_plain_words_with_the_rate_for_the_language() -> None:
    event = CAMPAIGN_TEMPLATES[CampaignKind.offline_event]
    assert event.title_in("ru") == "Совместное офлайн-мероприятие или выставка"
    assert event.describe("ru").startswith("Бонус 3 % с офлайн-продаж")
    assert event.describe("en").startswith("A 3 % bonus on offline sales")
    assert event.describe("de") == event.describe("ru")  # no German: the default language


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "campaigns"
    shutil.copytree(DEFAULT_CAMPAIGN_TEMPLATES_DIR, target)
    return target


def _break(directory: Path, name: str, old: str, new: str) -> Path:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        pytest.param(
            "needs_place: false",
            "needs_place: false\nbudget_cap: 1000",
            "budget_cap:",
            "field 'budget_cap': unknown key 'budget_cap' (expected: channels, default_rate, "
            "description, issues_promo_codes, kind, needs_place, partners_in_scope, "
            "schema_version, title)",
            id="unknown-key",
        ),
        pytest.param(
            "needs_place: false",
            "needs_place: maybe",
            "needs_place:",
            "field 'needs_place': must be true or false, not 'maybe'",
            id="wrong-type",
        ),
        pytest.param(
            'default_rate: "2"',
            'default_rate: "-1.5"',
            "default_rate:",
            f"field 'default_rate': must be a decimal number of 0 or more, not '-1.5' {RATE_HINT}",
            id="negative-rate-text",
        ),
        pytest.param(
            'default_rate: "2"',
            "default_rate: -2",
            "default_rate:",
            f"field 'default_rate': must be a decimal number of 0 or more, not -2 {RATE_HINT}",
            id="negative-rate-number",
        ),
        pytest.param(
            'default_rate: "2"',
            "default_rate: 2.5",
            "default_rate:",
            f"field 'default_rate': must be text or a whole number, not 2.5 {RATE_HINT}",
            id="float-rate-loses-its-text",
        ),
        pytest.param(
            "kind: seasonal\n",
            "",
            "schema_version:",  # a missing key is reported at its mapping's first line
            "field 'kind': is missing",
            id="missing-kind",
        ),
        pytest.param(
            "kind: seasonal",
            "kind: webinar",
            "kind:",
            "field 'kind': unknown campaign kind 'webinar' "
            "(kinds: seasonal, offline_event, promo_push)",
            id="unknown-kind",
        ),
        pytest.param(
            "kind: seasonal",
            "kind: promo_push",
            "kind:",
            "field 'kind': 'promo_push' must match the file name (seasonal.yaml)",
            id="kind-of-another-file",
        ),
        pytest.param(
            "channels: []",
            "channels: [online, tv]",
            "channels:",
            "field 'channels.1': 'tv' is not one of online, offline",
            id="unknown-channel",
        ),
        pytest.param(
            "  en: Seasonal promotion\n",
            "",
            "title:",
            "field 'title.en': is missing",
            id="title-without-english",
        ),
        pytest.param(
            "Бонус {rate} %",
            "Бонус {percent} %",
            "Бонус {percent}",
            "field 'description.ru': unknown placeholder(s) {percent} "
            "(a description may use {rate})",
            id="unknown-placeholder",
        ),
        pytest.param(
            "schema_version: 1",
            "schema_version: 2",
            "schema_version:",
            "field 'schema_version': must be 1, not 2",
            id="schema-version",
        ),
        pytest.param(
            "issues_promo_codes: false",
            "issues_promo_codes: false\nissues_promo_codes: true",
            "issues_promo_codes: true",
            "field 'issues_promo_codes': written twice (YAML keeps only the last one)",
            id="key-written-twice",
        ),
    ],
)
def test_broken_file_names_file_line_and_field(
    tmp_path: Path, old: str, new: str, needle: str, message: str
) -> None:
    directory = _copy(tmp_path)
    path = _break(directory, "seasonal.yaml", old, new)
    with pytest.raises(CampaignTemplateError) as error:
        load_campaign_templates(directory)
    assert error.value.issues == [f"{path}:{_line(path, needle)}: {message}"]
    assert str(error.value) == error.value.issues[0]


def test_every_problem_of_every_file_is_listed(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    seasonal = _break(directory, "seasonal.yaml", 'default_rate: "2"', 'default_rate: "-1"')
    _break(directory, "seasonal.yaml", "needs_place: false", "needs_place: 0")
    push = _break(directory, "promo_push.yaml", "kind: promo_push", "kind: push")
    with pytest.raises(CampaignTemplateError) as error:
        load_campaign_templates(directory)
    issues = error.value.issues
    assert [issue.split(": field")[0] for issue in issues] == [
        f"{push}:{_line(push, 'kind:')}",
        f"{seasonal}:{_line(seasonal, 'default_rate:')}",
        f"{seasonal}:{_line(seasonal, 'needs_place:')}",
    ]


def test_a_kind_without_a_template_stops_the_load(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    (directory / "promo_push.yaml").unlink()
    with pytest.raises(CampaignTemplateError) as error:
        load_campaign_templates(directory)
    assert error.value.issues == [
        f"{directory}: no template for campaign kind(s) promo_push (add promo_push.yaml)"
    ]


def test_a_file_for_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    extra = directory / "webinar.yaml"
    shutil.copy(directory / "seasonal.yaml", extra)
    _break(directory, "webinar.yaml", "kind: seasonal", "kind: webinar")
    with pytest.raises(CampaignTemplateError, match=r"webinar\.yaml:\d+: field 'kind': unknown"):
        load_campaign_templates(directory)


def test_invalid_yaml_and_a_non_mapping_name_the_file(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    path = directory / "seasonal.yaml"
    path.write_text("schema_version: 1\nkind: [seasonal\n", encoding="utf-8")
    with pytest.raises(CampaignTemplateError, match=rf"^{path}:3: invalid YAML: "):
        load_campaign_templates(directory)
    path.write_text("- seasonal\n", encoding="utf-8")
    with pytest.raises(CampaignTemplateError) as error:
        load_campaign_templates(directory)
    assert error.value.issues == [
        f"{path}:1: the file must hold a mapping of campaign template fields"
    ]


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(CampaignTemplateError, match="campaign template folder not found"):
        load_campaign_templates(tmp_path / "nowhere")


def test_the_rule_catalogue_does_not_read_the_campaign_folder() -> None:
    from server.rules.templates import load_catalogue

    assert not set(load_catalogue()) & {kind.value for kind in CampaignKind}
