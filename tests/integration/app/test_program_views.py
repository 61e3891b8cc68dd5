"""The programs' read views: a version's rules tab reads as sentences, in both languages."""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.partners.terms import TermsDraft, add_terms_version
from server.programs.models import ProgramVersion, RuleInstance
from server.rules.plain_words import describe_rule
from server.rules.program import load_program_file
from server.rules.templates import default_catalogue
from server.security.commands import NewUser, create_user
from server.security.roles import Role
from tests.integration.workspace.helpers import BASIC, load_basic


def test_the_rules_tab_says_each_rule_in_plain_words(app: Flask) -> None:
    with app.app_context():
        version_id = load_basic().id
        create_user(NewUser("legal", "secret-pass-1", Role.LEGAL, "L", "L", "l@x.test"))
    program = load_program_file(BASIC / "program.yaml")
    catalogue = default_catalogue()
    client = app.test_client()
    client.post("/login/", data={"username": "legal", "password": "secret-pass-1"})
    for lang in ("ru", "en"):
        client.get(f"/lang/{lang}")
        page = html.unescape(client.get(f"/programversionview/show/{version_id}").text)
        for rule in program.rules:
            sentence = describe_rule(rule, catalogue, lang, program.currency)
            assert sentence in page, (lang, sentence)
        assert "{'rate'" not in page  # the parameters' dicts were the column before
        assert catalogue["percent_of_sale"].title[lang] in page  # not the template key
        assert "object at 0x" not in page  # the version's rules, printed as Python
    assert "Простыми словами" not in page and "In plain words" in page

    with app.app_context():
        rule = db.session.scalars(
            sa.select(RuleInstance).where(RuleInstance.program_version_id == version_id)
        ).first()
        assert rule is not None
        rule.params = {"rate": "many"}  # no longer valid for its template
        db.session.commit()
        rule_id = rule.id
    shown = client.get(f"/ruleinstanceview/show/{rule_id}")
    assert (
        shown.status_code == 200 and "—" in shown.text and "Rate, %: many" in shown.text
    )  # the key in words
    for url in ("/programview/list/", "/regionview/list/"):
        assert client.get(url).status_code == 200
    with app.app_context():
        version = db.session.get(ProgramVersion, version_id)
        assert version is not None
        program_id = version.program_id
        # a region with terms: its record lists them (printed as Python objects before)
        terms = add_terms_version(
            "A", TermsDraft(date(2026, 1, 1), 30, Decimal("1000"), "право РФ")
        )
        region_id, terms_name = terms.region_id, str(terms)
    program_page = html.unescape(client.get(f"/programview/show/{program_id}").text)
    assert "object at 0x" not in program_page and "v1 (published)" in program_page
    region_page = html.unescape(client.get(f"/regionview/show/{region_id}").text)
    assert "object at 0x" not in region_page and terms_name in region_page
