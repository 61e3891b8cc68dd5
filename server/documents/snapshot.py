"""The data a contract is rendered from, as plain JSON, taken once and stored with it.

:func:`agreement_snapshot` reads the partner, the regional terms in force and the
program version those terms name, and turns the program's rules into plain words with
the rules engine's own :func:`~server.rules.plain_words.describe_rule`: the commission
in the contract is the one the engine pays, never retyped. The snapshot holds only
dicts, lists, strings, integers and None, so it goes into a JSON column and into the
sandbox as is, and re-rendering it gives the same text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa

from server.campaigns.queries import campaign_programs
from server.extensions import db
from server.partners.models import Partner, RegionalTerms
from server.partners.terms import terms_summary
from server.programs.models import Program, ProgramVersion
from server.programs.queries import version_in_force, version_spec
from server.rules.plain_words import describe_rule
from server.rules.program import Rule, Scope
from server.rules.templates import default_catalogue

#: the snapshot format written by this code (stored inside every snapshot); version 2
#: added ``programs`` (every program the contract covers), see :func:`upgrade_snapshot`
SNAPSHOT_VERSION = 2

#: currency sign used in plain-words amounts (as :func:`server.i18n.format_money`)
CURRENCY_SIGN = "₽"

#: our side of every contract; ``app.config["DOCUMENTS_COMPANY"]`` overrides it
DEFAULT_COMPANY: dict[str, str] = {
    "name": "Партнерфлоу",
    "legal_name": "ООО «Партнерфлоу»",
    "inn": "7700000000",
    "kpp": "770001001",
    "ogrn": "1027700000000",
    "address": "125009, г. Москва, ул. Тверская, д. 1",
    "bank_name": "АО «Банк»",
    "bik": "044525000",
    "settlement_account": "40702810000000000001",
    "correspondent_account": "30101810000000000000",
    "signatory": "Иванов И. И.",
    "signatory_title": "Генеральный директор",
    "city": "Москва",
}

_CITY = {"ru": "Москва", "en": "Moscow"}


def scope_may_apply(scope: Scope, region_code: str | None, kind: str, partner_code: str) -> bool:
    """Whether a rule's scope can cover sales of this partner (channels, categories and
    dates aside: those vary per sale, so such rules are listed in the contract)."""
    if scope.regions is not None and region_code not in scope.regions:
        return False
    if scope.partner_types is not None and kind not in scope.partner_types:
        return False
    return scope.partners is None or partner_code in scope.partners


def rules_in_words(
    rules: tuple[Rule, ...], language: str, region_code: str | None, kind: str, partner_code: str
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(commission rules, hold rules) that may apply to the partner, in plain words."""
    catalogue = default_catalogue()
    commission: list[dict[str, str]] = []
    holds: list[dict[str, str]] = []
    for rule in rules:
        if not scope_may_apply(rule.scope, region_code, kind, partner_code):
            continue
        entry = {"id": rule.id, "text": describe_rule(rule, catalogue, language, CURRENCY_SIGN)}
        (holds if rule.is_hold else commission).append(entry)
    return commission, holds


def partner_data(partner: Partner) -> dict[str, Any]:
    """The partner as the templates see it."""
    return {
        "code": partner.code,
        "name": partner.name,
        "kind": partner.kind.value,
        "legal_name": partner.legal_name,
        "inn": partner.inn,
        "kpp": partner.kpp,
        "ogrn": partner.ogrn,
        "legal_address": partner.legal_address,
        "bank_name": partner.bank_name,
        "bik": partner.bik,
        "settlement_account": partner.settlement_account,
        "correspondent_account": partner.correspondent_account,
        "email": partner.email,
        "phone": partner.phone,
    }


def _program_entry(version: ProgramVersion, partner: Partner, language: str) -> dict[str, Any]:
    """A program as a contract names it: title, version, dates and its rules that may
    cover the partner, in plain words."""
    commission, holds = rules_in_words(
        version_spec(version).rules,
        language,
        partner.region.code,
        partner.kind.value,
        partner.code,
    )
    return {
        "slug": version.program.slug,
        "title": version.program.title,
        "version": version.number,
        "effective_from": version.effective_from.isoformat() if version.effective_from else None,
        "currency": version.program.currency,
        "commission": commission,
        "holds": holds,
    }


def covered_versions(partner: Partner, main: ProgramVersion, on: date) -> list[ProgramVersion]:
    """The program versions a contract signed on ``on`` covers: the terms' own program's
    (``main``) first, then, by title, each other program's version in force that day
    with a commission rule that may cover the partner. Campaigns' own programs are left
    out: a campaign runs for weeks, a contract for years (the portal and statements
    name campaigns)."""
    others = db.session.scalars(
        sa.select(Program)
        .where(Program.id != main.program_id, Program.id.not_in(campaign_programs()))
        .order_by(Program.title, Program.slug)
    )
    versions = [main]
    for program in others:
        version = version_in_force(program.id, on)
        if version is None:
            continue
        commission, _holds = rules_in_words(
            version_spec(version).rules,
            "en",
            partner.region.code,
            partner.kind.value,
            partner.code,
        )
        if commission:
            versions.append(version)
    return versions


def upgrade_snapshot(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A stored snapshot in the current format: version 1 named one program, so its
    ``programs`` is that one with its rules."""
    document = dict(snapshot)
    if document.get("schema_version", 1) < 2:
        document["programs"] = [
            {
                **document.get("program", {}),
                "commission": document.get("commission", []),
                "holds": document.get("holds", []),
            }
        ]
        document["schema_version"] = 2
    return document


def agreement_snapshot(
    *,
    number: str,
    issued_on: date,
    partner: Partner,
    terms: RegionalTerms,
    program_version: ProgramVersion,
    company: Mapping[str, str] | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """The full data of an agreement, in the terms' contract language (or ``language``,
    for previews of a translation).

    Raises:
        server.rules.program.ProgramError: the stored program version no longer
            validates against the rule templates.
    """
    language = language or terms.contract_language
    company_data = dict(company or DEFAULT_COMPANY)
    company_city = company_data.pop("city", None)
    # The place of signing is the region's (its terms also name the court); the company's
    # city stands in where the terms name none.
    city = terms.contract_city or company_city
    if not city or (language != "ru" and not terms.contract_city):
        city = _CITY.get(language, _CITY["ru"])
    region = partner.region
    spec = version_spec(program_version)
    commission, holds = rules_in_words(
        spec.rules, language, region.code, partner.kind.value, partner.code
    )
    terms_data = terms_summary(terms)
    terms_data.pop("program_version_id")
    return {
        "schema_version": SNAPSHOT_VERSION,
        "language": language,
        "contract": {
            "number": number,
            "date": issued_on.isoformat(),
            "city": city,
        },
        "company": company_data,
        "partner": partner_data(partner),
        "region": {
            "code": region.code,
            "name": region.name_ru if language == "ru" else region.name_en,
        },
        "terms": terms_data,
        "program": {
            "slug": program_version.program.slug,
            "title": program_version.program.title,
            "version": program_version.number,
            "effective_from": (
                program_version.effective_from.isoformat()
                if program_version.effective_from
                else None
            ),
            "currency": program_version.program.currency,
        },
        "commission": commission,
        "holds": holds,
        "programs": [
            _program_entry(version, partner, language)
            for version in covered_versions(partner, program_version, issued_on)
        ],
    }
