"""Commands that write the ledger. Nothing below a command commits.

:func:`record_outcomes` turns the evaluator's outcomes for one stored event into ledger
rows. Each accrual carries a unique ``dedupe_key`` so evaluating an event again never
writes a row twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from server.db.types import utcnow
from server.ledger.models import (
    Accrual,
    AccrualKind,
    AccrualStatus,
    EventStatus,
    EventType,
    SalesEvent,
)
from server.rules.evaluator import Accrual as AccrualOutcome
from server.rules.evaluator import Outcome, Rejection
from server.rules.events import parse_instant
from server.rules.money import parse_decimal


def payload_digest(payload: dict[str, Any]) -> str:
    """SHA-256 of a payload's canonical JSON (key order and spacing do not matter)."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _text(payload: dict[str, Any], key: str, limit: int) -> str | None:
    value = payload.get(key)
    return str(value)[:limit] if isinstance(value, str | int) and value != "" else None


def new_event(source: str, payload: dict[str, Any]) -> SalesEvent:
    """A stored event (status pending) from a raw payload; bad fields are kept raw only."""
    occurred = parse_instant(payload.get("occurred_at"))
    event_type = payload.get("type")
    amount = parse_decimal(payload.get("amount"))
    return SalesEvent(
        source=source,
        external_id=str(payload.get("id", ""))[:200],
        type=EventType(event_type) if event_type in EventType._value2member_map_ else None,
        occurred_at=occurred,
        channel=_text(payload, "channel", 16),
        region_code=_text(payload, "region", 16),
        amount=amount
        if amount is not None and amount.is_finite() and abs(amount) < 10**17
        else None,
        currency=_text(payload, "currency", 3),
        customer=_text(payload, "customer", 200),
        category=_text(payload, "category", 100),
        refers_to=_text(payload, "refers_to", 200),
        order_id=_text(payload, "order_id", 200),
        payload=payload,
        payload_sha256=payload_digest(payload),
        status=EventStatus.pending,
    )


def record_outcomes(
    event: SalesEvent,
    outcomes: Sequence[Outcome],
    *,
    partner_ids: dict[str, int],
    rule_ids: dict[str, int],
    program_version_id: int | None,
    processed_at: datetime | None = None,
) -> list[Accrual]:
    """Mark ``event`` processed or rejected and add its accruals to the session.

    ``partner_ids`` and ``rule_ids`` map the engine's partner codes and rule keys to
    row ids. Returns the new accrual rows (not yet flushed).
    """
    event.processed_at = processed_at or utcnow()
    rejection = next((o for o in outcomes if isinstance(o, Rejection)), None)
    if rejection is not None:
        event.status = EventStatus.rejected
        event.rejection_reason = rejection.reason
        return []
    event.status = EventStatus.processed
    rows = []
    for outcome in outcomes:
        assert isinstance(outcome, AccrualOutcome)
        rows.append(
            Accrual(
                dedupe_key=accrual_key(event, outcome),
                event=event,
                partner_id=partner_ids[outcome.partner],
                rule_instance_id=rule_ids.get(outcome.rule),
                rule_key=outcome.rule,
                program_version_id=program_version_id,
                kind=AccrualKind(outcome.kind.value),
                amount=outcome.amount,
                points=outcome.points,
                status=AccrualStatus(outcome.status.value),
                reason=outcome.reason,
                level=outcome.level,
                reward=outcome.reward,
                reverses=outcome.reverses,
                occurred_at=event.occurred_at,
            )
        )
    return rows


def accrual_key(event: SalesEvent, outcome: AccrualOutcome) -> str:
    """The accrual's natural key: one row per event, rule, receiver and level."""
    return (
        f"{event.source}|{event.external_id}|{outcome.rule}|{outcome.partner}|{outcome.level or 0}"
    )
