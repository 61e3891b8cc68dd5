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

from babel.dates import format_date

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
        "online": "онлайн",
        "offline": "офлайн",
        "campaign": "кампания {campaign}",
        "accruals": "начисления",
        "reversals": "возвраты",
        "decisions": "решения по начислениям на проверке",
        "payouts": "выплаты",
        "program_section": "Программа «{title}»",
        "campaign_section": "Кампания «{title}»",
        "other_section": "Выплаты и записи вне программ",
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
        "online": "online",
        "offline": "offline",
        "campaign": "campaign {campaign}",
        "accruals": "accruals",
        "reversals": "refunds",
        "decisions": "decisions on accruals under review",
        "payouts": "payouts",
        "program_section": "Program “{title}”",
        "campaign_section": "Campaign “{title}”",
        "other_section": "Payouts and rows of no program",
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
    #: the slug of the program that produced the row (None: a payout, or a row of no
    #: program)
    program: str | None = None

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
class ProgramInfo:
    """A program as a statement names its section: the title (a campaign's own program
    is titled by its campaign) and its rules' sentences and titles by rule key, in the
    statement's language (rule keys are a program's own: two programs may share one)."""

    slug: str
    title: str
    campaign: bool = False
    rule_sentences: Mapping[str, str] = field(default_factory=dict)
    rule_titles: Mapping[str, str] = field(default_factory=dict)


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
    return _operation_of(line)


def _operation_of(line: LedgerLine) -> str:
    """What a row does, whatever its date: accruals, reversals, decisions or payouts."""
    if line.kind == "payout":
        return "payouts"
    if line.kind in ("release", "forfeit"):
        return "decisions"
    if line.reverses:
        return "reversals"
    return "accruals"


def describe_line(
    line: LedgerLine,
    language: str,
    adjustment_day: date | None = None,
    rule_titles: Mapping[str, str] | None = None,
) -> str:
    """The words that explain one line: its event, code, reversal, hold or decision.

    A hold's or rejection's reason is a hold rule's key: ``rule_titles`` names it.
    """
    words = _PHRASES[language]
    titles = rule_titles or {}
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
    reason = titles.get(line.reason or "", line.reason) or "—"
    if line.kind == "forfeit":
        parts.append(words["forfeit"].format(reason=reason))
    elif line.status == "held":
        parts.append(words["held"].format(reason=reason))
    if line.reward:
        parts.append(words["reward"].format(reward=line.reward))
    return " · ".join(parts)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _line_data(
    line: LedgerLine,
    language: str,
    zone: ZoneInfo,
    adjustment: bool,
    rule_titles: Mapping[str, str],
) -> dict[str, Any]:
    local_day = line.at.astimezone(zone).date()
    return {
        "id": line.accrual_id,
        "date": local_day.isoformat(),
        "kind": line.kind,
        "status": line.status,
        "description": describe_line(
            line, language, local_day if adjustment else None, rule_titles
        ),
        "channel": line.channel or "",
        "rule": line.rule_key or "",
        "campaign": line.campaign or "",
        "level": line.level,
        "base": _money(line.event_amount) if line.event_amount is not None else "",
        "amount": _money(line.amount),
        "payable": _money(line.payable),
        "points": line.points,
        "reason": line.reason or "",
        "reason_text": rule_titles.get(line.reason or "", line.reason or ""),
        "reverses": line.reverses or "",
        "reward": line.reward or "",
        "event": line.event_id or "",
        "order": line.order_id or "",
        "code": line.code or "",
    }


def _sum(lines: Iterable[LedgerLine]) -> Decimal:
    return sum((line.payable for line in lines), ZERO)


def group_heading(
    key: tuple[str, str, str, str], language: str, rule_titles: Mapping[str, str]
) -> str:
    """A group of accruals in words: the rule's title, campaign, level and channel."""
    words = _PHRASES[language]
    channel, rule, campaign, level = key
    parts = [rule_titles.get(rule, rule) if rule else words["no_rule"]]
    if campaign:
        parts.append(words["campaign"].format(campaign=campaign))
    if level:
        parts.append(words["level"].format(level=level))
    if channel:
        parts.append(words.get(channel, channel))
    return " · ".join(parts)


def adjustment_groups(
    lines: Sequence[LedgerLine], language: str, zone: ZoneInfo, rule_titles: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Late rows of closed periods, summed by month, operation and rule.

    A first statement after months of history, or a month of hold decisions, must not
    print hundreds of bare rows: each group says which month it belongs to, what the
    rows did and how much they add up to.
    """
    words = _PHRASES[language]
    groups: dict[tuple[date, str, str], list[LedgerLine]] = {}
    for line in lines:
        month = line.at.astimezone(zone).date().replace(day=1)
        groups.setdefault((month, _operation_of(line), line.rule_key or ""), []).append(line)
    return [
        {
            "month": month.isoformat()[:7],
            "period": format_date(month, "LLLL yyyy", locale=language),
            "operation": operation,
            "label": " · ".join(
                [words[operation]] + ([rule_titles.get(rule, rule)] if rule else [])
            ),
            "count": len(members),
            "payable": _money(_sum(members)),
        }
        for (month, operation, rule), members in sorted(groups.items())
    ]


_SECTIONS = ("accruals", "reversals", "decisions", "payouts", "adjustments")


def _content(
    lines: Sequence[LedgerLine],
    language: str,
    zone: ZoneInfo,
    start: datetime,
    sentences: Mapping[str, str],
    titles: Mapping[str, str],
) -> dict[str, Any]:
    """Sections, groups, rows and payable sums of some ordered lines (a whole statement's
    or one program's)."""
    sections: dict[str, list[LedgerLine]] = {name: [] for name in _SECTIONS}
    for line in lines:
        sections[section_of(line, start)].append(line)

    groups: dict[tuple[str, str, str, str], _Group] = {}
    for line in sections["accruals"]:
        key = (line.channel or "", line.rule_key or "", line.campaign or "", str(line.level or ""))
        groups.setdefault(key, _Group(key)).lines.append(line)

    def rows(name: str) -> list[dict[str, Any]]:
        return [
            _line_data(line, language, zone, name == "adjustments", titles)
            for line in sections[name]
        ]

    group_data = [
        {
            "channel": group.key[0],
            "rule": group.key[1],
            "rule_text": sentences.get(group.key[1], ""),
            "heading": group_heading(group.key, language, titles),
            "campaign": group.key[2],
            "level": group.key[3],
            "count": len(group.lines),
            "accrued": _money(sum((line.amount for line in group.lines), ZERO)),
            "payable": _money(_sum(group.lines)),
            "lines": [_line_data(line, language, zone, False, titles) for line in group.lines],
        }
        for group in sorted(groups.values(), key=lambda g: g.key)
    ]
    flat = [
        row
        for name in ("accruals", "reversals", "decisions", "adjustments", "payouts")
        for row in rows(name)
    ]
    earning = [line for line in lines if line.kind in EARNING_KINDS]
    return {
        "groups": group_data,
        "holds": [row for row in flat if row["status"] == "held"],
        "reversals": rows("reversals"),
        "decisions": rows("decisions"),
        "adjustments": rows("adjustments"),
        "adjustment_groups": adjustment_groups(sections["adjustments"], language, zone, titles),
        "payouts": rows("payouts"),
        "rewards": [row for row in flat if row["reward"]],
        "rows": flat,
        "totals": {
            "count": len(lines),
            "accrued": _money(sum((line.amount for line in earning), ZERO)),
            "held": _money(sum((line.amount for line in lines if line.status == "held"), ZERO)),
            "released": _money(_sum(sections["decisions"])),
            "reversed": _money(_sum(sections["reversals"])),
            "payouts": _money(_sum(sections["payouts"])),
            "adjustments": _money(_sum(sections["adjustments"])),
            "change": _money(_sum(lines)),
            "points_earned": sum(line.payable_points for line in lines),
        },
    }


def program_sections(
    lines: Sequence[LedgerLine],
    language: str,
    zone: ZoneInfo,
    start: datetime,
    programs: Sequence[ProgramInfo],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(one section per program the lines name, the rest): each section with its own
    groups, holds, refunds, decisions, adjustments and totals; the rest are the rows of
    no program (payouts). Every line is in exactly one, so the sections' ``change`` sums
    add up to the statement's.

    Sections come in the order of ``programs``; a program the lines name but
    ``programs`` does not know is named by its slug, after the known ones.
    """
    words = _PHRASES[language]
    known = {program.slug: program for program in programs}
    by_program: dict[str | None, list[LedgerLine]] = {}
    for line in lines:
        slug = line.program if line.program is not None and line.kind != "payout" else None
        by_program.setdefault(slug, []).append(line)
    order = [program.slug for program in programs if program.slug in by_program]
    order += sorted(slug for slug in by_program if slug is not None and slug not in known)
    sections = []
    for slug in order:
        info = known.get(slug) or ProgramInfo(slug, slug)
        content = _content(
            by_program[slug], language, zone, start, info.rule_sentences, info.rule_titles
        )
        phrase = words["campaign_section" if info.campaign else "program_section"]
        sections.append(
            {
                "slug": slug,
                "title": info.title,
                "campaign": info.campaign,
                "heading": phrase.format(title=info.title),
                **content,
            }
        )
    other = _content(by_program.get(None, []), language, zone, start, {}, {})
    return sections, {"heading": words["other_section"], **other}


def build_statement(
    header: StatementHeader,
    lines: Sequence[LedgerLine],
    opening: Opening,
    rule_sentences: Mapping[str, str],
    rule_titles: Mapping[str, str] | None = None,
    programs: Sequence[ProgramInfo] = (),
) -> dict[str, Any]:
    """The statement's data (JSON-ready): header, sections, flat ``rows``, totals.

    ``lines`` are the rows the statement covers, in any order; ``rule_sentences`` maps a
    rule key to its plain-words sentence and ``rule_titles`` to its template's title
    (both in the statement's language; a rule missing there is named by its key).
    ``programs`` names the programs' sections (``programs`` of the data: one per
    program the lines name, see :func:`program_sections`; ``other``: payouts and rows of
    no program).
    """
    titles = rule_titles or {}
    zone = ZoneInfo(header.timezone)
    start = datetime.combine(header.period_start, datetime.min.time(), zone)
    ordered = sorted(lines, key=lambda line: (line.at, line.accrual_id))
    whole = _content(ordered, header.language, zone, start, rule_sentences, titles)
    sections, other = program_sections(ordered, header.language, zone, start, programs)
    change = _sum(ordered)
    points_earned = whole["totals"].pop("points_earned")
    totals = {
        **whole["totals"],
        "opening": _money(opening.balance),
        "closing": _money(opening.balance + change),
        "payable": _money(opening.balance + change),
        "points_opening": opening.points,
        "points_earned": points_earned,
        "points_balance": opening.points + points_earned,
    }
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
        "groups": whole["groups"],
        "holds": whole["holds"],
        "reversals": whole["reversals"],
        "decisions": whole["decisions"],
        "adjustments": whole["adjustments"],
        "adjustment_groups": whole["adjustment_groups"],
        "payouts": whole["payouts"],
        "rewards": whole["rewards"],
        "points": {
            "opening": opening.points,
            "earned": points_earned,
            "balance": opening.points + points_earned,
        },
        "rules": [{"key": key, "text": text} for key, text in sorted(rule_sentences.items())],
        "rows": whole["rows"],
        "programs": sections,
        "other": other,
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
    parts = [*data.get("programs", []), data["other"]] if "other" in data else []
    if parts and sum((Decimal(part["totals"]["change"]) for part in parts), ZERO) != lines:
        raise ReconciliationError(
            f"statement {data['statement']['number']}: the programs' sections do not add up"
        )
