"""The demo loads on both databases, its ledger is what the engine pays, and the first
page a manager sees shows it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
import time_machine
from flask import Flask

from server.demo.commands import PROGRAM_FILE, load_demo
from server.demo.data import DEMO_USERS, demo_partners
from server.demo.events import MOSCOW, demo_events
from server.extensions import db
from server.ledger.models import Accrual, EventStatus, SalesEvent
from server.partners.models import Partner, PartnerKind
from server.partners.queries import partner_directory
from server.programs.models import ProgramVersion, VersionStatus
from server.rules.evaluator import Accrual as AccrualOutcome
from server.rules.evaluator import Evaluator
from server.rules.program import load_program_file
from tests.support.clock import SUITE_DEMO_WINDOW


def _ledger_lines() -> list[tuple[str, str, str, str, Decimal, int, str, int | None, str | None]]:
    rows = db.session.execute(
        sa.select(
            SalesEvent.external_id,
            Partner.code,
            Accrual.rule_key,
            Accrual.kind,
            Accrual.amount,
            Accrual.points,
            Accrual.status,
            Accrual.level,
            Accrual.reverses,
        )
        .join(Accrual.event)
        .join(Accrual.partner)
        .order_by(Accrual.id)
    ).all()
    return [
        (e, p, r, k.value, a, pts, s.value, lvl, rev) for e, p, r, k, a, pts, s, lvl, rev in rows
    ]


def test_demo_loads_a_ledger_equal_to_a_fresh_evaluation(app: Flask) -> None:
    with app.app_context():
        report = load_demo()
        assert report.partners == 30
        kinds = {kind for (kind,) in db.session.execute(sa.select(Partner.kind).distinct())}
        assert kinds == set(PartnerKind)
        assert (
            db.session.scalar(
                sa.select(sa.func.count(Partner.id)).where(Partner.parent_id.is_not(None))
            )
            >= 20
        )
        published = db.session.scalars(
            sa.select(ProgramVersion).where(ProgramVersion.status == VersionStatus.published)
        ).all()
        assert len(published) == 1 and len(published[0].rules) == 14
        # Every kind of outcome is present: holds, reversals, rejections, rewards, points.
        statuses = dict(
            db.session.execute(
                sa.select(SalesEvent.status, sa.func.count()).group_by(SalesEvent.status)
            ).all()
        )
        assert statuses[EventStatus.rejected] > 0 and statuses[EventStatus.processed] > 4000
        stored = _ledger_lines()

        evaluator = Evaluator(load_program_file(PROGRAM_FILE), partner_directory())
        expected = [
            (
                o.event,
                o.partner,
                o.rule,
                o.kind.value,
                o.amount,
                o.points,
                o.status.value,
                o.level,
                o.reverses,
            )
            for payload in demo_events(demo_partners(), SUITE_DEMO_WINDOW)
            for o in evaluator.process({k: v for k, v in payload.items() if not k.startswith("_")})
            if isinstance(o, AccrualOutcome)
        ]
        assert stored == expected
        assert {line[6] for line in stored} == {"approved", "held"}
        assert any(line[8] for line in stored)  # reversals
        assert {line[3] for line in stored} >= {
            "commission",
            "bonus",
            "override",
            "points",
            "reward",
        }


def test_manager_first_page_shows_real_data_and_loads_nothing_from_outside(app: Flask) -> None:
    with app.app_context():
        load_demo()
        from server.ledger.queries import top_partners

        leader = top_partners(1)[0][0].name  # the ranking's first partner, from the ledger
    manager = next(user for user in DEMO_USERS if user.username == "manager")
    client = app.test_client()
    client.post("/login/", data={"username": manager.username, "password": manager.password})
    page = client.get("/").get_data(as_text=True)
    assert "Обзор партнёрской программы" in page  # Russian is the default language
    assert re.search(r'data-kpi="partners">\s*2[0-9] / 30', page)
    assert "Региональная партнёрская программа 2026" in page
    ranking = page.split('id="ranking"')[1].split("</table>")[0]
    assert leader in ranking
    for url in (
        "/",
        "/partnerview/list/",
        "/regionview/list/",
        "/programview/list/",
        "/accrualview/list/",
        "/saleseventview/list/",
    ):
        body = client.get(url).get_data(as_text=True)
        external = re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', body)
        assert external == [], (url, external)
    partners_page = client.get("/partnerview/list/").get_data(as_text=True)
    assert "A-AMB-01" in partners_page


def test_the_demo_loaded_on_any_day_shows_that_month(app: Flask) -> None:
    # Regression: the history was fixed to 2026-06-01 … 2026-11-20, so from December on the
    # partner's «Этот месяц» was empty for everyone who tried the demo.
    with time_machine.travel(datetime(2027, 4, 10, 9, 0, tzinfo=UTC), tick=True):
        with app.app_context():
            load_demo()
            newest = db.session.scalar(sa.select(sa.func.max(SalesEvent.occurred_at)))
            oldest = db.session.scalar(sa.select(sa.func.min(SalesEvent.occurred_at)))
        assert newest is not None and oldest is not None
        assert newest.astimezone(MOSCOW).date() == date(2027, 4, 9)
        assert oldest.astimezone(MOSCOW).date() == date(2026, 11, 1)
        client = app.test_client()
        client.post("/login/", data={"username": "partner", "password": "partner-demo"})
        home = client.get("/portal/").get_data(as_text=True)
    month = re.search(r'data-kpi="month">([^<]+)<', home)
    assert month, home
    assert month.group(1) not in ("0,00 ₽", "0.00 ₽"), month.group(1)
    recent = home.split("This month's accruals")[-1] if "This month's" in home else home
    assert re.search(r"\b0\d\.04\.2027\b", recent), recent  # a day of April 1–9, in Russian


def test_the_first_page_says_what_needs_doing_today_per_role(app: Flask) -> None:
    with app.app_context():
        load_demo()
    manager = app.test_client()
    manager.post("/login/", data={"username": "manager", "password": "manager-demo"})
    page = manager.get("/").get_data(as_text=True)
    todo = page.split('id="todays-work"')[1].split("<!-- /todays-work -->")[0]
    assert "Что нужно сделать сегодня" in todo
    holds = re.search(r'data-todo="holds"><span class="pf-count pf-wait">(\d+)</span>', todo)
    assert holds and int(holds.group(1)) > 0  # the demo holds large and repeated sales
    # the suite's day is 2026-11-21: June to October are ended and not closed
    assert re.search(r'data-todo="periods"><span class="pf-count pf-wait">5</span>', todo)
    assert 'href="/holdreviewview/list/"' in todo and 'href="/statements/"' in todo
    legal = app.test_client()
    legal.post("/login/", data={"username": "legal", "password": "legal-demo"})
    legal_todo = legal.get("/").get_data(as_text=True).split('id="todays-work"')[1]
    legal_todo = legal_todo.split("<!-- /todays-work -->")[0]
    # only what the role may act on: a lawyer reviews no holds and closes no periods
    assert 'data-todo="holds"' not in legal_todo and 'data-todo="periods"' not in legal_todo
