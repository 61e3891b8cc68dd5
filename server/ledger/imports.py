"""Offline sales from CSV files (POS exports): parse, map columns, import row by row.

A file is read as UTF-8 (with or without BOM) or, failing that, Windows-1251, the usual
encoding of Russian POS exports; ``;``, ``,`` and tab delimiters are recognised.
Columns map to event fields through a mapping saved per source (guessed from Russian
and English headers the first time). Each row becomes one event whose id is
``<store>-<receipt>``, so a receipt imported twice is a duplicate, never a second sale.
Valid rows go in through the same intake as the API; bad rows are reported with their
line number, column and reason and never block the others.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from server.db.types import utcnow
from server.errors import CommandError
from server.extensions import db
from server.form_values import amount_text
from server.ledger.intake import IntakeStatus, ingest_batch
from server.ledger.models import ImportMapping, SalesImport
from server.spreadsheet import UTF8_BOM, cell

#: event fields a CSV column can fill, with the headers that name them
FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "receipt": ("receipt", "receipt_no", "receipt number", "чек", "номер чека", "№ чека", "id"),
    "store": ("store", "point", "shop", "qr", "qr_token", "магазин", "точка", "код точки"),
    "occurred_at": ("occurred_at", "datetime", "date", "дата", "дата и время", "дата продажи"),
    "time": ("time", "время"),
    "amount": ("amount", "sum", "total", "сумма", "сумма чека", "итого"),
    "currency": ("currency", "валюта"),
    "customer": ("customer", "card", "loyalty card", "покупатель", "карта", "карта покупателя"),
    "category": ("category", "категория"),
    "type": ("type", "operation", "тип", "операция"),
    "refers_to": ("refers_to", "original receipt", "чек продажи", "возврат к чеку"),
    "order_id": ("order_id", "order", "заказ", "номер заказа"),
    "promo_code": ("promo_code", "promo", "промокод"),
}
REQUIRED_FIELDS = ("receipt", "store", "occurred_at", "amount")
REFUND_WORDS = {"refund", "return", "возврат", "chargeback", "отмена"}
BATCH_ROWS = 1000


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    value: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
        }


@dataclass
class ImportReport:
    rows_total: int = 0
    accepted: int = 0
    duplicates: int = 0
    merged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)
    import_id: int | None = None

    def summary(self) -> str:
        return (
            f"{self.rows_total} rows: {self.accepted} accepted, {self.duplicates} already "
            f"imported, {self.merged} merged with online orders, {self.rejected} rejected"
        )


def decode(data: bytes) -> str:
    """UTF-8 (BOM allowed), else Windows-1251.

    Raises:
        CommandError: the bytes are neither (not a text file).
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError:
        raise CommandError(_l("The file is not text in UTF-8 or Windows-1251.")) from None


def read_rows(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and the data rows with their line numbers (1 = the header line).

    Raises:
        CommandError: the file has no header line.
    """
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=";,\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise CommandError(_l("The file is empty: expected a header line and rows.")) from None
    except csv.Error as error:
        raise CommandError(
            _l("Line %(line)s: not valid CSV (%(error)s).", line=1, error=error)
        ) from None
    if not any(header):
        raise CommandError(_l("The first line must name the columns."))

    # Read every row before anything is imported: a broken line refuses the whole file
    # rather than leaving it half imported.
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if any(text.strip() for text in row):
                rows.append((reader.line_num, row))
    except csv.Error as error:
        raise CommandError(
            _l("Line %(line)s: not valid CSV (%(error)s).", line=reader.line_num, error=error)
        ) from None
    return header, iter(rows)


def guess_mapping(header: list[str]) -> dict[str, str]:
    """Field → column, from the header's names (case and spaces ignored)."""
    normal = {re.sub(r"\s+", " ", name.strip().lower()): name for name in header}
    mapping: dict[str, str] = {}
    for field_name, synonyms in FIELD_SYNONYMS.items():
        for synonym in synonyms:
            if synonym in normal and normal[synonym] not in mapping.values():
                mapping[field_name] = normal[synonym]
                break
    return mapping


def check_mapping(mapping: dict[str, str], header: list[str]) -> None:
    """Raises CommandError if a required field is unmapped or a column is missing."""
    missing = [name for name in REQUIRED_FIELDS if not mapping.get(name)]
    if missing:
        raise CommandError(
            _l("Map these fields to columns first: %(fields)s.", fields=", ".join(missing))
        )
    unknown = [col for col in mapping.values() if col and col not in header]
    if unknown:
        raise CommandError(_l("Columns not in the file: %(columns)s.", columns=", ".join(unknown)))


_DATE_FORMATS = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)


def parse_local_time(value: str, zone: ZoneInfo) -> str | None:
    """``22.11.2026 14:30`` or ISO text → ISO 8601 with the store's UTC offset."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
        for fmt in _DATE_FORMATS:
            try:
                moment = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def parse_amount(value: str) -> str | None:
    """``1 234,50`` / ``1234.50`` / ``1 234,50 ₽`` → ``1234.50`` (decimal text)."""
    text = amount_text(value)
    try:
        Decimal(text)
    except InvalidOperation:
        return None
    return text


def row_to_event(
    cells: dict[str, str], zone: ZoneInfo
) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
    """One row's cells by field → the event, or ``(None, (field, reason))``."""
    store = cells.get("store", "").strip()
    receipt = cells.get("receipt", "").strip()
    for name in REQUIRED_FIELDS:
        if not cells.get(name, "").strip():
            return None, (name, f"missing field: {name}")
    when = cells["occurred_at"]
    if cells.get("time", "").strip():
        when = f"{when.strip()} {cells['time'].strip()}"
    occurred_at = parse_local_time(when, zone)
    if occurred_at is None:
        return None, ("occurred_at", "invalid occurred_at")
    amount = parse_amount(cells["amount"])
    if amount is None:
        return None, ("amount", "invalid amount")
    refund = cells.get("type", "").strip().lower() in REFUND_WORDS
    event: dict[str, Any] = {
        "id": f"{store}-{receipt}",
        "type": "refund" if refund else "sale",
        "occurred_at": occurred_at,
        "amount": amount,
    }
    if refund:
        original = cells.get("refers_to", "").strip()
        if not original:
            return None, ("refers_to", "missing field: refers_to")
        event["refers_to"] = f"{store}-{original}"
    else:
        event.update(channel="offline", partner=store, qr_token=store)
        for name in ("customer", "category", "promo_code", "order_id"):
            value = cells.get(name, "").strip()
            if value:
                event[name] = value
    if cells.get("currency", "").strip():
        event["currency"] = cells["currency"].strip().upper()
    return event, None


def _field_of(reason: str) -> str:
    match = re.match(r"(?:missing field|invalid): ?(\w+)|invalid (\w+)", reason)
    if match:
        return match.group(1) or match.group(2)
    return {"currency mismatch": "currency"}.get(reason, "")


def saved_mapping(source: str) -> ImportMapping | None:
    return db.session.get(ImportMapping, source)


def save_mapping(source: str, columns: dict[str, str], timezone: str) -> None:
    """Remember a source's column mapping (part of the caller's transaction)."""
    row = db.session.get(ImportMapping, source) or ImportMapping(source=source)
    row.columns = {k: v for k, v in columns.items() if v}
    row.timezone = timezone
    row.updated_at = utcnow()
    db.session.add(row)


def import_sales(
    data: bytes,
    *,
    source: str,
    filename: str,
    currency: str,
    mapping: dict[str, str] | None = None,
    timezone: str | None = None,
    actor_id: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a CSV file of offline sales for ``source``; commits per 1,000 rows.

    The mapping used is ``mapping``, else the one saved for the source, else a guess
    from the header; it is saved for next time. Raises CommandError when the file or
    the mapping cannot work at all (no header, a required field unmapped, a bad zone).
    """
    header, rows = read_rows(decode(data))
    saved = saved_mapping(source)
    columns = mapping or (saved.columns if saved else None) or guess_mapping(header)
    check_mapping(columns, header)
    zone_name = timezone or (saved.timezone if saved else None) or "Europe/Moscow"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommandError(_l("Unknown time zone %(zone)r.", zone=zone_name)) from None
    save_mapping(source, columns, zone_name)
    index = {name: header.index(column) for name, column in columns.items() if column in header}
    report = ImportReport()
    batch: list[tuple[int, dict[str, Any]]] = []

    def flush() -> None:
        results = ingest_batch(source, [event for _, event in batch], currency)
        for (line, event), result in zip(batch, results, strict=True):
            if result.status is IntakeStatus.accepted:
                report.accepted += 1
            elif result.status is IntakeStatus.duplicate:
                report.duplicates += 1
            elif result.status is IntakeStatus.merged:
                report.merged += 1
                report.merges.append(
                    {"line": line, "id": event["id"], "merged_into": result.reason}
                )
            else:
                report.rejected += 1
                field_name = _field_of(result.reason or "")
                column = columns.get(field_name, field_name)
                value = str(event.get(field_name, "")) if field_name else ""
                report.errors.append(RowError(line, column, value, result.reason or ""))
        if progress is not None:
            progress(len(batch))
        batch.clear()

    for line, cells in rows:
        report.rows_total += 1
        by_field = {name: cells[i] if i < len(cells) else "" for name, i in index.items()}
        event, problem = row_to_event(by_field, zone)
        if problem is not None:
            field_name, reason = problem
            report.rejected += 1
            report.errors.append(
                RowError(
                    line, columns.get(field_name, field_name), by_field.get(field_name, ""), reason
                )
            )
            continue
        assert event is not None
        batch.append((line, event))
        if len(batch) >= BATCH_ROWS:
            flush()
    if batch:
        flush()
    record = SalesImport(
        source=source,
        filename=filename[:300],
        created_by_id=actor_id,
        rows_total=report.rows_total,
        accepted=report.accepted,
        duplicates=report.duplicates,
        merged=report.merged,
        rejected=report.rejected,
        errors=[e.to_json() for e in report.errors],
        merges=report.merges,
    )
    db.session.add(record)
    db.session.commit()
    report.import_id = record.id
    return report


#: the error report's columns by their machine names (the command line's report)
ERROR_COLUMNS = ("line", "column", "value", "reason")


def error_report_csv(errors: list[dict[str, Any]], headers: Sequence[str] = ERROR_COLUMNS) -> str:
    """The row errors as CSV (UTF-8 with BOM for spreadsheet programs); the screen
    passes ``headers`` in the reader's language (the reasons are already in it)."""
    out = io.StringIO()
    out.write(UTF8_BOM)
    writer = csv.writer(out, delimiter=";")
    writer.writerow(headers)
    for error in errors:
        # the column (a header) and the value are the uploaded file's own text: never
        # let them run as formulas
        writer.writerow(
            [error["line"], cell(error["column"]), cell(error["value"]), cell(error["reason"])]
        )
    return out.getvalue()


def recent_imports(limit: int = 50) -> list[SalesImport]:
    return list(
        db.session.scalars(sa.select(SalesImport).order_by(SalesImport.id.desc()).limit(limit))
    )
