"""Statements by program on both databases: a partner that earned in two programs gets
one section per program, each with its own totals, and the sections add up to the
period's total and the closing balance to the kopeck; the PDF prints them."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.ledger.models import Accrual, AccrualStatus
from server.programs.models import Program
from server.statements.commands import render_statement, statement_data, statement_pdf
from server.statements.models import Statement, StatementStatus
from tests.integration.statements.programs_world import TITLES, load_two_programs, make_campaign_of


def test_a_partner_in_two_programs_gets_a_section_per_program_that_adds_up(
    app: Flask, tmp_path: Path
) -> None:
    app.config["FILES_DIR"] = str(tmp_path / "files")
    with app.app_context():
        world = load_two_programs()
        statement = db.session.get(Statement, world.statement_id)
        assert statement is not None
        data, _template = statement_data(statement)
        sections = {section["slug"]: section for section in data["programs"]}
        assert set(sections) == {"web-2026", "stores-2026"}
        # each section holds exactly its program's approved rows
        by_program = dict(
            db.session.execute(
                sa.select(Program.slug, sa.func.sum(Accrual.amount))
                .join(Program, Program.id == Accrual.program_id)
                .where(
                    Accrual.partner_id == world.partner_id,
                    Accrual.status == AccrualStatus.approved,
                )
                .group_by(Program.slug)
            ).all()
        )
        for slug, section in sections.items():
            assert section["title"] == TITLES[slug]
            assert Decimal(section["totals"]["change"]) == by_program[slug]
            assert Decimal(section["totals"]["change"]) > 0
        total = sum((Decimal(s["totals"]["change"]) for s in data["programs"]), Decimal(0))
        total += Decimal(data["other"]["totals"]["change"])
        assert total == Decimal(data["totals"]["change"])
        assert statement.opening_balance + total == statement.closing_balance
        # the goal bonus is in the web program's section, the tiers in the stores'
        web_rules = {group["rule"] for group in sections["web-2026"]["groups"]}
        stores_rules = {group["rule"] for group in sections["stores-2026"]["groups"]}
        assert "two-sales" in web_rules and "store-tiers" in stores_rules
        assert not web_rules & stores_rules

        assert render_statement(world.statement_id) is StatementStatus.ready
        path, _name = statement_pdf(world.statement_id)
        text = " ".join(
            subprocess.run(
                ["pdftotext", "-layout", str(path), "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
        )
        assert "Программа «Онлайн-партнёры 2026»" in text
        assert "Программа «Сеть магазинов 2026»" in text
        assert "Итого за период (к выплате)" in text
        assert "web-2026" not in text and "stores-2026" not in text  # titles, not slugs


def test_a_campaigns_own_program_is_a_section_titled_by_its_campaign(
    app: Flask, tmp_path: Path
) -> None:
    """A campaign's rules live in a small program of its own: its rows get their own
    section, named for the campaign (not the program's slug), after the programs."""
    from server.campaigns.models import CampaignStatus

    app.config["FILES_DIR"] = str(tmp_path / "files")
    with app.app_context():
        world = load_two_programs()
        make_campaign_of("web-2026", CampaignStatus.closed)
        statement = db.session.get_one(Statement, world.statement_id)
        data, _template = statement_data(statement)
        assert [(s["heading"], s["campaign"]) for s in data["programs"]] == [
            ("Программа «Сеть магазинов 2026»", False),
            ("Кампания «Весенняя распродажа»", True),
        ]
