"""Pure parts of attribution codes: landing-page checks, code drawing, QR images."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import server.models  # noqa: F401  (every mapper, so a code can be built without a database)
from server.partners.codes import (
    PROMO_ALPHABET,
    draw_code,
    promo_prefix,
    safe_landing_url,
    with_referral,
)
from server.partners.models import AttributionCode, CodeKind
from server.partners.qr import public_url, qr_png, qr_svg


@pytest.mark.parametrize(
    "url",
    ["https://shop.example/", "http://shop.example:8080/a?b=1#c", "https://магазин.рф/акция"],
)
def test_http_landing_pages_are_kept(url: str) -> None:
    assert safe_landing_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,x",
        "//evil.example/",
        "/relative/path",
        "https:///nohost",
        "https://user@evil.example/",
        "https://shop.example\\@evil.example",
        "https://shop.example/\nLocation: https://evil.example",
        " https://shop.example/",
        "https://shop.example:99999/",
        "ftp://shop.example/",
    ],
)
def test_unsafe_landing_pages_are_refused(url: str | None) -> None:
    assert safe_landing_url(url) is None


def test_referral_parameter_is_added_once() -> None:
    assert (
        with_referral("https://s.example/p?x=1#top", "abc") == "https://s.example/p?x=1&ref=abc#top"
    )
    assert with_referral("https://s.example/?ref=own", "abc") == "https://s.example/?ref=own"


def test_drawn_codes() -> None:
    promos = {draw_code("a-web-01", CodeKind.promo) for _ in range(200)}
    assert len(promos) == 200
    for code in promos:
        prefix, tail = code.split("-")
        assert prefix == "AWEB01"
        assert set(tail) <= set(PROMO_ALPHABET) and len(tail) == 6
    tokens = {draw_code("x", CodeKind.qr) for _ in range(200)}
    assert len(tokens) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", token) for token in tokens)
    assert promo_prefix("ёж") == "P"  # no Latin letters or digits to start with


def test_public_urls_and_qr_images() -> None:
    qr = AttributionCode(code="tok_-1", kind=CodeKind.qr)
    promo = AttributionCode(code="WEB A", kind=CodeKind.promo)
    assert public_url("https://pf.example/", qr) == "https://pf.example/q/tok_-1"
    assert public_url("https://pf.example", promo) == "https://pf.example/r/WEB%20A"

    png = qr_png("https://pf.example/q/tok_-1")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    small = qr_png("https://pf.example/q/tok_-1", scale=2)
    assert len(small) < len(png)
    svg = ET.fromstring(qr_svg("https://pf.example/q/tok_-1"))
    assert svg.tag.endswith("svg")
    title = next(el for el in svg.iter() if el.tag.endswith("title"))
    assert title.text == "https://pf.example/q/tok_-1"
    assert svg.attrib["width"].endswith("mm")
