"""Checks for what an admin types into a partner's or a region's form.

Each check takes the text as entered and returns ``None`` when it is acceptable or a
:class:`FieldProblem` saying why not; the views turn a problem into a translated
message. Requisites follow the Russian registers: INN and OGRN carry check digits, and
a bank account carries a control key computed with the bank's BIK (the Bank of
Russia's rule for account numbers).
"""

from __future__ import annotations

import enum
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.partners.codes import safe_landing_url

#: an IANA zone name is one or more path parts of letters, digits, ``_``, ``+`` and ``-``
#: (``Europe/Moscow``, ``America/Argentina/Buenos_Aires``, ``Etc/GMT+3``); anything else
#: (``..``, absolute paths, file names with dots) is not a zone, whatever the disk holds
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")
_INN_10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN_12_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN_12_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
#: KPP: tax office (4 digits), reason (2 digits or capital Latin letters), number (3 digits)
_KPP = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")
_PHONE = re.compile(r"\+?[0-9 ()\-]+")
PHONE_DIGITS_MIN = 7
PHONE_DIGITS_MAX = 20
#: the Bank of Russia's weights for an account's control key, 7 1 3 repeated over
#: 23 digits: 3 taken from the BIK, then the 20 of the account
_ACCOUNT_KEY_WEIGHTS = (7, 1, 3) * 7 + (7, 1)
CORRESPONDENT_ACCOUNT_PREFIX = "301"


class FieldProblem(str, enum.Enum):
    """Why a value was refused (the views map each to a translated message)."""

    time_zone_unknown = "time_zone_unknown"
    email_malformed = "email_malformed"
    landing_url_unsafe = "landing_url_unsafe"
    inn_malformed = "inn_malformed"
    inn_check_digits = "inn_check_digits"
    kpp_malformed = "kpp_malformed"
    ogrn_malformed = "ogrn_malformed"
    ogrn_check_digit = "ogrn_check_digit"
    bik_malformed = "bik_malformed"
    account_malformed = "account_malformed"
    correspondent_account_prefix = "correspondent_account_prefix"
    account_key_mismatch = "account_key_mismatch"
    phone_malformed = "phone_malformed"


def _digits(value: str, *lengths: int) -> bool:
    """``value`` is ASCII digits only, of one of ``lengths``."""
    return value.isascii() and value.isdigit() and len(value) in lengths


def _check_digit(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10


def time_zone_problem(name: str) -> FieldProblem | None:
    """Refuse anything but an IANA zone name that :class:`zoneinfo.ZoneInfo` loads.

    Empty text, path-like values (``../x``, ``/etc/localtime``, ``zone.tab``) and names
    the time zone database does not hold (``Mars/Olympus``) are refused.
    """
    if not _ZONE_NAME.fullmatch(name):
        return FieldProblem.time_zone_unknown
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: a file that is not a zone; OSError: unreadable (a directory)
        return FieldProblem.time_zone_unknown
    return None


def email_problem(value: str) -> FieldProblem | None:
    """A plausible address: one ``@``, a non-empty local part, a domain of dot-separated
    non-empty labels (at least two), no whitespace or control characters."""
    if any(ch.isspace() or ord(ch) < 32 for ch in value) or value.count("@") != 1:
        return FieldProblem.email_malformed
    local, _, domain = value.partition("@")
    labels = domain.split(".")
    if not local or len(labels) < 2 or not all(labels):
        return FieldProblem.email_malformed
    return None


def landing_url_problem(value: str) -> FieldProblem | None:
    """An absolute http(s) URL that :func:`server.partners.codes.safe_landing_url`
    accepts (so a visitor is never redirected to ``javascript:`` or another host)."""
    return FieldProblem.landing_url_unsafe if safe_landing_url(value) is None else None


def inn_problem(value: str) -> FieldProblem | None:
    """An INN: 10 digits (organisation) or 12 digits (individual) with valid check digits.

    10 digits: the 10th is the weighted sum of the first 9 (weights 2 4 10 3 5 9 4 6 8)
    mod 11 mod 10. 12 digits: the 11th and 12th are computed the same way over the first
    10 (weights 7 2 4 10 3 5 9 4 6 8) and the first 11 (3 7 2 4 10 3 5 9 4 6 8).
    """
    if not _digits(value, 10, 12):
        return FieldProblem.inn_malformed
    if len(value) == 10:
        valid = _check_digit(value[:9], _INN_10_WEIGHTS) == int(value[9])
    else:
        valid = _check_digit(value[:10], _INN_12_WEIGHTS_11) == int(value[10]) and (
            _check_digit(value[:11], _INN_12_WEIGHTS_12) == int(value[11])
        )
    return None if valid else FieldProblem.inn_check_digits


def kpp_problem(value: str) -> FieldProblem | None:
    """A KPP: 9 characters, ``NNNNPPNNN``: digits, where ``PP`` may also be capital
    Latin letters."""
    return None if _KPP.fullmatch(value) else FieldProblem.kpp_malformed


def ogrn_problem(value: str) -> FieldProblem | None:
    """An OGRN (13 digits: the first 12 mod 11 mod 10 give the last) or an OGRNIP
    (15 digits: the first 14 mod 13 mod 10 give the last)."""
    if not _digits(value, 13, 15):
        return FieldProblem.ogrn_malformed
    modulus = 11 if len(value) == 13 else 13
    if int(value[:-1]) % modulus % 10 != int(value[-1]):
        return FieldProblem.ogrn_check_digit
    return None


def bik_problem(value: str) -> FieldProblem | None:
    """A BIK: 9 digits."""
    return None if _digits(value, 9) else FieldProblem.bik_malformed


def _account_key_matches(prefix: str, account: str) -> bool:
    """The Bank of Russia control key: over the 3-digit ``prefix`` and the 20-digit
    account, the sum of (digit × weight) mod 10, weights 7 1 3 repeated, ends in 0."""
    digits = prefix + account
    return sum(int(d) * w % 10 for d, w in zip(digits, _ACCOUNT_KEY_WEIGHTS, strict=True)) % 10 == 0


def settlement_account_problem(account: str, bik: str | None = None) -> FieldProblem | None:
    """A settlement account: 20 digits; when a valid ``bik`` is given, the account's
    control key must match it (computed with the BIK's last 3 digits)."""
    if not _digits(account, 20):
        return FieldProblem.account_malformed
    if bik and bik_problem(bik) is None and not _account_key_matches(bik[-3:], account):
        return FieldProblem.account_key_mismatch
    return None


def correspondent_account_problem(account: str, bik: str | None = None) -> FieldProblem | None:
    """A correspondent account: 20 digits starting with 301; when a valid ``bik`` is
    given, the control key must match it (computed with ``"0"`` + the BIK's 5th and 6th
    digits)."""
    if not _digits(account, 20):
        return FieldProblem.account_malformed
    if not account.startswith(CORRESPONDENT_ACCOUNT_PREFIX):
        return FieldProblem.correspondent_account_prefix
    if bik and bik_problem(bik) is None and not _account_key_matches("0" + bik[4:6], account):
        return FieldProblem.account_key_mismatch
    return None


def phone_problem(value: str) -> FieldProblem | None:
    """A phone number: digits with an optional leading ``+``, spaces, dashes and
    parentheses; 7 to 20 digits in all."""
    if not _PHONE.fullmatch(value):
        return FieldProblem.phone_malformed
    count = sum(ch.isdigit() for ch in value)
    if not PHONE_DIGITS_MIN <= count <= PHONE_DIGITS_MAX:
        return FieldProblem.phone_malformed
    return None
