"""The evaluation lock: one evaluator at a time, across processes and machines.

Evaluation is order-dependent (goals, first purchases, refunds), so batches must not
interleave. A run of batches holds this lock from its first read to its last commit,
because batch n + 1 is evaluated while batch n is still being written
(server/ledger/evaluation.py): a row lock taken per transaction would let another
worker in between. PostgreSQL: a session-level advisory lock on a connection kept for
the run (released by the server if the process dies). SQLite: ``flock`` on a file next
to the database, which is on this machine by nature (released by the kernel if the
process dies). Another evaluator waits, as it waited for the lock row before.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from server.extensions import db

#: the advisory lock's key (advisory locks are per database): "pfeval" in ASCII
ADVISORY_KEY = 0x70666576616C
#: the file next to an SQLite database whose ``flock`` is the lock
LOCK_FILE_SUFFIX = ".evaluation-lock"

#: in-memory SQLite databases live in one process: a process-wide lock suffices
_in_process = threading.Lock()


@contextmanager
def evaluation_lock() -> Iterator[None]:
    """Hold the evaluation lock for the block; waits while another evaluator has it."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(sa.select(sa.func.pg_advisory_lock(ADVISORY_KEY)))
            connection.commit()
            try:
                yield
            finally:
                # a lost connection has released the lock with it: nothing to undo
                with contextlib.suppress(sa.exc.DBAPIError):
                    connection.execute(sa.select(sa.func.pg_advisory_unlock(ADVISORY_KEY)))
                    connection.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        with _in_process:
            yield
        return
    with open(database + LOCK_FILE_SUFFIX, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
