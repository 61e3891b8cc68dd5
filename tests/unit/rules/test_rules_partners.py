"""The partners file: types, statuses, duplicates, parents and cycles."""

from __future__ import annotations

from typing import Any

import pytest

from server.rules.partners import PartnersError, load_partners_yaml, parse_partners


def p(pid: str, **fields: Any) -> dict[str, Any]:
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
def test_invalid_partners_name_the_partner_and_field(
    partners: list[dict[str, Any]], where: str
) -> None:
    with pytest.raises(PartnersError) as error:
        parse_partners({"partners": partners})
    assert [issue.where for issue in error.value.issues] == [where]


def test_same_code_in_different_kinds_is_allowed() -> None:
    directory = parse_partners(
        {"partners": [p("a", codes={"promo": ["X"]}), p("b", codes={"qr": ["X"]})]}
    )
    promo, qr = directory.by_code("promo", "X"), directory.by_code("qr", "X")
    assert promo is not None and qr is not None
    assert promo.id == "a"
    assert qr.id == "b"


def test_ancestors_and_optional_fields() -> None:
    directory = load_partners_yaml(
        "partners:\n"
        "  - {id: top, type: cofactor, region: null, status: suspended}\n"
        "  - {id: mid, type: offline_point, region: B, parent: top, status: onboarding}\n"
        "  - {id: low, type: online_affiliate, region: C, parent: mid, status: active,"
        " customer_ref: me}\n"
    )
    assert [a.id for a in directory.ancestors("low")] == ["mid", "top"]
    low, top = directory.get("low"), directory.get("top")
    assert low is not None and top is not None
    assert low.customer_ref == "me"
    assert top.region is None


def test_not_a_partners_document() -> None:
    with pytest.raises(PartnersError, match="partners"):
        parse_partners(["a"])
