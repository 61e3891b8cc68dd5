"""The enrolment editor's form, an enrolment in words, its line in a diff, and partner
tags typed on the partner form (pure)."""

from __future__ import annotations

import pytest

from server.partners.tags import MAX_TAG_LENGTH, parse_tags
from server.programs.diff import diff_programs
from server.programs.forms import enrolment_from_form
from server.rules.plain_words import describe_enrolment
from server.rules.program import Enrolment, parse_program

RULE = {"id": "five", "template": "percent_of_sale", "params": {"rate": "5"}}


def test_empty_pickers_name_nothing_and_nothing_picked_is_everybody() -> None:
    assert enrolment_from_form({}).is_everybody
    picked = enrolment_from_form(
        {
            "enrolment_regions": ["A", " ", "A"],
            "enrolment_partner_types": [],
            "enrolment_partners": ["SHOP-2", "AMB-1"],
        }
    )
    assert picked == Enrolment(regions=("A",), partners=("SHOP-2", "AMB-1"))


@pytest.mark.parametrize(
    ("enrolment", "ru", "en"),
    [
        (Enrolment(), "все партнёры", "every partner"),
        (
            Enrolment(regions=("A",), partner_types=("offline_point",), partners=("AMB-1",)),
            "регионы: A; виды: офлайн-точки; партнёры поимённо: AMB-1",
            "regions: A; types: offline points; partners by name: AMB-1",
        ),
        (Enrolment(partners=()), "партнёры поимённо: никто", "partners by name: nobody"),
        (Enrolment(tags=("vip", "pilot")), "метки: vip, pilot", "tags: vip, pilot"),
    ],
)
def test_an_enrolment_in_words(enrolment: Enrolment, ru: str, en: str) -> None:
    assert describe_enrolment(enrolment, "ru") == ru
    assert describe_enrolment(enrolment, "en") == en


def test_a_diff_names_an_enrolment_change() -> None:
    old = parse_program({"program": "p", "currency": "RUB", "rules": [RULE]})
    new = parse_program(
        {"program": "p", "currency": "RUB", "enrolment": {"regions": ["A"]}, "rules": [RULE]}
    )
    assert diff_programs(old, new, "ru").summary() == ["участники: все партнёры → регионы: A"]
    assert diff_programs(old, old, "en").summary() == []


def test_tags_typed_on_the_partner_form() -> None:
    assert parse_tags(" vip, pilot-msk ,vip,, ") == ["pilot-msk", "vip"]
    assert parse_tags("") is None and parse_tags(None) is None
    with pytest.raises(ValueError):
        parse_tags("x" * (MAX_TAG_LENGTH + 1))
