"""Writing thousands of rows in the session's transaction, fast on both databases.

The workers write every batch's accruals, event statuses and evaluation state at once,
and intake stores whole API batches. On PostgreSQL these go through ``COPY`` (a staging
table and one ``INSERT … SELECT`` or ``UPDATE … FROM`` where conflicts or updates are
involved); measured on 10,000 events, that is several times faster than an
``executemany`` of the same rows, which psycopg pipelines one statement per row. On
SQLite, inserts and updates are one driver-level ``executemany`` of converted values
(SQLite is in-process: the cost there is Python's, and SQLAlchemy's per-row parameter
processing was half of it), sent through ``exec_driver_sql`` so that SQLAlchemy's
events and error wrapping still apply.

Values go through each column's own bind processing (``Money`` to kopecks or NUMERIC,
``UTCDateTime`` to UTC, enums to their values, JSON to text), so a row written here
reads back exactly as one written by the ORM.
"""

from __future__ import annotations

import enum
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, Session

from server.db.types import UTCDateTime

_Converter = Callable[[Any], Any]
_staging_names = itertools.count(1)


def _converters(
    session: Session, table: sa.Table, columns: Sequence[str]
) -> list[_Converter | None]:
    """Per column: the function turning a Python value into what the driver receives
    (None where the value goes as it is)."""
    dialect = session.get_bind().dialect
    out: list[_Converter | None] = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, sa.JSON):
            # the JSON document as text, not a driver wrapper (COPY and sqlite3 alike)
            out.append(_json_text)
        elif isinstance(column_type, sa.Enum):
            out.append(_enum_value)
        elif isinstance(column_type, UTCDateTime):
            out.append(_memoized(column_type.bind_processor(dialect)))
        else:
            out.append(column_type.bind_processor(dialect))
    return out


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _enum_value(value: Any) -> Any:
    # model enums are ``str, Enum`` with members named as their values (server/db/types)
    return value._value_ if isinstance(value, enum.Enum) else value


def _memoized(processor: _Converter | None) -> _Converter | None:
    """A processor that remembers its last answer: a batch's rows share timestamps."""
    if processor is None:
        return None
    last: list[Any] = [object(), None]

    def convert(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, processor(value)
        return last[1]

    return convert


def _tuples(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], convert: list[_Converter | None]
) -> Iterator[list[Any]]:
    active = [(index, fn) for index, fn in enumerate(convert) if fn is not None]
    for row in rows:
        values = [row[name] for name in columns]
        for index, fn in active:
            value = values[index]
            if value is not None:
                values[index] = fn(value)
        yield values


#: values per ``IN (...)`` list on SQLite, well under its parameter limit
IN_LIST_CHUNK = 500


def value_chunks(session: Session, values: Iterable[Any]) -> Iterator[list[Any]]:
    """The distinct ``values``, sorted, in lists for :func:`one_of`: all in one on
    PostgreSQL (one array parameter), ``IN_LIST_CHUNK`` at a time on SQLite."""
    items = sorted(set(values))
    size = len(items) if session.get_bind().dialect.name == "postgresql" else IN_LIST_CHUNK
    for start in range(0, len(items), size or 1):
        yield items[start : start + size]


def one_of(
    session: Session,
    column: sa.ColumnElement[Any] | QueryableAttribute[Any],
    values: Sequence[Any],
) -> sa.ColumnElement[bool]:
    """``column IN (values)`` for a batch's thousands of values.

    On PostgreSQL ``column = ANY(:array)``: one parameter, so the statement's text is the
    same whatever the count and psycopg converts it once (``IN`` lists of 500
    placeholders were converted anew for every query: the evaluation state's prefetch
    took 12-17 µs per event with them, 6-7 µs without, docs/benchmarks.md).
    SQLite gets the plain ``IN`` list (see :func:`value_chunks` for its size).
    """
    element = column.expression if isinstance(column, QueryableAttribute) else column
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        array = sa.bindparam(None, list(values), type_=ARRAY(element.type))
        return element == sa.any_(array)
    return element.in_(values)


def _executemany(session: Session, statement: str, rows: Iterable[Sequence[Any]]) -> None:
    """SQLite: one driver-level statement for every row, values already converted.

    Through SQLAlchemy's ``exec_driver_sql``, so its events fire and the driver's errors
    arrive wrapped as for any other statement, without its per-row bind processing.
    """
    session.connection().exec_driver_sql(statement, [tuple(row) for row in rows])


@contextmanager
def _wrapped_driver_errors(statement: str) -> Iterator[None]:
    """psycopg's errors raised as SQLAlchemy's (an ``IntegrityError`` for a violated
    constraint), as for statements SQLAlchemy sends: ``COPY`` goes around it."""
    import psycopg

    try:
        yield
    except psycopg.Error as error:
        raise sa.exc.DBAPIError.instance(statement, None, error, psycopg.Error) from error


def _open_copy(session: Session, target: str, columns: Sequence[str]) -> tuple[Any, Any]:
    """``COPY target (columns) FROM STDIN`` on the session's psycopg connection, not yet
    entered: (the cursor, the copy's context manager)."""
    raw = session.connection().connection.driver_connection
    assert raw is not None, "a live database connection"
    quoted = ", ".join(f'"{name}"' for name in columns)
    cursor = raw.cursor()
    return cursor, cursor.copy(f"COPY {target} ({quoted}) FROM STDIN")


def _copy(
    session: Session, target: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Every row through one ``COPY`` (see :func:`_open_copy`)."""
    cursor, opened = _open_copy(session, target, columns)
    with _wrapped_driver_errors(f"COPY {target}"), cursor, opened as copy:
        for row in rows:
            copy.write_row(row)


def _staging_table(session: Session, table: sa.Table, columns: Sequence[str]) -> str:
    """A temporary table with the column types of ``columns`` of ``table`` and an
    ``_ord`` column keeping the rows' order, dropped at commit."""
    name = f"_stage_{table.name}_{next(_staging_names)}"
    quoted = ", ".join(f'"{c}"' for c in columns)
    session.execute(
        sa.text(
            f'CREATE TEMPORARY TABLE "{name}" ON COMMIT DROP AS '
            f'SELECT 0::integer AS _ord, {quoted} FROM "{table.name}" WITH NO DATA'
        )
    )
    return name


def _staged(
    session: Session, table: sa.Table, rows: Sequence[dict[str, Any]], columns: Sequence[str]
) -> str:
    """A staging table holding ``rows`` (their ``columns``, in order); its name."""
    staging = _staging_table(session, table, columns)
    converted = _tuples(rows, columns, _converters(session, table, columns))
    _copy(
        session,
        f'"{staging}"',
        ["_ord", *columns],
        ([index, *values] for index, values in enumerate(converted)),
    )
    return staging


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    columns = list(rows[0])
    if any(len(row) != len(columns) for row in rows):
        raise ValueError("bulk rows must all have the same keys")
    return columns


def insert_rows(session: Session, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) in the session's transaction."""
    if not rows:
        return
    columns = _columns(rows)
    converted = _tuples(rows, columns, _converters(session, table, columns))
    if session.get_bind().dialect.name != "postgresql":
        # the driver's executemany on converted values: SQLAlchemy's per-row parameter
        # processing cost as much as SQLite's own work
        quoted = ", ".join(f'"{name}"' for name in columns)
        marks = ", ".join("?" for _ in columns)
        _executemany(session, f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', converted)
        return
    _copy(session, f'"{table.name}"', columns, converted)


def insert_ignoring_conflicts(
    session: Session,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str],
    returning: str,
) -> list[Any]:
    """Insert rows in their order, skipping those whose ``conflict_columns`` already
    exist; returns ``returning`` of the rows actually inserted, in no promised order
    (neither database orders ``RETURNING``; callers take it as a set)."""
    if not rows:
        return []
    columns = _columns(rows)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        staging = _staged(session, table, rows, columns)
        quoted = ", ".join(f'"{c}"' for c in columns)
        keys = ", ".join(f'"{c}"' for c in conflict_columns)
        return list(
            session.scalars(
                sa.text(
                    f'INSERT INTO "{table.name}" ({quoted}) '
                    f'SELECT {quoted} FROM "{staging}" ORDER BY _ord '
                    f'ON CONFLICT ({keys}) DO NOTHING RETURNING "{returning}"'
                )
            )
        )
    from sqlalchemy.dialects import sqlite

    statement = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(table.c[returning])
    )
    inserted: list[Any] = []
    # SQLite: one row per statement keeps the parameter count far under its limit, and
    # the statement is compiled once (insertmanyvalues batches the rows).
    inserted.extend(session.scalars(statement, list(rows)).all())
    return inserted


def update_rows(
    session: Session,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str] = ("id",),
) -> None:
    """Update rows found by their ``keys`` columns; each dict holds the keys and the
    columns to set. Rows may differ in which columns they set (grouped by shape)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    for shape, group in groups.items():
        if not set(keys) <= set(shape):
            raise ValueError(f"update rows need their key columns {list(keys)}")
        changed = [c for c in shape if c not in keys]
        if not changed:
            continue
        if session.get_bind().dialect.name != "postgresql":
            # the driver's executemany, as for inserts: one statement compiled once
            order = [*changed, *keys]
            assignments = ", ".join(f'"{c}" = ?' for c in changed)
            matches = " AND ".join(f'"{k}" = ?' for k in keys)
            _executemany(
                session,
                f'UPDATE "{table.name}" SET {assignments} WHERE {matches}',
                _tuples(group, order, _converters(session, table, order)),
            )
            continue
        columns = [*keys, *changed]
        staging = _staged(session, table, group, columns)
        assignments = ", ".join(f'"{c}" = s."{c}"' for c in changed)
        matches = " AND ".join(f't."{k}" = s."{k}"' for k in keys)
        session.execute(
            sa.text(
                f'UPDATE "{table.name}" AS t SET {assignments} '
                f'FROM "{staging}" AS s WHERE {matches}'
            )
        )


class InsertStream:
    """Rows inserted as the caller produces them, in the session's transaction.

    On PostgreSQL a ``COPY`` stays open between writes, so the server inserts (index
    entries, foreign-key checks) while Python computes the next rows, instead of after
    them. Any other statement on the session's connection ends the open ``COPY`` first
    (a ``before_cursor_execute`` listener; :meth:`suspend` does it by hand), and the next
    write opens another: a query in the middle costs a round trip, never an error
    ("another command is already in progress"). On SQLite the rows are
    collected and inserted when the stream closes. Use as a context manager; an error
    inside aborts the open ``COPY``, and the caller rolls back.
    """

    def __init__(self, session: Session, table: sa.Table) -> None:
        self.session = session
        self.table = table
        self.written = 0
        self._postgres = session.get_bind().dialect.name == "postgresql"
        self._columns: list[str] | None = None
        self._convert: list[_Converter | None] = []
        self._pending: list[dict[str, Any]] = []  # SQLite
        self._cursor: Any = None
        self._copy: Any = None  # the open COPY's context manager
        self._rows: Any = None  # the open COPY
        self._connection: sa.Connection | None = None  # whose statements end it
        self._statement = f'COPY "{table.name}"'  # as errors name it

    def __enter__(self) -> InsertStream:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            if error is not None:
                self._end(kind, error, trace)
                return
            self.suspend()
            if self._pending:
                insert_rows(self.session, self.table, self._pending)
                self._pending = []
        finally:
            if self._connection is not None:
                sa.event.remove(self._connection, "before_cursor_execute", self._before_statement)
                self._connection = None

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._columns is None:
            self._columns = _columns(rows)
            self._convert = _converters(self.session, self.table, self._columns)
        if any(len(row) != len(self._columns) for row in rows):
            raise ValueError("bulk rows must all have the same keys")
        self.written += len(rows)
        if not self._postgres:
            self._pending.extend(rows)
            return
        if self._rows is None:
            self._cursor, self._copy = _open_copy(
                self.session, f'"{self.table.name}"', self._columns
            )
            with _wrapped_driver_errors(self._statement):
                self._rows = self._copy.__enter__()
            if self._connection is None:  # any other statement ends the COPY first
                self._connection = self.session.connection()
                sa.event.listen(self._connection, "before_cursor_execute", self._before_statement)
        with _wrapped_driver_errors(self._statement):
            for values in _tuples(rows, self._columns, self._convert):
                self._rows.write_row(values)

    def suspend(self) -> None:
        """End the open ``COPY`` (waits for the server to take every row written)."""
        self._end(None, None, None)

    def _before_statement(self, *_args: Any) -> None:
        self.suspend()

    def _end(self, kind: Any, error: Any, trace: Any) -> None:
        if self._copy is not None:
            copy, cursor = self._copy, self._cursor
            self._copy = self._rows = self._cursor = None
            try:
                with _wrapped_driver_errors(self._statement):
                    copy.__exit__(kind, error, trace)
            finally:
                cursor.close()
