"""An evaluation batch commits asynchronously on PostgreSQL, and only that transaction."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.ledger.evaluation import _lock


def test_the_batch_transaction_skips_the_commit_flush(app_ctx: Flask) -> None:
    if db.engine.dialect.name != "postgresql":
        _lock()  # nothing to set on SQLite, and nothing fails
        db.session.rollback()
        return
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    # the test clusters run without fsync: start from PostgreSQL's default
    db.session.execute(sa.text("SET LOCAL synchronous_commit = on"))
    assert db.session.scalar(sa.text("SHOW synchronous_commit")) == "on"
    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        _lock()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert db.session.scalar(sa.text("SHOW synchronous_commit")) == "off"
    # SET LOCAL, not SET: the setting ends with the batch's transaction, so intake and
    # every later commit on the pooled connection stay synchronous
    assert "SET LOCAL synchronous_commit = off" in statements
    db.session.rollback()
