"""Bulk writes (COPY on PostgreSQL, executemany on SQLite) read back as ORM writes do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask

from server.db.bulk import (
    IN_LIST_CHUNK,
    InsertStream,
    insert_ignoring_conflicts,
    insert_rows,
    one_of,
    update_rows,
    value_chunks,
)
from server.extensions import db
from server.ledger.models import (
    Accrual,
    AccrualKind,
    AccrualStatus,
    EvaluatedEventId,
    EventStatus,
    EventType,
    PeriodFiguresRow,
    SalesEvent,
)
from server.partners.models import Partner, PartnerKind, PartnerStatus, Region

MOSCOW = timezone(timedelta(hours=3))


def _partner() -> int:
    region = Region(code="A", name_ru="Регион A", name_en="Region A")
    partner = Partner(
        code="P-1", name="Тест", kind=PartnerKind.ambassador, status=PartnerStatus.active
    )
    partner.region = region
    db.session.add(partner)
    db.session.commit()
    return partner.id


def _event(external_id: str, **extra: object) -> dict[str, object]:
    return {
        "source": "shop",
        "external_id": external_id,
        "type": EventType.sale,
        "occurred_at": datetime(2026, 3, 1, 12, 0, tzinfo=MOSCOW),
        "received_at": datetime(2026, 3, 1, 9, 1, tzinfo=UTC),
        "amount": Decimal("1234.5"),
        "payload": {"id": external_id, "note": 'кириллица \t tab, \\ backslash, "quote"'},
        "payload_sha256": "0" * 64,
        "status": EventStatus.pending,
        "attempts": 0,
        **extra,
    }


def test_insert_rows_round_trips_every_column_type(app_ctx: Flask) -> None:
    partner_id = _partner()
    at = datetime(2026, 3, 1, 23, 30, tzinfo=MOSCOW)
    rows = [
        {
            "dedupe_key": f"k{n}",
            "partner_id": partner_id,
            "kind": AccrualKind.commission,
            "amount": Decimal("999999999999.99") if n == 0 else Decimal("-0.01"),
            "points": n,
            "status": AccrualStatus.held,
            "reason": None if n else "velocity\nhold",
            "occurred_at": at,
            "created_at": at,
        }
        for n in range(3)
    ]
    insert_rows(db.session, Accrual.__table__, rows)
    db.session.commit()
    stored = db.session.scalars(sa.select(Accrual).order_by(Accrual.dedupe_key)).all()
    assert [(a.dedupe_key, a.amount, a.points, a.kind, a.status) for a in stored] == [
        ("k0", Decimal("999999999999.99"), 0, AccrualKind.commission, AccrualStatus.held),
        ("k1", Decimal("-0.01"), 1, AccrualKind.commission, AccrualStatus.held),
        ("k2", Decimal("-0.01"), 2, AccrualKind.commission, AccrualStatus.held),
    ]
    assert stored[0].reason == "velocity\nhold" and stored[1].reason is None
    assert {a.occurred_at for a in stored} == {at.astimezone(UTC)}


def test_insert_ignoring_conflicts_returns_only_new_rows_in_order(app_ctx: Flask) -> None:
    first = insert_ignoring_conflicts(
        db.session,
        SalesEvent.__table__,
        [_event("e2"), _event("e1")],
        ("source", "external_id"),
        "external_id",
    )
    second = insert_ignoring_conflicts(
        db.session,
        SalesEvent.__table__,
        [_event("e1"), _event("e3"), _event("e2")],
        ("source", "external_id"),
        "external_id",
    )
    db.session.commit()
    assert first == ["e2", "e1"] and second == ["e3"]
    stored = db.session.execute(
        sa.select(SalesEvent.external_id, SalesEvent.payload, SalesEvent.amount).order_by(
            SalesEvent.id
        )
    ).all()
    # ids follow the order rows were given in; JSON with escapes survives COPY's text format
    assert [row[0] for row in stored] == ["e2", "e1", "e3"]
    assert stored[0][1]["note"] == 'кириллица \t tab, \\ backslash, "quote"'
    assert stored[0][2] == Decimal("1234.50")


def test_update_rows_sets_columns_by_key_in_mixed_shapes(app_ctx: Flask) -> None:
    partner_id = _partner()
    insert_ignoring_conflicts(
        db.session,
        SalesEvent.__table__,
        [_event("a"), _event("b")],
        ("source", "external_id"),
        "external_id",
    )
    ids = dict(db.session.execute(sa.select(SalesEvent.external_id, SalesEvent.id)).all())
    done = datetime(2026, 3, 2, tzinfo=UTC)
    update_rows(
        db.session,
        SalesEvent.__table__,
        [
            {"id": ids["a"], "status": EventStatus.processed, "processed_at": done},
            {
                "id": ids["b"],
                "status": EventStatus.rejected,
                "processed_at": done,
                "partner_id": partner_id,
            },
        ],
    )
    db.session.commit()
    stored = {
        e.external_id: (e.status, e.processed_at, e.partner_id)
        for e in db.session.scalars(sa.select(SalesEvent))
    }
    assert stored == {
        "a": (EventStatus.processed, done, None),
        "b": (EventStatus.rejected, done, partner_id),
    }


def test_update_rows_with_a_composite_key(app_ctx: Flask) -> None:
    key = {"rule": "r", "partner": "P-1"}
    insert_rows(
        db.session,
        PeriodFiguresRow.__table__,
        [
            {
                **key,
                "period": p,
                "sales_amount": Decimal("1.005"),
                "sales_count": 1,
                "new_customers": 0,
                "goal_paid": False,
            }
            for p in ("2026-03", "2026-Q1")
        ],
    )
    update_rows(
        db.session,
        PeriodFiguresRow.__table__,
        [{**key, "period": "2026-Q1", "sales_amount": Decimal("2.0050"), "goal_paid": True}],
        keys=("rule", "partner", "period"),
    )
    db.session.commit()
    stored = {
        row.period: (row.sales_amount, row.goal_paid)
        for row in db.session.scalars(sa.select(PeriodFiguresRow))
    }
    # ExactDecimal keeps the engine's scale: 2.0050 stays 2.0050
    assert stored == {
        "2026-03": (Decimal("1.005"), False),
        "2026-Q1": (Decimal("2.0050"), True),
    }
    assert str(stored["2026-Q1"][0]) == "2.0050"


def test_rows_of_different_shapes_are_refused(app_ctx: Flask) -> None:
    with pytest.raises(ValueError, match="same keys"):
        insert_rows(
            db.session, PeriodFiguresRow.__table__, [{"rule": "r"}, {"rule": "r", "partner": "p"}]
        )
    with pytest.raises(ValueError, match="key columns"):
        update_rows(db.session, SalesEvent.__table__, [{"status": EventStatus.processed}])
    db.session.rollback()


def _accrual(n: int, partner_id: int) -> dict[str, object]:
    return {
        "dedupe_key": f"s{n}",
        "partner_id": partner_id,
        "kind": AccrualKind.commission,
        "amount": Decimal(n),
        "points": 0,
        "status": AccrualStatus.approved,
        "created_at": datetime(2026, 3, 1, tzinfo=UTC),
    }


def test_insert_stream_survives_a_query_between_writes(app_ctx: Flask) -> None:
    partner_id = _partner()
    with InsertStream(db.session, Accrual.__table__) as stream:
        stream.write([_accrual(1, partner_id), _accrual(2, partner_id)])
        stream.suspend()  # a query may run now (on PostgreSQL the COPY is ended)
        assert db.session.scalar(sa.select(sa.func.count(Partner.id))) == 1
        stream.write([_accrual(3, partner_id)])
        stream.write([])
    db.session.commit()
    assert stream.written == 3
    assert db.session.scalars(sa.select(Accrual.amount).order_by(Accrual.id)).all() == [
        Decimal("1.00"),
        Decimal("2.00"),
        Decimal("3.00"),
    ]


def test_a_query_between_writes_ends_the_copy_by_itself(app_ctx: Flask) -> None:
    # on PostgreSQL a statement during an open COPY fails ("another command is already
    # in progress") unless the stream ends it first: callers need not know
    partner_id = _partner()
    streamed = db.session.get_bind().dialect.name == "postgresql"  # SQLite: at the end
    with InsertStream(db.session, Accrual.__table__) as stream:
        stream.write([_accrual(1, partner_id)])
        assert db.session.scalar(sa.select(sa.func.count(Partner.id))) == 1
        stream.write([_accrual(2, partner_id)])
        assert db.session.scalar(sa.select(sa.func.count(Accrual.id))) == (2 if streamed else 0)
    db.session.commit()
    assert db.session.scalars(sa.select(Accrual.amount).order_by(Accrual.id)).all() == [
        Decimal("1.00"),
        Decimal("2.00"),
    ]


def test_an_error_inside_the_stream_writes_nothing(app_ctx: Flask) -> None:
    partner_id = _partner()
    with (
        pytest.raises(RuntimeError, match="engine failed"),
        InsertStream(db.session, Accrual.__table__) as stream,
    ):
        stream.write([_accrual(1, partner_id)])
        raise RuntimeError("engine failed")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Accrual.id))) == 0
    with (
        pytest.raises(ValueError, match="same keys"),
        InsertStream(db.session, Accrual.__table__) as stream,
    ):
        stream.write([_accrual(1, partner_id)])
        stream.write([{"dedupe_key": "short"}])
    db.session.rollback()


def test_one_of_finds_exactly_the_given_values_in_chunks(app_ctx: Flask) -> None:
    stored = [f"ev-{n:05d}" for n in range(1200)]
    insert_rows(db.session, EvaluatedEventId.__table__, [{"event_id": i} for i in stored])
    wanted = [*stored[::3], "ev-absent", "ev-'quote", *stored[::3]]  # repeats, strangers
    chunks = list(value_chunks(db.session, wanted))
    found: list[str] = []
    for chunk in chunks:
        found.extend(
            db.session.scalars(
                sa.select(EvaluatedEventId.event_id).where(
                    one_of(db.session, EvaluatedEventId.event_id, chunk)
                )
            )
        )
    assert sorted(found) == stored[::3]
    assert sorted(v for chunk in chunks for v in chunk) == sorted(set(wanted))
    postgres = db.engine.dialect.name == "postgresql"
    assert len(chunks) == (1 if postgres else -(-len(set(wanted)) // IN_LIST_CHUNK))
    assert list(value_chunks(db.session, [])) == []
