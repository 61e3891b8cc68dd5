"""The accruals' references hold on both databases: foreign keys on SQLite, statement
triggers on PostgreSQL (server/db/references.py). Each guarantee a foreign key gives is
asserted the same way on both, so the triggers are held to the foreign keys' standard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_appbuilder import Model

from server.db.bulk import InsertStream, insert_rows
from server.db.references import TRIGGER_CHECKED
from server.extensions import db
from server.ledger.models import Accrual, AccrualKind, AccrualStatus, EventStatus, SalesEvent
from server.partners.models import Partner, PartnerKind, PartnerStatus, Region
from server.programs.models import Program, ProgramVersion, RuleInstance

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

#: the referenced table of each trigger-checked column
PARENTS: dict[str, type[Model]] = {
    "partner_id": Partner,
    "event_id": SalesEvent,
    "rule_instance_id": RuleInstance,
    "program_version_id": ProgramVersion,
}


@pytest.fixture
def refs(app_ctx: Flask) -> dict[str, int]:
    """One row of each referenced table: {column of accruals: its id}."""
    partner = Partner(
        code="P-1",
        name="Тест",
        kind=PartnerKind.ambassador,
        status=PartnerStatus.active,
        region=Region(code="A", name_ru="Регион A", name_en="Region A"),
    )
    version = ProgramVersion(program=Program(slug="p", title="P"), number=1)
    rule = RuleInstance(
        program_version=version, position=0, rule_key="r", template_key="percent_commission"
    )
    event = SalesEvent(
        source="shop",
        external_id="e-1",
        occurred_at=AT,
        payload={"id": "e-1"},
        payload_sha256="0" * 64,
        status=EventStatus.processed,
    )
    db.session.add_all([partner, version, rule, event])
    db.session.commit()
    return {
        "partner_id": partner.id,
        "event_id": event.id,
        "rule_instance_id": rule.id,
        "program_version_id": version.id,
    }


def _accrual(refs: dict[str, int], key: str, **override: int | None) -> dict[str, object]:
    return {
        "dedupe_key": key,
        "kind": AccrualKind.commission,
        "amount": 10,
        "points": 0,
        "status": AccrualStatus.approved,
        "created_at": AT,
        **refs,
        **override,
    }


def _accruals() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Accrual)) or 0


def test_every_trigger_checked_reference_is_tested() -> None:
    assert {("accruals", column) for column in PARENTS} == TRIGGER_CHECKED


def test_accruals_with_existing_references_are_written(refs: dict[str, int]) -> None:
    insert_rows(db.session, Accrual.__table__, [_accrual(refs, "ok")])
    db.session.commit()
    assert _accruals() == 1


@pytest.mark.parametrize("column", sorted(PARENTS))
def test_an_accrual_referring_to_a_missing_row_is_refused(
    refs: dict[str, int], column: str
) -> None:
    db.session.add(Accrual(**_accrual(refs, "bad", **{column: refs[column] + 1000})))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert _accruals() == 0


@pytest.mark.parametrize("column", sorted(PARENTS))
def test_one_bad_row_refuses_the_whole_streamed_batch(refs: dict[str, int], column: str) -> None:
    rows = [_accrual(refs, f"k{n}") for n in range(500)]
    rows[317] = _accrual(refs, "k317", **{column: refs[column] + 1000})
    stream = InsertStream(db.session, Accrual.__table__)
    with pytest.raises(sa.exc.IntegrityError), stream:  # raised where the stream ends
        stream.write(rows[:300])
        stream.write(rows[300:])
    db.session.rollback()
    assert _accruals() == 0


def test_an_accrual_cannot_be_repointed_at_a_missing_row(refs: dict[str, int]) -> None:
    insert_rows(db.session, Accrual.__table__, [_accrual(refs, "ok")])
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.update(Accrual).values(partner_id=refs["partner_id"] + 1000))
    db.session.rollback()


@pytest.mark.parametrize("column", sorted(PARENTS))
def test_a_referenced_row_cannot_be_deleted(refs: dict[str, int], column: str) -> None:
    rules = RuleInstance.__table__
    # the program version is also the rule's: so that only the accrual holds it, the
    # accrual leaves the rule out, which may then go (nothing else refers to it)
    alone = column == "program_version_id"
    insert_rows(
        db.session,
        Accrual.__table__,
        [_accrual(refs, "ok", rule_instance_id=None) if alone else _accrual(refs, "ok")],
    )
    if alone:
        db.session.execute(sa.delete(rules).where(rules.c.id == refs["rule_instance_id"]))
    db.session.commit()
    parent = PARENTS[column].__table__
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.delete(parent).where(parent.c.id == refs[column]))
    db.session.rollback()
    assert db.session.get(PARENTS[column], refs[column]) is not None


def test_a_referenced_row_cannot_be_renumbered(refs: dict[str, int]) -> None:
    insert_rows(db.session, Accrual.__table__, [_accrual(refs, "ok")])
    db.session.commit()
    table = Partner.__table__
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.update(table)
            .where(table.c.id == refs["partner_id"])
            .values(id=refs["partner_id"] + 1000)
        )
    db.session.rollback()


def test_emptying_a_referenced_table_is_refused(refs: dict[str, int]) -> None:
    insert_rows(db.session, Accrual.__table__, [_accrual(refs, "ok")])
    db.session.commit()
    postgres = db.engine.dialect.name == "postgresql"
    # PostgreSQL empties a table with TRUNCATE, which skips row triggers; SQLite deletes
    statement = "TRUNCATE rule_instances" if postgres else "DELETE FROM rule_instances"
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text(statement))
    db.session.rollback()
    assert db.session.get(RuleInstance, refs["rule_instance_id"]) is not None


@contextmanager
def impatient(connection: sa.Connection) -> Iterator[None]:
    """For the connection's current transaction: give up at once (OperationalError) on a
    locked row (PostgreSQL) or a locked file (SQLite), instead of waiting."""
    postgres = connection.dialect.name == "postgresql"
    connection.exec_driver_sql(
        "SET LOCAL lock_timeout = '100ms'" if postgres else "PRAGMA busy_timeout = 0"
    )
    try:
        yield
    finally:
        if not postgres:  # PostgreSQL's SET LOCAL ends with the transaction
            connection.exec_driver_sql("PRAGMA busy_timeout = 30000")


@pytest.fixture
def other_connection(app_ctx: Flask) -> Iterator[sa.Connection]:
    """A second connection to the database."""
    with db.engine.connect() as connection:
        yield connection
        connection.rollback()


def test_a_partner_cannot_be_deleted_under_an_uncommitted_accrual(
    refs: dict[str, int], other_connection: sa.Connection
) -> None:
    partners = Partner.__table__
    delete = sa.delete(partners).where(partners.c.id == refs["partner_id"])
    insert_rows(db.session, Accrual.__table__, [_accrual(refs, "in-flight")])  # not committed
    with impatient(other_connection), pytest.raises(sa.exc.OperationalError):
        other_connection.execute(delete)  # the accrual's lock on the partner
    other_connection.rollback()
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):  # the committed accrual refers to it
        other_connection.execute(delete)
    other_connection.rollback()
    assert db.session.get(Partner, refs["partner_id"]) is not None


def test_an_accrual_cannot_refer_to_a_partner_being_deleted(
    refs: dict[str, int], other_connection: sa.Connection
) -> None:
    partners = Partner.__table__
    other_connection.execute(sa.delete(partners).where(partners.c.id == refs["partner_id"]))
    with impatient(db.session.connection()), pytest.raises(sa.exc.OperationalError):
        # the deletion's lock on the partner
        insert_rows(db.session, Accrual.__table__, [_accrual(refs, "late")])
    db.session.rollback()
    other_connection.commit()
    with pytest.raises(sa.exc.IntegrityError):  # and once it is deleted, it is missing
        insert_rows(db.session, Accrual.__table__, [_accrual(refs, "late")])
    db.session.rollback()
    assert _accruals() == 0
