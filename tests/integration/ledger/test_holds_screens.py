"""The hold review screens: list with reason and event, decisions one by one and in bulk."""

from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask

from server.demo.commands import load_demo
from server.extensions import db
from server.ledger.holds import pending_filter
from server.ledger.models import Accrual, AccrualKind, AccrualStatus, HoldDecision, HoldVerdict
from server.security.roles import Role
from tests.support.factories import held, partner, payable, sale
from tests.support.web import login


def _three_held(app: Flask) -> list[int]:
    with app.app_context():
        owner = partner("SHOP-7")
        ids = [
            held(sale(f"sale-{i}", owner, customer=f"клиент-{i}"), owner, f"{i}11.00").id
            for i in range(1, 4)
        ]
        db.session.commit()
        return ids


def test_anonymous_visitors_cannot_see_or_decide_holds(app: Flask) -> None:
    ids = _three_held(app)
    client = app.test_client()
    for url in ("/holdreviewview/list/", f"/holdreviewview/show/{ids[0]}"):
        assert client.get(url).status_code in (302, 401, 403)
    response = client.post(f"/holdreviewview/decide/{ids[0]}", data={"approve": "1"})
    assert response.status_code in (302, 401, 403)
    response = client.post(
        "/holdreviewview/action_post", data={"action": "approve", "rowid": [str(i) for i in ids]}
    )
    assert response.status_code in (302, 401, 403)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(HoldDecision.id))) == 0


def test_legal_role_cannot_review_holds(app: Flask) -> None:
    ids = _three_held(app)
    client = login(app, Role.LEGAL)
    assert client.get("/holdreviewview/list/").status_code in (302, 403)
    client.post(f"/holdreviewview/decide/{ids[0]}", data={"approve": "1"})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(HoldDecision.id))) == 0


def test_list_shows_reason_event_and_customer(app: Flask) -> None:
    _three_held(app)
    client = login(app)
    page = client.get("/holdreviewview/list/").get_data(as_text=True)
    assert "hold-large" in page
    assert "shop/sale-2" in page
    assert "клиент-3" in page
    assert "211,00" in page  # money in the Russian format


def test_single_decision_with_comment_then_second_is_refused(app: Flask) -> None:
    ids = _three_held(app)
    client = login(app)
    show = client.get(f"/holdreviewview/show/{ids[0]}").get_data(as_text=True)
    assert "hold-large" in show

    response = client.post(
        f"/holdreviewview/decide/{ids[0]}", data={"reject": "1", "comment": "чек не найден"}
    )
    assert response.status_code == 302
    again = client.post(
        f"/holdreviewview/decide/{ids[0]}", data={"approve": "1"}, follow_redirects=True
    )
    assert again.status_code == 200
    with app.app_context():
        forfeit = db.session.scalar(sa.select(Accrual).where(Accrual.kind == AccrualKind.forfeit))
        assert forfeit is not None and forfeit.reason == "чек не найден"
        assert db.session.scalar(sa.select(sa.func.count(HoldDecision.id))) == 1
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(Accrual.kind == AccrualKind.release))
            == 0
        )
        decided_at = db.session.scalar(sa.select(HoldDecision.decided_at))
        assert decided_at is not None
    page = again.get_data(as_text=True)
    assert "окончательное" in page
    # the decision's instant as a Russian reader writes it, with its zone once
    assert f"{decided_at:%d.%m.%Y %H:%M} UTC." in page
    listed = client.get("/holdreviewview/list/").get_data(as_text=True)
    assert "shop/sale-1" not in listed  # decided rows leave the review list


def test_bulk_action_approves_the_selected_rows_only(app: Flask) -> None:
    ids = _three_held(app)
    client = login(app)
    response = client.post(
        "/holdreviewview/action_post",
        data={"action": "approve", "rowid": [str(ids[0]), str(ids[2])], "comment": "ok"},
    )
    assert response.status_code == 302
    with app.app_context():
        decided = dict(
            db.session.execute(sa.select(HoldDecision.accrual_id, HoldDecision.verdict)).all()
        )
        assert decided == {ids[0]: HoldVerdict.approve, ids[2]: HoldVerdict.approve}
        owner_id = db.session.get(Accrual, ids[0]).partner_id
        total = db.session.scalar(
            sa.select(sa.func.sum(Accrual.amount)).where(
                Accrual.partner_id == owner_id, Accrual.status == AccrualStatus.approved
            )
        )
        assert total == Decimal("111.00") + Decimal("311.00")


def test_bulk_action_needs_a_csrf_token_when_csrf_is_on(app: Flask) -> None:
    ids = _three_held(app)
    client = login(app)
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/holdreviewview/list/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None  # FAB's action form carries the token
    rowids = [str(i) for i in ids]

    response = client.post(
        "/holdreviewview/action_post", data={"action": "reject", "rowid": rowids}
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(HoldDecision.id))) == 0

    response = client.post(
        "/holdreviewview/action_post",
        data={
            "action": "reject",
            "rowid": rowids,
            "csrf_token": token.group(1),
            "comment": "самовыкуп",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(HoldDecision.id))) == 3


def test_demo_holds_are_listed_and_bulk_approved(app: Flask) -> None:
    with app.app_context():
        load_demo()
        pending = db.session.scalars(
            sa.select(Accrual.id).where(pending_filter()).order_by(Accrual.id).limit(5)
        ).all()
        assert len(pending) == 5
        owners = {db.session.get(Accrual, i).partner_id for i in pending}
        before = {o: payable(db.session.get(Accrual, pending[0]).partner) for o in owners}
    client = login(app)
    listed = client.get("/holdreviewview/list/").get_data(as_text=True)
    assert "Задержка" in listed  # the hold rule by its template's name
    for key in ("large-sale", "velocity", "self-referral"):
        assert key not in listed
    # a on_hold accrual's page names its rules in words, not by their ids in the program
    show = client.get(f"/holdreviewview/show/{pending[0]}").get_data(as_text=True)
    assert "Задержка" in show and "задерживаются до проверки" in show
    for key in ("large-sale", "velocity", "self-referral"):
        assert f">{key}<" not in show
    client.post(
        "/holdreviewview/action_post",
        data={"action": "approve", "rowid": [str(i) for i in pending]},
    )
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(HoldDecision.id)).where(
                    HoldDecision.accrual_id.in_(pending)
                )
            )
            == 5
        )
        released = db.session.scalar(
            sa.select(sa.func.sum(Accrual.amount)).where(
                Accrual.kind == AccrualKind.release, Accrual.reverses_accrual_id.in_(pending)
            )
        )
        held_sum = db.session.scalar(
            sa.select(sa.func.sum(Accrual.amount)).where(Accrual.id.in_(pending))
        )
        assert released is not None and released >= held_sum  # reversals may reduce it further
        assert before  # payable read before the decision
