"""The partners file: types, statuses, duplicates, parents and cycles."""

from __future__ import annotations

import pytest

from server.rules.partners import PartnersError, load_partners_yaml, parse_partners


def p(pid: str, **fields):
    return {
        "id": pid,
        "type": "ambassador",
        "region": "A",
        "parent": None,
        "status": "active",
        **fields,
    }


@pytest.mark.parametrize(
    ("partners", "where"),
    [
        ([p("a", type="shop")], "partner 'a'.type"),
        ([p("a", status="sleeping")], "partner 'a'.status"),
        ([p("a"), p("a")], "partner 'a'.id"),
        (
            [p("a", codes={"promo": ["X"]}), p("b", codes={"promo": ["X"]})],
            "partner 'b'.codes.promo",
        ),
        ([p("a", codes={"coupon": ["X"]})], "partner 'a'.codes.coupon"),
        ([p("a", parent="ghost")], "partner 'a'.parent"),
        ([p("a", parent="b"), p("b", parent="c"), p("c", parent="a")], "partner 'a'.parent"),
        ([p("a", parent="a")], "partner 'a'.parent"),
        ([{"type": "ambassador", "status": "active"}], "partners[0].id"),
    ],
)
def test_invalid_partners_name_the_partner_and_field(partners, where):
    with pytest.raises(PartnersError) as error:
        parse_partners({"partners": partners})
    assert [issue.where for issue in error.value.issues] == [where]


def test_same_code_in_different_kinds_is_allowed():
    directory = parse_partners(
        {"partners": [p("a", codes={"promo": ["X"]}), p("b", codes={"qr": ["X"]})]}
    )
    assert directory.by_code("promo", "X").id == "a"
    assert directory.by_code("qr", "X").id == "b"


def test_ancestors_and_optional_fields():
    directory = load_partners_yaml(
        "partners:\n"
        "  - {id: top, type: cofactor, region: null, status: suspended}\n"
        "  - {id: mid, type: offline_point, region: B, parent: top, status: onboarding}\n"
        "  - {id: low, type: online_affiliate, region: C, parent: mid, status: active,"
        " customer_ref: me}\n"
    )
    assert [a.id for a in directory.ancestors("low")] == ["mid", "top"]
    assert directory.get("low").customer_ref == "me"
    assert directory.get("top").region is None


def test_not_a_partners_document():
    with pytest.raises(PartnersError, match="partners"):
        parse_partners(["a"])
