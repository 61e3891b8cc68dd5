"""Building ledger rows from the evaluator's outcomes. Nothing here commits.

:func:`outcome_rows` turns one stored event's outcomes into plain column values for a
bulk insert (the workers write thousands of rows per batch). Each accrual carries a
unique ``dedupe_key``, so evaluating an event again never writes a row twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.ledger.models import (
    AccrualKind,
    AccrualStatus,
    EventStatus,
    EventType,
)
from server.rules import evaluator as engine
from server.rules.evaluator import Accrual as AccrualOutcome
from server.rules.evaluator import Outcome, Rejection
from server.rules.events import parse_instant, read_amount

# The engine's enums as the ledger's, looked up once: calling the enum classes instead,
# twice per accrual, cost 2.3 µs per evaluated event (docs/benchmarks.md).
_KINDS = {kind: AccrualKind(kind.value) for kind in engine.AccrualKind}
_STATUSES = {status: AccrualStatus(status.value) for status in engine.AccrualStatus}


def payload_digest(payload: dict[str, Any]) -> str:
    """SHA-256 of a payload's canonical JSON (key order and spacing do not matter)."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _text(payload: dict[str, Any], key: str, limit: int) -> str | None:
    value = payload.get(key)
    return str(value)[:limit] if isinstance(value, str | int) and value != "" else None


def event_row(
    source: str, payload: dict[str, Any], digest: str, received_at: datetime
) -> dict[str, Any]:
    """Column values of a stored event (status pending) for a bulk insert.

    The searchable columns are copied from the payload where they are well-formed; the
    payload itself is kept whole, and evaluation reads only the payload.
    """
    event_type = payload.get("type")
    return {
        "source": source,
        "external_id": str(payload.get("id", ""))[:200],
        "type": EventType(event_type) if event_type in EventType._value2member_map_ else None,
        "occurred_at": parse_instant(payload.get("occurred_at")),
        "received_at": received_at,
        "channel": _text(payload, "channel", 16),
        "region_code": _text(payload, "region", 16),
        "amount": read_amount(payload.get("amount")),
        "currency": _text(payload, "currency", 3),
        "customer": _text(payload, "customer", 200),
        "category": _text(payload, "category", 100),
        "refers_to": _text(payload, "refers_to", 200),
        "order_id": _text(payload, "order_id", 200),
        "payload": payload,
        "payload_sha256": digest,
        "status": EventStatus.pending,
        "attempts": 0,
        "merged_into_id": None,
    }


@dataclass(frozen=True)
class StoredEvent:
    """What the ledger needs of a stored event to write its rows."""

    id: int
    source: str
    external_id: str
    occurred_at: datetime | None


@dataclass
class EventOutcome:
    """An evaluated event: its new status and the accrual rows to insert."""

    event_id: int
    status: EventStatus
    reason: str | None = None
    partner_id: int | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ProgramRows:
    """What a program's accruals carry: its id, the version in force, its rule ids."""

    program_id: int
    version_id: int | None
    rule_ids: dict[str, int]


_NO_RULES: dict[str, int] = {}


def outcome_rows(
    event: StoredEvent,
    outcomes: Sequence[Outcome],
    *,
    partner_ids: dict[str, int],
    programs: dict[str, ProgramRows],
    program_ids: dict[str, int],
    created_at: datetime,
) -> EventOutcome:
    """The event's status and its accruals as column values, in output order.

    ``partner_ids`` maps the engine's partner codes to row ids; ``programs`` the slugs
    of the programs in force at the event's date to their ids, version and rule ids;
    ``program_ids`` every stored program's slug to its id (a refund reverses accruals of
    a program that may no longer be in force: its rows name no version then). The
    credited partner is the receiver of the first non-override accrual.
    """
    rejection = next((o for o in outcomes if isinstance(o, Rejection)), None)
    if rejection is not None:
        return EventOutcome(event.id, EventStatus.rejected, rejection.reason)
    result = EventOutcome(event.id, EventStatus.processed)
    for outcome in outcomes:
        assert isinstance(outcome, AccrualOutcome)
        partner_id = partner_ids[outcome.partner]
        if result.partner_id is None and outcome.level is None:
            result.partner_id = partner_id
        program = programs.get(outcome.program)  # type: ignore[arg-type]
        if program is None:
            program = ProgramRows(_program_id(outcome, programs, program_ids), None, _NO_RULES)
        result.rows.append(
            {
                "dedupe_key": accrual_key(event, outcome),
                "event_id": event.id,
                "partner_id": partner_id,
                "rule_instance_id": program.rule_ids.get(outcome.rule),
                "rule_key": outcome.rule,
                "program_version_id": program.version_id,
                "program_id": program.program_id,
                "kind": _KINDS[outcome.kind],
                "amount": outcome.amount,
                "points": outcome.points,
                "status": _STATUSES[outcome.status],
                "reason": outcome.reason,
                "level": outcome.level,
                "reward": outcome.reward,
                "reverses": outcome.reverses,
                "reverses_accrual_id": None,
                "occurred_at": event.occurred_at,
                "created_at": created_at,
            }
        )
    return result


def _program_id(
    outcome: AccrualOutcome, programs: dict[str, ProgramRows], program_ids: dict[str, int]
) -> int:
    """A reversal's program when that program has no version in force at the refund."""
    if outcome.program in program_ids:
        return program_ids[outcome.program]
    if len(programs) == 1:
        # a sale registered before accruals named their program (one program then)
        return next(iter(programs.values())).program_id
    raise RuntimeError(f"accrual of unknown program {outcome.program!r} for {outcome.event}")


def accrual_key(event: StoredEvent, outcome: AccrualOutcome) -> str:
    """The accrual's natural key: one row per event, program, rule, receiver and level.

    Keys of rows written before several programs lack the program; an event is never
    evaluated twice (its id is claimed), so old and new keys never meet.
    """
    level = outcome.level or 0
    return (
        f"{event.source}|{event.external_id}|{outcome.program}|{outcome.rule}"
        f"|{outcome.partner}|{level}"
    )
