"""Checks on what an admin types into the partner and region forms (pure functions)."""

from __future__ import annotations

import pytest

from server.demo.data import demo_partners, fake_inn, fake_ogrn
from server.partners.validation import (
    FieldProblem,
    bik_problem,
    correspondent_account_problem,
    email_problem,
    inn_problem,
    kpp_problem,
    landing_url_problem,
    ogrn_problem,
    phone_problem,
    settlement_account_problem,
    time_zone_problem,
)

#: a real bank's published requisites (Sberbank, Moscow)
SBERBANK_BIK = "044525225"
SBERBANK_CORRESPONDENT = "30101810400000000225"
#: a real pair: a settlement account and its bank's BIK (Saint Petersburg)
SPB_BIK = "044030827"
SPB_CORRESPONDENT = "30101810200000000827"
SPB_SETTLEMENT = "40702810900000002851"


@pytest.mark.parametrize(
    "name",
    ["Europe/Moscow", "Asia/Vladivostok", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+3"],
)
def test_iana_zones_are_accepted(name: str) -> None:
    assert time_zone_problem(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        "Mars/Olympus",
        "Europe",  # a directory of the database, not a zone
        "europe/moscow",
        "Europe/Moscow ",
        "../etc/passwd",
        "Europe/../Europe/Moscow",
        "/etc/localtime",
        "/usr/share/zoneinfo/Europe/Moscow",
        "zone.tab",  # a file of the database that is not a zone
        "Europe\\Moscow",
        "Europe/Moscow\x00",
    ],
)
def test_anything_else_is_not_a_time_zone(name: str) -> None:
    assert time_zone_problem(name) is FieldProblem.time_zone_unknown


@pytest.mark.parametrize(
    "value", ["info@shop.example", "a.b+tag@mail.example.ru", "партнёр@почта.рф"]
)
def test_plausible_emails_are_accepted(value: str) -> None:
    assert email_problem(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "shop.example",
        "@shop.example",
        "info@localhost",
        "info@@shop.example",
        "a@b@shop.example",
        "info@shop..example",
        "info@.example",
        "info@shop.",
        "in fo@shop.example",
        "info@shop.example\n",
    ],
)
def test_implausible_emails_are_refused(value: str) -> None:
    assert email_problem(value) is FieldProblem.email_malformed


@pytest.mark.parametrize("url", ["https://shop.example/", "http://shop.example:8080/a?b=1"])
def test_http_landing_pages_are_accepted(url: str) -> None:
    assert landing_url_problem(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,x",
        "//shop.example/",
        "shop.example",
        "https://user@shop.example/",
        "https://shop.example/a b",
        "ftp://shop.example/",
    ],
)
def test_other_landing_pages_are_refused(url: str) -> None:
    assert landing_url_problem(url) is FieldProblem.landing_url_unsafe


@pytest.mark.parametrize("value", ["7707083893", "500100732259"])
def test_inns_with_valid_check_digits_are_accepted(value: str) -> None:
    assert inn_problem(value) is None


def test_every_demo_inn_and_ogrn_is_accepted() -> None:
    for seed in range(1, len(demo_partners()) + 1):
        assert inn_problem(fake_inn(seed)) is None, fake_inn(seed)
        assert ogrn_problem(fake_ogrn(seed)) is None, fake_ogrn(seed)


@pytest.mark.parametrize(
    "value", ["770708389", "77070838931", "7707083893a", "77O7083893", "", "١٢٣٤٥٦٧٨٩٠"]
)
def test_inns_of_the_wrong_shape_are_refused(value: str) -> None:
    assert inn_problem(value) is FieldProblem.inn_malformed


@pytest.mark.parametrize("value", ["7707083894", "500100732258", "500100732269"])
def test_inns_with_wrong_check_digits_are_refused(value: str) -> None:
    assert inn_problem(value) is FieldProblem.inn_check_digits


@pytest.mark.parametrize("value", ["773601001", "7736AB001", "770100001"])
def test_kpps_are_accepted(value: str) -> None:
    assert kpp_problem(value) is None


@pytest.mark.parametrize("value", ["77360100", "7736010011", "7736ab001", "A73601001", "7736010A1"])
def test_malformed_kpps_are_refused(value: str) -> None:
    assert kpp_problem(value) is FieldProblem.kpp_malformed


@pytest.mark.parametrize("value", ["1027700132195", "304500116000157"])
def test_ogrns_with_valid_check_digits_are_accepted(value: str) -> None:
    assert ogrn_problem(value) is None


@pytest.mark.parametrize("value", ["102770013219", "10277001321950", "1027700132195x", ""])
def test_ogrns_of_the_wrong_shape_are_refused(value: str) -> None:
    assert ogrn_problem(value) is FieldProblem.ogrn_malformed


@pytest.mark.parametrize("value", ["1027700132196", "304500116000158"])
def test_ogrns_with_a_wrong_check_digit_are_refused(value: str) -> None:
    assert ogrn_problem(value) is FieldProblem.ogrn_check_digit


def test_biks_have_nine_digits() -> None:
    assert bik_problem(SBERBANK_BIK) is None
    for value in ("04452522", "0445252250", "04452522a"):
        assert bik_problem(value) is FieldProblem.bik_malformed


def test_a_settlement_account_matching_its_bik_is_accepted() -> None:
    assert settlement_account_problem(SPB_SETTLEMENT, SPB_BIK) is None
    assert settlement_account_problem(SPB_SETTLEMENT) is None


def test_a_settlement_account_with_a_wrong_key_is_refused() -> None:
    for key in "012345678":
        account = SPB_SETTLEMENT[:8] + key + SPB_SETTLEMENT[9:]
        assert settlement_account_problem(account, SPB_BIK) is FieldProblem.account_key_mismatch
    assert settlement_account_problem(SPB_SETTLEMENT, SBERBANK_BIK) is (
        FieldProblem.account_key_mismatch
    )


def test_without_a_valid_bik_only_the_digits_of_an_account_are_checked() -> None:
    wrong_key = SPB_SETTLEMENT[:8] + "0" + SPB_SETTLEMENT[9:]
    assert settlement_account_problem(wrong_key, "0440308") is None
    assert settlement_account_problem(wrong_key, None) is None


@pytest.mark.parametrize(
    "value", ["4070281090000000285", "407028109000000028511", "4070281090000000285x"]
)
def test_accounts_need_twenty_digits(value: str) -> None:
    assert settlement_account_problem(value) is FieldProblem.account_malformed
    assert correspondent_account_problem(value) is FieldProblem.account_malformed


@pytest.mark.parametrize(
    ("account", "bik"), [(SBERBANK_CORRESPONDENT, SBERBANK_BIK), (SPB_CORRESPONDENT, SPB_BIK)]
)
def test_correspondent_accounts_matching_their_bik_are_accepted(account: str, bik: str) -> None:
    assert correspondent_account_problem(account, bik) is None


def test_a_correspondent_account_starts_with_301() -> None:
    assert correspondent_account_problem(SPB_SETTLEMENT) is (
        FieldProblem.correspondent_account_prefix
    )


def test_a_correspondent_account_of_another_bank_is_refused() -> None:
    assert correspondent_account_problem(SBERBANK_CORRESPONDENT, SPB_BIK) is (
        FieldProblem.account_key_mismatch
    )


@pytest.mark.parametrize(
    "value", ["+7 (495) 123-45-67", "84951234567", "1234567", "+12345678901234567890"]
)
def test_phone_numbers_are_accepted(value: str) -> None:
    assert phone_problem(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "123456",
        "+123456789012345678901",
        "7 495 123 45 67 ext. 2",
        "+7+4951234567",
        "call me",
        "--",
    ],
)
def test_malformed_phone_numbers_are_refused(value: str) -> None:
    assert phone_problem(value) is FieldProblem.phone_malformed
