"""The database connection drops in the middle of a batch: nothing half-written, and the
next run gives the ledger `simulate` gives."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.ledger.evaluation import evaluate_pending
from server.ledger.models import Accrual, EventStatus, SalesEvent
from server.tasks.events import request_evaluation
from tests.faults.helpers import BASIC, ON_EXAMPLES, post_basic, simulate
from tests.integration.ledger.helpers import exported, run_worker

pytestmark = ON_EXAMPLES


def _cut_connection_on_status_update(app: Flask) -> Any:
    """Install a hook that kills the connection when the batch, its evaluation state
    and accruals already written, updates the events' statuses (its last write but the
    rare release rows of refunded, already released holds)."""
    engine = db.engine

    def kill(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        words = statement.replace('"', "").split()
        if [w.upper() for w in words[:2]] != ["UPDATE", "EVENTS"]:
            return
        if engine.dialect.name == "postgresql":
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with sa.create_engine(engine.url).connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        else:
            raise sqlite3.OperationalError("disk I/O error (injected)")

    sa.event.listen(engine, "before_cursor_execute", kill)
    return kill


def test_connection_lost_mid_batch_then_recovery(app: Flask) -> None:
    post_basic(app)
    with app.app_context():
        hook = _cut_connection_on_status_update(app)
        with pytest.raises(sa.exc.DBAPIError):
            evaluate_pending()
        sa.event.remove(db.engine, "before_cursor_execute", hook)
        db.session.remove()
        # Nothing of the failed batch is visible: no accruals, every event still pending.
        assert db.session.scalar(sa.select(sa.func.count(Accrual.id))) == 0
        statuses = set(db.session.scalars(sa.select(SalesEvent.status)))
        assert statuses == {EventStatus.pending}
        db.session.remove()
        request_evaluation()
    run_worker(app)
    assert exported(app) == simulate(BASIC)
