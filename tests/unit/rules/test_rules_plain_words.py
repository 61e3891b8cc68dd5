"""Rules in plain words: every template renders in both languages, scope in words."""

from __future__ import annotations

import pytest

from server.rules.plain_words import describe_rule
from server.rules.program import Rule, TemplateKey, parse_program
from server.rules.templates import load_catalogue

PARAMS = {
    "percent_of_sale": {"rate": "7"},
    "tiered_percent": {"tiers": [{"from": "0", "rate": "3"}, {"from": "10000", "rate": "6"}]},
    "fixed_per_action": {"event_type": "action", "action": "signup", "amount": "100"},
    "cpm": {"rate": "80"},
    "campaign_bonus": {"campaign": "Весна", "rate": "2"},
    "first_purchase_bonus": {"amount": "200"},
    "goal_bonus": {
        "metric": "new_customers",
        "threshold": 2,
        "amount": "1000",
        "period": "quarter",
    },
    "reward": {"metric": "sales_count", "threshold": 2, "reward": "Обучение"},
    "multi_level_override": {"rates": ["2", "0.5"]},
    "points_per_amount": {"per": "100", "points": 1},
    "hold_large_sale": {"above": "100000"},
    "hold_velocity": {"max_sales": 3, "within_hours": 24},
    "hold_self_referral": {},
}
SCOPE = {"regions": ["A"], "channels": ["online"], "valid_from": "2026-10-01"}


def _rule(template: str, scope: dict | None = None) -> Rule:
    raw = {"id": "r", "template": template, "params": PARAMS[template], "scope": scope or {}}
    return parse_program({"program": "p", "currency": "RUB", "rules": [raw]}).rules[0]


@pytest.mark.parametrize("template", [key.value for key in TemplateKey])
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_template_renders_without_placeholders(template: str, lang: str) -> None:
    text = describe_rule(_rule(template, SCOPE), load_catalogue(), lang, currency="RUB")
    assert "{" not in text and "}" not in text
    assert ("онлайн" if lang == "ru" else "online") in text
    assert ("в регионе A" if lang == "ru" else "in region A") in text


def test_numbers_follow_the_language() -> None:
    catalogue = load_catalogue()
    rule = _rule("multi_level_override")
    assert "0,5 %" in describe_rule(rule, catalogue, "ru")
    assert "0.5 %" in describe_rule(rule, catalogue, "en")


def test_scope_phrases() -> None:
    catalogue = load_catalogue()
    rule = _rule(
        "percent_of_sale",
        {
            "regions": ["A", "B"],
            "partner_types": ["ambassador", "offline_point"],
            "partners": ["X"],
        },
    )
    ru = describe_rule(rule, catalogue, "ru")
    en = describe_rule(rule, catalogue, "en")
    assert "в регионах A, B для амбассадоров и офлайн-точек для партнёра X" in ru
    assert "in regions A, B for ambassadors and offline points for partner X" in en
    nothing = _rule("percent_of_sale", {"channels": []})
    assert "currently applies to no event" in describe_rule(nothing, catalogue, "en")


def test_tag_phrases() -> None:
    catalogue = load_catalogue()
    one = _rule("percent_of_sale", {"tags": ["vip"]})
    assert "для партнёров с меткой vip" in describe_rule(one, catalogue, "ru")
    assert "for partners tagged vip" in describe_rule(one, catalogue, "en")
    two = _rule("percent_of_sale", {"tags": ["vip", "pilot"]})
    assert "for partners tagged with one of vip, pilot" in describe_rule(two, catalogue, "en")
    nobody = _rule("percent_of_sale", {"tags": []})
    assert "сейчас не применяется" in describe_rule(nobody, catalogue, "ru")


def test_money_is_written_with_the_currencys_sign() -> None:
    # Regression: sentences on the workspace read "300 RUB" where the portal read "300 ₽"
    catalogue = load_catalogue()
    rule = _rule("first_purchase_bonus")
    for lang in ("ru", "en"):
        by_code = describe_rule(rule, catalogue, lang, currency="RUB")
        assert by_code == describe_rule(rule, catalogue, lang, currency="₽")
        assert "\xa0₽" in by_code and "RUB" not in by_code
    assert "$" in describe_rule(rule, catalogue, "en", currency="USD")


@pytest.mark.parametrize(
    ("points", "ru", "en"),
    [
        (1, "1\xa0балл за", "1\xa0point for"),
        (2, "2\xa0балла за", "2\xa0points for"),
        (5, "5\xa0баллов за", "5\xa0points for"),
        (11, "11\xa0баллов за", "11\xa0points for"),
        (21, "21\xa0балл за", "21\xa0points for"),
        (0, "0\xa0баллов за", "0\xa0points for"),
    ],
)
def test_counts_take_the_plural_form_of_their_number(points: int, ru: str, en: str) -> None:
    # Regression: the sentence read «1 балл(ов)» and "1 point(s)"
    raw = {"id": "r", "template": "points_per_amount", "params": {"per": "100", "points": points}}
    rule = parse_program({"program": "p", "currency": "RUB", "rules": [raw]}).rules[0]
    catalogue = load_catalogue()
    assert describe_rule(rule, catalogue, "ru").startswith(ru)
    assert describe_rule(rule, catalogue, "en").startswith(en)


def test_the_noun_after_more_than_is_genitive() -> None:
    catalogue = load_catalogue()
    for count, ru, en in (
        (1, "больше 1\xa0покупки", "more than 1\xa0purchase "),
        (3, "больше 3\xa0покупок", "more than 3\xa0purchases "),
    ):
        raw = {
            "id": "r",
            "template": "hold_velocity",
            "params": {"max_sales": count, "within_hours": 24},
        }
        rule = parse_program({"program": "p", "rules": [raw]}).rules[0]
        assert ru in describe_rule(rule, catalogue, "ru")
        assert en in describe_rule(rule, catalogue, "en")
