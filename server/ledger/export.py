"""The ledger in the spec's output format (JSON lines), comparable with ``simulate``.

Order: events by (occurred_at, id) — the processing order — then each event's
accruals in the order they were written (program slug, rule, level). Accrual lines
carry ``program`` (the slug) when more than one program has a published version.
Rejected events give one ``rejected`` line; events refused at intake come first if
their time is unreadable, otherwise in time order.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any

import sqlalchemy as sa

from server.extensions import db
from server.ledger.models import Accrual, EventStatus, IntakeRejection, SalesEvent
from server.partners.models import Partner
from server.programs.models import Program, ProgramVersion, VersionStatus
from server.rules.events import parse_instant
from server.rules.money import format_amount


def _accrual_line(
    event_id: str, accrual: Accrual, partner_code: str, program: str | None
) -> dict[str, Any]:
    line: dict[str, Any] = {"event": event_id}
    if program is not None:
        line["program"] = program
    line |= {
        "partner": partner_code,
        "rule": accrual.rule_key,
        "kind": accrual.kind.value,
        "amount": format_amount(accrual.amount),
        "points": accrual.points,
        "status": accrual.status.value,
    }
    if accrual.level is not None:
        line["level"] = accrual.level
    if accrual.reason:
        line["reason"] = accrual.reason
    if accrual.reward:
        line["reward"] = accrual.reward
    if accrual.reverses:
        line["reverses"] = accrual.reverses
    return line


def several_programs() -> bool:
    """Whether more than one program has a published version: accrual lines carry
    ``program`` then, as ``simulate`` prints them when given several programs."""
    count = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(ProgramVersion.program_id))).where(
            ProgramVersion.status == VersionStatus.published
        )
    )
    return (count or 0) > 1


def ledger_lines(source: str | None = None) -> Iterator[dict[str, Any]]:
    """Every evaluated event's lines, in processing order (streamed)."""
    slugs = (
        {pid: slug for pid, slug in db.session.execute(sa.select(Program.id, Program.slug))}
        if several_programs()
        else {}
    )
    intake = db.session.scalars(
        sa.select(IntakeRejection)
        .order_by(IntakeRejection.id)
        .where(*([IntakeRejection.source == source] if source else []))
    ).all()
    timed: list[tuple[Any, str, dict[str, Any]]] = []
    for rejection in intake:
        line = {"event": rejection.external_id, "rejected": rejection.reason}
        moment = (
            rejection.payload.get("occurred_at") if isinstance(rejection.payload, dict) else None
        )
        instant = parse_instant(moment)
        if instant is None:
            yield line
        else:
            timed.append((instant, rejection.external_id or "", line))
    timed.sort(key=lambda item: (item[0], item[1]))

    query = (
        sa.select(
            SalesEvent.external_id,
            SalesEvent.occurred_at,
            SalesEvent.status,
            SalesEvent.rejection_reason,
            SalesEvent.id,
            Accrual,
            Partner.code,
        )
        .outerjoin(Accrual, Accrual.event_id == SalesEvent.id)
        .outerjoin(Partner, Partner.id == Accrual.partner_id)
        .outerjoin(Program, Program.id == Accrual.program_id)
        .where(SalesEvent.status != EventStatus.pending)
        # within an event, programs in slug order (the output order): each program
        # writes its lines in its own batch, so ids alone interleave by worker
        .order_by(
            SalesEvent.occurred_at,
            SalesEvent.external_id,
            SalesEvent.id,
            sa.func.coalesce(Program.slug, ""),
            Accrual.id,
        )
        .execution_options(yield_per=2000)
    )
    if source:
        query = query.where(SalesEvent.source == source)
    pending_timed = iter(timed)
    upcoming = next(pending_timed, None)
    rows = db.session.execute(query)
    for (external_id, occurred_at, status, reason, _id), group in groupby(
        rows, key=lambda r: (r[0], r[1], r[2], r[3], r[4])
    ):
        while upcoming is not None and (upcoming[0], upcoming[1]) <= (occurred_at, external_id):
            yield upcoming[2]
            upcoming = next(pending_timed, None)
        if status is EventStatus.rejected:
            yield {"event": external_id, "rejected": reason}
            continue
        for row in group:
            accrual, partner_code = row[5], row[6]
            if accrual is not None:
                yield _accrual_line(
                    external_id, accrual, partner_code, slugs.get(accrual.program_id)
                )
    while upcoming is not None:
        yield upcoming[2]
        upcoming = next(pending_timed, None)
