"""A manager decides held accruals in Chromium, in Russian, as a new user would: from
the menu to a held accrual, a rejection that first forgets its reason, an approval with
a comment, then the ledger. A decided accrual must read as decided, in Russian."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page

from server.extensions import db
from server.ledger.holds import REJECTED_REASON
from server.ledger.models import Accrual, AccrualKind, AccrualStatus, HoldDecision, HoldVerdict
from server.security.roles import Role
from tests.browser.conftest import log_in, screenshot
from tests.integration.workflows.conftest import PASSWORD, make_user
from tests.support.factories import AT, held, partner, sale


@pytest.fixture
def held_world(app: Flask) -> Iterator[dict[str, int | str]]:
    from flask_appbuilder.security.sqla.models import User

    with app.app_context():
        owner = partner("SHOP-9")
        to_reject = held(sale("sale-1", owner, customer="клиент-1"), owner, "1500.00")
        to_approve = held(sale("sale-2", owner, customer="клиент-2"), owner, "2500.00")
        # a forfeit written before a rejection needed a reason, as older ledgers hold it
        old = held(sale("sale-3", owner), owner, "100.00")
        db.session.add(
            Accrual(
                dedupe_key=f"forfeit|{old.id}",
                event_id=old.event_id,
                partner_id=owner.id,
                rule_key="cps",
                kind=AccrualKind.forfeit,
                amount=0,
                points=0,
                status=AccrualStatus.approved,
                reason=REJECTED_REASON,
                reverses_accrual_id=old.id,
                occurred_at=AT,
            )
        )
        db.session.add(HoldDecision(accrual_id=old.id, verdict=HoldVerdict.reject, decided_at=AT))
        db.session.commit()
        manager_id = make_user(Role.MANAGER)
        username = db.session.get(User, manager_id).username
        yield {"reject": to_reject.id, "approve": to_approve.id, "username": username}


def _open_from_menu(page: Page, accrual_id: int) -> None:
    page.click("a.dropdown-toggle:has-text('Учёт')")
    with page.expect_navigation():
        page.click("a:has-text('Проверка задержек')")
    with page.expect_navigation():
        page.click(f'a[href$="/holdreviewview/show/{accrual_id}"]')


def _decision(app: Flask, accrual_id: int) -> HoldDecision | None:
    with app.app_context():
        db.session.expire_all()
        return db.session.scalar(
            sa.select(HoldDecision).where(HoldDecision.accrual_id == accrual_id)
        )


@pytest.mark.browser
def test_holds_manager_rejects_with_reason_and_approves_with_comment(
    app: Flask,
    live_server: str,
    page: Page,
    held_world: dict,
) -> None:
    log_in(page, live_server, str(held_world["username"]), PASSWORD)

    # -- a rejection needs a reason: the form says so and nothing is decided ------
    _open_from_menu(page, held_world["reject"])
    screenshot(page, "hold-review-ru-undecided")
    with page.expect_navigation():
        page.click("input[name=reject]")
    assert _decision(app, held_world["reject"]) is None
    assert "Укажите причину отказа" in page.inner_text("form")
    page.fill("textarea[name=comment]", "Чек не найден в кассе")
    with page.expect_navigation():
        page.click("input[name=reject]")
    decision = _decision(app, held_world["reject"])
    assert decision is not None and decision.comment == "Чек не найден в кассе"
    status = page.inner_text("[data-status]")
    assert "отклонено" in status and "удержан" not in status
    assert "Чек не найден в кассе" in page.inner_text("[data-decision]")

    # -- an approval's comment is kept and shown; the accrual reads as approved ----
    with page.expect_navigation():
        page.click("a:has-text('К задержанным начислениям')")
    with page.expect_navigation():
        page.click(f'a[href$="/holdreviewview/show/{held_world["approve"]}"]')
    page.fill("textarea[name=comment]", "Проверено по выписке банка")
    with page.expect_navigation():
        page.click("input[name=approve]")
    status = page.inner_text("[data-status]")
    assert "одобрено" in status and "удержан" not in status
    decided = page.inner_text("[data-decision]")
    assert "Проверено по выписке банка" in decided
    assert str(held_world["username"]) in decided
    screenshot(page, "hold-review-ru")

    # -- the ledger: the approval's comment and the old forfeit's reason in Russian
    page.click("a.dropdown-toggle:has-text('Учёт')")
    with page.expect_navigation():
        page.click("ul.dropdown-menu a:has-text('Начисления')")
    ledger = page.inner_text("body")
    assert "Проверено по выписке банка" in ledger
    assert "Чек не найден в кассе" in ledger
    assert "отклонено менеджером" in ledger
    assert "rejected by manager" not in ledger
    screenshot(page, "hold-review-ru-ledger")
