"""A statement's content from its ledger rows: pure functions, ``Decimal`` to the kopeck.

Input is the partner's rows the statement covers (:class:`LedgerLine`, read by
:mod:`server.statements.commands`) and the opening balance; output is plain JSON (dicts,
lists, strings, integers) that the ``monthly_statement`` template renders and a stored
PDF was made from. Every row lands in exactly one section, so the sections' payable
sums add up to ``closing − opening``; :func:`check_reconciles` says so or raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from server.documents.formatting import format_money_in

ZERO = Decimal("0.00")

#: kinds that earn (the accruals section); the others have their own sections
EARNING_KINDS = frozenset({"commission", "bonus", "override", "points", "reward", "adjustment"})

#: phrases of the line descriptions, per document language
_PHRASES: dict[str, dict[str, str]] = {
    "ru": {
        "order": "Заказ {order}",
        "event": "Событие {event}",
        "sale": "сумма {amount}",
        "code": "код {code}",
        "reverses": "возврат по продаже {sale}",
        "held": "на проверке: {reason}",
        "release": "выпуск задержанного начисления № {id}",
        "forfeit": "отклонено: {reason}",
        "payout": "выплата",
        "adjustment": "корректировка за {day}",
        "reward": "награда: {reward}",
        "level": "уровень {level}",
        "no_rule": "без правила",
    },
    "en": {
        "order": "Order {order}",
        "event": "Event {event}",
        "sale": "amount {amount}",
        "code": "code {code}",
        "reverses": "refund of sale {sale}",
        "held": "under review: {reason}",
        "release": "release of held accrual No. {id}",
        "forfeit": "rejected: {reason}",
        "payout": "payout",
        "adjustment": "adjustment for {day}",
        "reward": "reward: {reward}",
        "level": "level {level}",
        "no_rule": "no rule",
    },
}


class ReconciliationError(Exception):
    """A statement's lines do not add up to its balances (the ledger changed under it)."""


@dataclass(frozen=True)
class LedgerLine:
    """One accrual as a statement shows it, with its event's facts."""

    accrual_id: int
    kind: str
    status: str
    amount: Decimal
    points: int
    at: datetime
    rule_key: str | None = None
    level: int | None = None
    reason: str | None = None
    reward: str | None = None
    reverses: str | None = None
    campaign: str | None = None
    channel: str | None = None
    event_id: str | None = None
    order_id: str | None = None
    event_amount: Decimal | None = None
    code: str | None = None
    #: for release and forfeit rows: the held row decided on
    decided_id: int | None = None

    @property
    def payable(self) -> Decimal:
        """What the row adds to the payable balance (held rows add nothing)."""
        return self.amount if self.status == "approved" else ZERO

    @property
    def payable_points(self) -> int:
        return self.points if self.status == "approved" else 0


@dataclass(frozen=True)
class StatementHeader:
    """What a statement says about itself and its parties (already plain data)."""

    number: str
    issued_on: date
    period_start: date
    period_end: date
    timezone: str
    language: str
    partner: Mapping[str, Any]
    company: Mapping[str, Any]
    region: Mapping[str, Any]
    terms: Mapping[str, Any]
    contract_number: str | None = None


@dataclass(frozen=True)
class Opening:
    balance: Decimal = ZERO
    points: int = 0


@dataclass
class _Group:
    key: tuple[str, str, str, str]
    lines: list[LedgerLine] = field(default_factory=list)


def section_of(line: LedgerLine, period_start: datetime) -> str:
    """The one section a row belongs to (first match wins)."""
    if line.at < period_start:
        return "adjustments"
    if line.kind == "payout":
        return "payouts"
    if line.kind in ("release", "forfeit"):
        return "decisions"
    if line.reverses:
        return "reversals"
    return "accruals"


def describe_line(line: LedgerLine, language: str, adjustment_day: date | None = None) -> str:
    """The words that explain one line: its event, code, reversal, hold or decision."""
    words = _PHRASES[language]
    parts: list[str] = []
    if adjustment_day is not None:
        parts.append(words["adjustment"].format(day=adjustment_day.isoformat()))
    if line.kind == "payout":
        parts.append(words["payout"])
    elif line.kind == "release":
        parts.append(words["release"].format(id=line.decided_id or line.accrual_id))
    if line.order_id:
        parts.append(words["order"].format(order=line.order_id))
    elif line.event_id:
        parts.append(words["event"].format(event=line.event_id))
    if line.event_amount is not None:
        parts.append(words["sale"].format(amount=format_money_in(line.event_amount, language)))
    if line.code:
        parts.append(words["code"].format(code=line.code))
    if line.reverses:
        parts.append(words["reverses"].format(sale=line.reverses))
    if line.level:
        parts.append(words["level"].format(level=line.level))
    if line.kind == "forfeit":
        parts.append(words["forfeit"].format(reason=line.reason or "—"))
    elif line.status == "held":
        parts.append(words["held"].format(reason=line.reason or "—"))
    if line.reward:
        parts.append(words["reward"].format(reward=line.reward))
    return " · ".join(parts)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _line_data(line: LedgerLine, language: str, zone: ZoneInfo, adjustment: bool) -> dict[str, Any]:
    local_day = line.at.astimezone(zone).date()
    return {
        "id": line.accrual_id,
        "date": local_day.isoformat(),
        "kind": line.kind,
        "status": line.status,
        "description": describe_line(line, language, local_day if adjustment else None),
        "channel": line.channel or "",
        "rule": line.rule_key or "",
        "campaign": line.campaign or "",
        "level": line.level,
        "base": _money(line.event_amount) if line.event_amount is not None else "",
        "amount": _money(line.amount),
        "payable": _money(line.payable),
        "points": line.points,
        "reason": line.reason or "",
        "reverses": line.reverses or "",
        "reward": line.reward or "",
        "event": line.event_id or "",
        "order": line.order_id or "",
        "code": line.code or "",
    }


def _sum(lines: Iterable[LedgerLine]) -> Decimal:
    return sum((line.payable for line in lines), ZERO)


def build_statement(
    header: StatementHeader,
    lines: Sequence[LedgerLine],
    opening: Opening,
    rule_sentences: Mapping[str, str],
) -> dict[str, Any]:
    """The statement's data (JSON-ready): header, sections, flat ``rows``, totals.

    ``lines`` are the rows the statement covers, in any order; ``rule_sentences`` maps a
    rule key to its plain-words sentence (in the statement's language).
    """
    zone = ZoneInfo(header.timezone)
    start = datetime.combine(header.period_start, datetime.min.time(), zone)
    ordered = sorted(lines, key=lambda line: (line.at, line.accrual_id))
    sections: dict[str, list[LedgerLine]] = {
        name: [] for name in ("accruals", "reversals", "decisions", "payouts", "adjustments")
    }
    for line in ordered:
        sections[section_of(line, start)].append(line)

    groups: dict[tuple[str, str, str, str], _Group] = {}
    for line in sections["accruals"]:
        key = (line.channel or "", line.rule_key or "", line.campaign or "", str(line.level or ""))
        groups.setdefault(key, _Group(key)).lines.append(line)

    def rows(name: str) -> list[dict[str, Any]]:
        return [
            _line_data(line, header.language, zone, name == "adjustments")
            for line in sections[name]
        ]

    group_data = [
        {
            "channel": group.key[0],
            "rule": group.key[1],
            "rule_text": rule_sentences.get(group.key[1], ""),
            "campaign": group.key[2],
            "level": group.key[3],
            "count": len(group.lines),
            "accrued": _money(sum((line.amount for line in group.lines), ZERO)),
            "payable": _money(_sum(group.lines)),
            "lines": [_line_data(line, header.language, zone, False) for line in group.lines],
        }
        for group in sorted(groups.values(), key=lambda g: g.key)
    ]
    change = _sum(ordered)
    points_earned = sum(line.payable_points for line in ordered)
    earning = [line for line in ordered if line.kind in EARNING_KINDS]
    totals = {
        "count": len(ordered),
        "opening": _money(opening.balance),
        "accrued": _money(sum((line.amount for line in earning), ZERO)),
        "held": _money(sum((line.amount for line in ordered if line.status == "held"), ZERO)),
        "released": _money(_sum(sections["decisions"])),
        "reversed": _money(_sum(sections["reversals"])),
        "payouts": _money(_sum(sections["payouts"])),
        "adjustments": _money(_sum(sections["adjustments"])),
        "change": _money(change),
        "closing": _money(opening.balance + change),
        "payable": _money(opening.balance + change),
        "points_opening": opening.points,
        "points_earned": points_earned,
        "points_balance": opening.points + points_earned,
    }
    flat = [
        row
        for name in ("accruals", "reversals", "decisions", "adjustments", "payouts")
        for row in rows(name)
    ]
    return {
        "language": header.language,
        "statement": {
            "number": header.number,
            "date": header.issued_on.isoformat(),
            "period_start": header.period_start.isoformat(),
            "period_end": header.period_end.isoformat(),
            "contract_number": header.contract_number,
        },
        "company": dict(header.company),
        "partner": dict(header.partner),
        "region": dict(header.region),
        "terms": dict(header.terms),
        "balance": {"opening": totals["opening"], "closing": totals["closing"]},
        "groups": group_data,
        "holds": [row for row in flat if row["status"] == "held"],
        "reversals": rows("reversals"),
        "decisions": rows("decisions"),
        "adjustments": rows("adjustments"),
        "payouts": rows("payouts"),
        "rewards": [row for row in flat if row["reward"]],
        "points": {
            "opening": opening.points,
            "earned": points_earned,
            "balance": opening.points + points_earned,
        },
        "rules": [{"key": key, "text": text} for key, text in sorted(rule_sentences.items())],
        "rows": flat,
        "totals": totals,
    }


def check_reconciles(data: Mapping[str, Any], opening: Decimal, closing: Decimal) -> None:
    """Raise unless the statement's lines take ``opening`` to ``closing`` exactly.

    Raises:
        ReconciliationError: the sums differ by any amount.
    """
    lines = sum((Decimal(row["payable"]) for row in data["rows"]), ZERO)
    totals = data["totals"]
    if Decimal(totals["opening"]) != opening or opening + lines != closing:
        raise ReconciliationError(
            f"statement {data['statement']['number']}: opening {opening} + lines {lines} "
            f"≠ closing {closing}"
        )
    if Decimal(totals["closing"]) != closing:
        raise ReconciliationError(f"statement {data['statement']['number']}: totals differ")
