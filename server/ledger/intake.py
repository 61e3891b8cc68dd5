"""Intake: validate a batch of reported events and store them, durably, before queueing.

Each event gets an answer: ``accepted`` (stored, pending evaluation), ``duplicate``
(this source sent the same event before: nothing changes), ``conflict`` (this source
used the id before with a different payload: refused, the first one stands) or
``rejected`` (malformed, with the spec's reason; logged, and the id stays free so the
sender can fix the event and send it again) or ``merged`` (a sale whose ``order_id`` was
already reported, e.g. by the online shop and then by the store's POS: stored with status
``merged`` and a link to the first report, so one sale earns one set of accruals).

The idempotency key is (source, event id); it is claimed with
``INSERT … ON CONFLICT DO NOTHING`` so concurrent senders cannot both win.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app

from server.db.bulk import insert_ignoring_conflicts, one_of, value_chunks
from server.db.types import utcnow
from server.extensions import db
from server.ledger.models import EventStatus, EventType, IntakeRejection, SalesEvent
from server.ledger.rows import event_row, payload_digest
from server.rules.events import DEFAULT_MAX_AHEAD, read_body, read_header, received_too_late

CONFLICT_REASON = "event id already used by this source with a different payload"


class IntakeStatus(str, enum.Enum):
    accepted = "accepted"
    duplicate = "duplicate"
    conflict = "conflict"
    rejected = "rejected"
    #: a sale already reported by another channel (same order id): stored, never paid
    merged = "merged"


@dataclass(frozen=True)
class IntakeResult:
    """The answer for one event of a batch (``index`` is its position, from 0)."""

    index: int
    id: str | None
    status: IntakeStatus
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "id": self.id, "status": self.status.value}
        if self.reason:
            out["reason"] = self.reason
        return out


def normalise_payload(value: Any) -> Any:
    """JSON parsed with ``parse_float=Decimal`` → JSON-storable values, decimals as text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): normalise_payload(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise_payload(v) for v in value]
    return value


NUL_REASON = "invalid text: NUL character"
#: ids are stored in VARCHAR(200) columns; a longer one could not be kept exactly
MAX_ID_LENGTH = 200
LONG_ID_REASON = f"invalid id: longer than {MAX_ID_LENGTH} characters"


def contains_nul(value: Any) -> bool:
    """Whether a NUL character hides in any key or text (PostgreSQL cannot store it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_nul(v) for v in value)
    return False


def storable(value: Any) -> Any:
    """A copy fit for the database: NUL characters replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def _insert_ignoring_conflicts(rows: list[dict[str, Any]]) -> set[str]:
    """Insert events; return the external ids actually inserted (others existed)."""
    return set(
        insert_ignoring_conflicts(
            db.session, SalesEvent.__table__, rows, ("source", "external_id"), "external_id"
        )
    )


def _first_reports(order_ids: set[str]) -> dict[str, tuple[int, str]]:
    """Order id → (event row id, "source/id") of the sale that first reported it."""
    found: dict[str, tuple[int, str]] = {}
    if not order_ids:
        return found
    session = db.session
    for chunk in value_chunks(session, order_ids):
        rows = session.execute(
            sa.select(SalesEvent.order_id, SalesEvent.id, SalesEvent.source, SalesEvent.external_id)
            .where(
                one_of(session, SalesEvent.order_id, chunk),
                SalesEvent.type == EventType.sale,
                SalesEvent.status != EventStatus.merged,
            )
            .order_by(SalesEvent.id)
        )
        for order_id, row_id, source, external_id in rows:
            found.setdefault(order_id, (row_id, f"{source}/{external_id}"))
    return found


def _stored_digests(source: str, external_ids: list[str]) -> dict[str, str]:
    """External id → payload digest of the source's events already stored."""
    session = db.session
    found: dict[str, str] = {}
    for chunk in value_chunks(session, external_ids):
        rows = session.execute(
            sa.select(SalesEvent.external_id, SalesEvent.payload_sha256).where(
                SalesEvent.source == source, one_of(session, SalesEvent.external_id, chunk)
            )
        )
        found.update((external_id, digest) for external_id, digest in rows)
    return found


def max_ahead() -> timedelta:
    """How far after its arrival an event may be dated (``EVENTS_MAX_FUTURE_HOURS``)."""
    hours = current_app.config.get("EVENTS_MAX_FUTURE_HOURS")
    return DEFAULT_MAX_AHEAD if hours is None else timedelta(hours=float(hours))


def ingest_batch(source: str, items: list[Any], currency: str) -> list[IntakeResult]:
    """Validate and store a batch from one source in one transaction; answer per event.

    ``items`` are parsed JSON values (decimals as ``Decimal``). Besides the rules'
    validation (:mod:`server.rules.events`), events dated more than :func:`max_ahead`
    after now are refused. Commits.
    """
    results: dict[int, IntakeResult] = {}
    candidates: list[tuple[int, str, dict[str, Any], str]] = []
    first_in_batch: dict[str, str] = {}
    received = utcnow()
    ahead = max_ahead()
    for index, item in enumerate(items):
        payload = normalise_payload(item)
        if contains_nul(payload):
            event_id = payload.get("id") if isinstance(payload, dict) else None
            shown = storable(event_id) if isinstance(event_id, str) else None
            results[index] = IntakeResult(index, shown, IntakeStatus.rejected, NUL_REASON)
            continue
        header = read_header(payload)
        if isinstance(header, tuple):
            event_id, reason = header
            results[index] = IntakeResult(index, event_id, IntakeStatus.rejected, reason)
            continue
        if len(header.id) > MAX_ID_LENGTH:
            results[index] = IntakeResult(
                index, header.id[:MAX_ID_LENGTH], IntakeStatus.rejected, LONG_ID_REASON
            )
            continue
        body = received_too_late(header, received, ahead) or read_body(payload, header, currency)
        if isinstance(body, str):
            results[index] = IntakeResult(index, header.id, IntakeStatus.rejected, body)
            continue
        digest = payload_digest(payload)
        seen = first_in_batch.get(header.id)
        if seen is not None:
            status = IntakeStatus.duplicate if seen == digest else IntakeStatus.conflict
            why = CONFLICT_REASON if status is IntakeStatus.conflict else None
            results[index] = IntakeResult(index, header.id, status, why)
            continue
        first_in_batch[header.id] = digest
        candidates.append((index, header.id, payload, digest))

    rows: list[dict[str, Any]] = []
    order_of: dict[str, str] = {}
    for _index, event_id, payload, digest in candidates:
        row = event_row(source, payload, digest, received)
        rows.append(row)
        if row["order_id"] and row["type"] is EventType.sale:
            order_of[event_id] = row["order_id"]
    first_report = _first_reports(set(order_of.values()))
    normal, merged = [], []
    for row in rows:
        order = order_of.get(row["external_id"])
        if order is not None and order in first_report:
            row["status"] = EventStatus.merged
            merged.append(row)
        else:
            if order is not None:
                first_report[order] = (0, f"{source}/{row['external_id']}")  # id set below
            normal.append(row)
    inserted = _insert_ignoring_conflicts(normal)
    if merged:
        ids = _first_reports({row["order_id"] for row in merged})
        for row in merged:
            row["merged_into_id"] = ids[row["order_id"]][0]
        inserted |= _insert_ignoring_conflicts(merged)
    merged_into = {row["external_id"]: first_report[row["order_id"]][1] for row in merged}
    existing = _stored_digests(source, [c[1] for c in candidates if c[1] not in inserted])
    for index, event_id, _payload, digest in candidates:
        if event_id in inserted and event_id in merged_into:
            results[index] = IntakeResult(
                index, event_id, IntakeStatus.merged, f"same order as {merged_into[event_id]}"
            )
        elif event_id in inserted:
            results[index] = IntakeResult(index, event_id, IntakeStatus.accepted)
        elif existing.get(event_id) == digest:
            results[index] = IntakeResult(index, event_id, IntakeStatus.duplicate)
        else:
            results[index] = IntakeResult(index, event_id, IntakeStatus.conflict, CONFLICT_REASON)

    rejections = [r for r in results.values() if r.status is IntakeStatus.rejected]
    if rejections:
        db.session.execute(
            sa.insert(IntakeRejection),
            [
                {
                    "source": source,
                    "external_id": r.id[:MAX_ID_LENGTH] if r.id else None,
                    "line": r.index + 1,
                    "reason": r.reason,
                    "payload": storable(normalise_payload(items[r.index])),
                    "received_at": received,
                }
                for r in rejections
            ],
        )
    db.session.commit()
    return [results[index] for index in range(len(items))]
