"""The evaluator: events in processing order → accruals and rejections.

One evaluation path for ``partnerflow simulate``, the browser's simulation and the
workers. One evaluator serves a deployment of one or more programs (``spec/rules.md``
section 6): validation, attribution, duplicates, customers and the sales registry are
the deployment's, checked once per event; each program whose enrolment includes the
credited partner then applies its own rules with its own figures. The engine (a
:class:`~server.rules.backend.MatchBackend`) only says which rules' scopes match an
event; attribution, holds, counters, money and refunds are computed here in
``Decimal``. Semantics: ``spec/rules.md`` and ``docs/rules.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum
from typing import Any

from server.rules.backend import (
    DurableRulesBackend,
    MatchBackend,
    Matcher,
    MatchFacts,
    SignatureCache,
    day_number,
    program_conditions,
)
from server.rules.events import (
    ATTRIBUTION_FIELDS,
    Event,
    EventType,
    Reason,
    read_body,
    read_header,
)
from server.rules.money import (
    HUNDRED,
    THOUSAND,
    ZERO,
    div,
    floor_int,
    mul,
    round_cents,
)
from server.rules.partners import PartnerDirectory, PartnerInfo
from server.rules.program import (
    AmountParams,
    FixedParams,
    GoalParams,
    LargeSaleParams,
    Metric,
    OverrideParams,
    Period,
    PointsParams,
    ProgramError,
    ProgramSpec,
    RateParams,
    Rule,
    TemplateKey,
    TieredParams,
    VelocityParams,
    deployment_issues,
)
from server.rules.state import (
    EvaluationState,
    MemoryState,
    PeriodFigures,
    PeriodKey,
    ReversibleAccrual,
    SaleRecord,
)


class AccrualKind(str, Enum):
    """What an accrual is."""

    COMMISSION = "commission"
    BONUS = "bonus"
    OVERRIDE = "override"
    POINTS = "points"
    REWARD = "reward"


class AccrualStatus(str, Enum):
    """Held accruals wait for a manager's review."""

    APPROVED = "approved"
    HELD = "held"


#: Templates whose accruals a refund reverses (``spec/rules.md`` section 4).
REVERSIBLE = frozenset(
    {
        TemplateKey.PERCENT_OF_SALE,
        TemplateKey.TIERED_PERCENT,
        TemplateKey.CAMPAIGN_BONUS,
        TemplateKey.MULTI_LEVEL_OVERRIDE,
        TemplateKey.POINTS_PER_AMOUNT,
    }
)
_KIND = {
    TemplateKey.PERCENT_OF_SALE: AccrualKind.COMMISSION,
    TemplateKey.TIERED_PERCENT: AccrualKind.COMMISSION,
    TemplateKey.FIXED_PER_ACTION: AccrualKind.COMMISSION,
    TemplateKey.CPM: AccrualKind.COMMISSION,
    TemplateKey.CAMPAIGN_BONUS: AccrualKind.BONUS,
    TemplateKey.FIRST_PURCHASE_BONUS: AccrualKind.BONUS,
    TemplateKey.GOAL_BONUS: AccrualKind.BONUS,
    TemplateKey.REWARD: AccrualKind.REWARD,
    TemplateKey.MULTI_LEVEL_OVERRIDE: AccrualKind.OVERRIDE,
    TemplateKey.POINTS_PER_AMOUNT: AccrualKind.POINTS,
}
_CODE_KIND = dict(ATTRIBUTION_FIELDS)


@dataclass(frozen=True, slots=True)
class Accrual:
    """One output accrual. ``amount`` has two decimals; reversals are negative."""

    event: str
    partner: str
    rule: str
    kind: AccrualKind
    amount: Decimal
    points: int
    status: AccrualStatus
    level: int | None = None
    reason: str | None = None
    reward: str | None = None
    reverses: str | None = None
    #: the slug of the program that produced it
    program: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A rejected event (``event`` is ``None`` when the line had no usable id)."""

    event: str | None
    reason: str


Outcome = Accrual | Rejection


@dataclass(frozen=True, slots=True)
class Admission:
    """An event the deployment accepted: what every program's rules read of it.

    Admitting (validation, the duplicate check, attribution, a refund's check against
    its sale, the customer's sales) depends on the one order of every event; applying
    the programs' rules to an admission depends only on each program's own state. So
    workers admit in one serialized stage and apply program by program, in parallel
    (docs/ledger.md). ``partner`` is the credited partner (``None`` for a refund).
    """

    event: Event
    partner: PartnerInfo | None
    first_purchase: bool = False
    #: the customer's sales within each velocity window (µs) of the deployment's hold
    #: rules, this sale included, as counted when it was admitted
    recent_sales: Mapping[Decimal, int] = field(default_factory=dict)


def period_label(event: Event, period: Period) -> str:
    """``2026-03`` or ``2026-Q1``, from the event's local date."""
    day = event.local_date
    if period is Period.QUARTER:
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}-{day.month:02d}"


class _ProgramRun:
    """One program of a deployment, compiled: its matcher and where its figures live."""

    __slots__ = ("everybody", "figures_prefix", "matcher", "program", "rules")

    def __init__(self, program: ProgramSpec, matcher: Matcher, figures_prefix: str) -> None:
        self.program = program
        self.rules = program.rules
        self.matcher = matcher
        #: prefixed to rule ids in :class:`PeriodKey` so programs never share figures
        self.figures_prefix = figures_prefix
        self.everybody = program.enrolment.is_everybody

    def enrols(self, partner: PartnerInfo) -> bool:
        return self.everybody or self.program.enrolment.includes(
            partner.id, partner.region, partner.type.value, partner.tags
        )

    def figures_key(self, rule: Rule, partner: str, period: str) -> PeriodKey:
        return PeriodKey(self.figures_prefix + rule.id, partner, period)


class Evaluator:
    """Evaluates events for a deployment of programs over one partner directory.

    ``programs`` is one program or several (:func:`deployment_issues` must find nothing:
    one currency, distinct slugs; else :class:`ProgramError`). Period figures are keyed
    by ``<slug>/<rule id>`` when ``figures_by_program``, else by rule id; the default
    (``None``) keys by program only when several run, so one program's figures stay
    where the ledger stores them. A store that will see programs come and go should
    pass ``True`` throughout. ``state`` defaults to a fresh :class:`MemoryState`,
    ``backend`` to durable_rules. ``cache_size=0`` sends every event to the engine
    (tests use it to check the cache). Not thread-safe: use one evaluator per thread
    (the durable engine has its own lock).
    """

    def __init__(
        self,
        programs: ProgramSpec | Sequence[ProgramSpec],
        partners: PartnerDirectory,
        state: EvaluationState | None = None,
        backend: MatchBackend | None = None,
        cache_size: int = 65_536,
        figures_by_program: bool | None = None,
    ) -> None:
        listed = (programs,) if isinstance(programs, ProgramSpec) else tuple(programs)
        issues = deployment_issues(listed)
        if issues:
            raise ProgramError(issues)
        self.programs: tuple[ProgramSpec, ...] = tuple(sorted(listed, key=lambda p: p.slug))
        self.currency = listed[0].currency
        self.partners = partners
        self.state: EvaluationState = state if state is not None else MemoryState()
        engine = backend if backend is not None else DurableRulesBackend()
        by_program = len(listed) > 1 if figures_by_program is None else figures_by_program
        runs = []
        for program in self.programs:
            conditions = program_conditions(program)
            compiled = engine.compile(conditions)
            matcher: Matcher = (
                SignatureCache(compiled, conditions, cache_size) if cache_size > 0 else compiled
            )
            runs.append(_ProgramRun(program, matcher, f"{program.slug}/" if by_program else ""))
        self._runs = tuple(runs)
        #: the velocity windows an admission counts the customer's sales in
        self.velocity_windows = tuple(
            sorted(
                {
                    rule.settings.within_us
                    for program in self.programs
                    for rule in program.rules
                    if isinstance(rule.settings, VelocityParams)
                }
            )
        )

    # public ------------------------------------------------------------------------

    def run(self, events: Iterable[object]) -> Iterator[Outcome]:
        """Outcomes of events given in processing order (see :mod:`server.rules.sorting`)."""
        for event in events:
            yield from self.process(event)

    def process(self, obj: object) -> list[Outcome]:
        """Evaluate one event (a parsed JSON value) and update the state.

        Returns its accruals in output order (program slug, rule, level),
        ``[Rejection]``, or ``[]`` for an accepted event that earns nothing (also when
        no program enrols its partner). Never raises for bad input.
        """
        admitted = self._admit(obj)
        if isinstance(admitted, Rejection):
            return [admitted]
        return self.apply(admitted)

    def admit(self, obj: object) -> Admission | Rejection:
        """The deployment's stage alone: accept or reject the event, record the
        customer's sale and register a sale (without accruals) or a refund's amount.
        :meth:`apply` of each program's evaluator, in the same order, does the rest."""
        admitted = self._admit(obj)
        if isinstance(admitted, Admission):
            event = admitted.event
            if event.type is EventType.SALE:
                assert admitted.partner is not None and event.amount is not None
                self.state.save_sale(SaleRecord(event.id, admitted.partner.id, event.amount))
            elif event.type is EventType.REFUND:
                assert event.refers_to is not None and event.amount is not None
                sale = self.state.find_sale(event.refers_to)
                assert sale is not None
                self.state.save_sale(replace(sale, refunded=sale.refunded + event.amount))
        return admitted

    def apply(self, admitted: Admission) -> list[Outcome]:
        """The programs' rules on an admitted event; updates their state (figures, the
        sale's reversible accruals). A refund reverses what this evaluator's programs
        booked for the sale: nothing if they never saw it."""
        event = admitted.event
        if event.type is EventType.REFUND:
            return self._refund(event)
        partner = admitted.partner
        assert partner is not None
        facts = MatchFacts(
            type=event.type.value,
            region=event.region if event.region is not None else partner.region,
            channel=event.channel.value if event.channel is not None else None,
            partner_type=partner.type.value,
            partner=partner.id,
            category=event.category,
            day=day_number(event.local_date),
            action=event.action,
            tags=partner.tags,
        )
        if event.type is EventType.SALE:
            return self._sale(admitted, partner, facts)
        out: list[Outcome] = []
        for run in self._runs:
            if run.enrols(partner):
                out.extend(self._per_event(run, event, partner, run.matcher.match(facts)))
        return out

    def admitted(
        self,
        obj: dict[str, Any],
        partner: str | None,
        first_purchase: bool = False,
        recent_sales: Mapping[Decimal, int] | None = None,
    ) -> Admission:
        """The admission of an event admitted before (by another process), from what
        admission found; reads the event again without touching the state."""
        header = read_header(obj)
        event = None if isinstance(header, tuple) else read_body(obj, header, self.currency)
        if not isinstance(event, Event):
            raise ValueError(f"an admitted event no longer reads: {header!r} {event!r}")
        credited = self.partners.get(partner) if partner is not None else None
        if partner is not None and credited is None:
            raise ValueError(f"admitted event {event.id}: partner {partner!r} is gone")
        return Admission(event, credited, first_purchase, recent_sales or {})

    def _admit(self, obj: object) -> Admission | Rejection:
        header = read_header(obj)
        if isinstance(header, tuple):
            return Rejection(*header)
        if not self.state.claim_event_id(header.id):
            return Rejection(header.id, Reason.DUPLICATE_ID.value)
        assert isinstance(obj, dict)
        event = read_body(obj, header, self.currency)
        if isinstance(event, str):
            return Rejection(header.id, event)
        if event.type is EventType.REFUND:
            # checked once against the sale, for every program
            assert event.refers_to is not None and event.amount is not None
            sale = self.state.find_sale(event.refers_to)
            if sale is None:
                return Rejection(event.id, Reason.UNKNOWN_SALE.value)
            if sale.refunded + event.amount > sale.amount:
                return Rejection(event.id, Reason.REFUND_EXCEEDS_SALE.value)
            return Admission(event, None)
        partner = self._attribute(event)
        if partner is None:
            return Rejection(event.id, Reason.UNATTRIBUTED.value)
        if not partner.is_active:
            return Rejection(event.id, Reason.PARTNER_NOT_ACTIVE.value)
        if event.type is not EventType.SALE or event.customer is None:
            return Admission(event, partner)
        # Customer facts are the deployment's: recorded once, whoever evaluates the sale.
        first_purchase = self.state.record_customer_sale(event.customer, event.instant_us)
        recent = {
            window: self.state.count_customer_sales(
                event.customer, event.instant_us - window, event.instant_us
            )
            for window in self.velocity_windows
        }
        return Admission(event, partner, first_purchase, recent)

    # steps -------------------------------------------------------------------------

    def _attribute(self, event: Event) -> PartnerInfo | None:
        for name, value in event.attribution:
            kind = _CODE_KIND[name]
            partner = (
                self.partners.get(value) if kind is None else self.partners.by_code(kind, value)
            )
            if partner is not None:
                return partner
        return None

    def _per_event(
        self, run: _ProgramRun, event: Event, partner: PartnerInfo, matched: tuple[int, ...]
    ) -> list[Accrual]:
        out: list[Accrual] = []
        for index in matched:
            rule = run.rules[index]
            settings = rule.settings
            if isinstance(settings, FixedParams):
                amount = settings.amount
            elif isinstance(settings, RateParams) and event.count is not None:
                amount = div(mul(Decimal(event.count), settings.rate), THOUSAND)
            else:  # pragma: no cover - the matcher only returns rules reading this type
                continue
            accrual = _accrual(run, event, partner.id, rule, amount=amount)
            if accrual is not None:
                out.append(accrual)
        return out

    def _hold_reason(
        self, run: _ProgramRun, admitted: Admission, partner: PartnerInfo, matched: tuple[int, ...]
    ) -> str | None:
        event = admitted.event
        amount = event.amount
        assert amount is not None
        for index in matched:
            rule = run.rules[index]
            settings = rule.settings
            if isinstance(settings, LargeSaleParams):
                if amount > settings.above:
                    return rule.id
            elif isinstance(settings, VelocityParams):
                # the deployment's sales of the customer, whichever programs saw them
                if (
                    event.customer is not None
                    and admitted.recent_sales[settings.within_us] > settings.max_sales
                ):
                    return rule.id
            elif rule.template is TemplateKey.HOLD_SELF_REFERRAL and (
                event.customer is not None and event.customer == partner.customer_ref
            ):
                return rule.id
        return None

    def _sale(self, admitted: Admission, partner: PartnerInfo, facts: MatchFacts) -> list[Outcome]:
        event = admitted.event
        amount = event.amount
        assert amount is not None
        first_purchase = admitted.first_purchase
        out: list[Outcome] = []
        reversible: list[ReversibleAccrual] = []
        for run in self._runs:
            if not run.enrols(partner):
                continue
            matched = run.matcher.match(facts)
            reason = self._hold_reason(run, admitted, partner, matched)
            for index in matched:
                rule = run.rules[index]
                produced = self._sale_rule(
                    run, event, partner, rule, amount, first_purchase, reason
                )
                out.extend(produced)
                if rule.template in REVERSIBLE:
                    reversible.extend(
                        ReversibleAccrual(
                            rule=a.rule,
                            partner=a.partner,
                            kind=a.kind.value,
                            status=a.status.value,
                            amount=a.amount,
                            points=a.points,
                            level=a.level,
                            reason=a.reason,
                            program=a.program,
                        )
                        for a in produced
                    )
        self.state.save_sale(SaleRecord(event.id, partner.id, amount, ZERO, tuple(reversible)))
        return out

    def _sale_rule(
        self,
        run: _ProgramRun,
        event: Event,
        partner: PartnerInfo,
        rule: Rule,
        amount: Decimal,
        first_purchase: bool,
        reason: str | None,
    ) -> list[Accrual]:
        settings = rule.settings
        accrual: Accrual | None = None
        if isinstance(settings, RateParams):  # percent_of_sale, campaign_bonus
            accrual = _accrual(
                run, event, partner.id, rule, div(mul(amount, settings.rate), HUNDRED), reason
            )
        elif isinstance(settings, TieredParams):
            key = run.figures_key(rule, partner.id, period_label(event, Period.MONTH))
            figures = self._count_sale(key, amount, first_purchase)
            rate = None
            for tier in settings.tiers:
                if tier.start <= figures.sales_amount:
                    rate = tier.rate
            if rate is not None:
                accrual = _accrual(
                    run, event, partner.id, rule, div(mul(amount, rate), HUNDRED), reason
                )
        elif isinstance(settings, AmountParams):  # first_purchase_bonus
            if first_purchase:
                accrual = _accrual(run, event, partner.id, rule, settings.amount, reason)
        elif isinstance(settings, GoalParams):
            key = run.figures_key(rule, partner.id, period_label(event, settings.period))
            figures = self._count_sale(key, amount, first_purchase)
            value: Decimal = {
                Metric.SALES_AMOUNT: figures.sales_amount,
                Metric.SALES_COUNT: Decimal(figures.sales_count),
                Metric.NEW_CUSTOMERS: Decimal(figures.new_customers),
            }[settings.metric]
            if not figures.goal_paid and value >= settings.threshold:
                self.state.save_period_figures(key, replace(figures, goal_paid=True))
                accrual = _accrual(
                    run, event, partner.id, rule, settings.amount, reason, reward=settings.reward
                )
        elif isinstance(settings, PointsParams):
            points = floor_int(div(amount, settings.per)) * settings.points
            accrual = _accrual(run, event, partner.id, rule, ZERO, reason, points=points)
        elif isinstance(settings, OverrideParams):
            return self._overrides(run, event, partner, rule, settings, amount, reason)
        return [accrual] if accrual is not None else []

    def _overrides(
        self,
        run: _ProgramRun,
        event: Event,
        seller: PartnerInfo,
        rule: Rule,
        settings: OverrideParams,
        amount: Decimal,
        reason: str | None,
    ) -> list[Accrual]:
        out: list[Accrual] = []
        for level, (rate, receiver) in enumerate(
            zip(settings.rates, self.partners.ancestors(seller.id), strict=False), start=1
        ):
            if not receiver.is_active or not run.enrols(receiver):
                continue  # skipped; the next level up still gets its own rate
            accrual = _accrual(
                run, event, receiver.id, rule, div(mul(amount, rate), HUNDRED), reason, level=level
            )
            if accrual is not None:
                out.append(accrual)
        return out

    def _count_sale(self, key: PeriodKey, amount: Decimal, first_purchase: bool) -> PeriodFigures:
        before = self.state.period_figures(key)
        after = PeriodFigures(
            sales_amount=before.sales_amount + amount,
            sales_count=before.sales_count + 1,
            new_customers=before.new_customers + (1 if first_purchase else 0),
            goal_paid=before.goal_paid,
        )
        self.state.save_period_figures(key, after)
        return after

    def _refund(self, event: Event) -> list[Outcome]:
        """Reverses the sale's accruals in every program of this evaluator (admitted:
        the refund was checked against the sale once, for all programs)."""
        refund = event.amount
        assert refund is not None and event.refers_to is not None
        sale = self.state.find_sale(event.refers_to)
        if sale is None:
            return []  # a program that never saw the sale has nothing to reverse
        refunded = sale.refunded + refund
        out: list[Outcome] = []
        updated: list[ReversibleAccrual] = []
        for original in sale.accruals:
            if original.kind == AccrualKind.POINTS.value:
                points = floor_int(div(mul(Decimal(original.points), refund), sale.amount))
                points = min(points, original.points - original.reversed_points)
                amount = ZERO
            else:
                points = 0
                amount = round_cents(div(mul(original.amount, refund), sale.amount))
                amount = min(amount, original.amount - original.reversed_amount)
            updated.append(
                replace(
                    original,
                    reversed_amount=original.reversed_amount + amount,
                    reversed_points=original.reversed_points + points,
                )
            )
            if amount > 0 or points > 0:
                out.append(
                    Accrual(
                        event=event.id,
                        partner=original.partner,
                        rule=original.rule,
                        kind=AccrualKind(original.kind),
                        amount=round_cents(-amount),
                        points=-points,
                        status=AccrualStatus(original.status),
                        level=original.level,
                        reason=original.reason,
                        reverses=sale.id,
                        program=original.program,
                    )
                )
        self.state.save_sale(replace(sale, refunded=refunded, accruals=tuple(updated)))
        return out


def _accrual(
    run: _ProgramRun,
    event: Event,
    partner: str,
    rule: Rule,
    amount: Decimal,
    reason: str | None = None,
    *,
    points: int = 0,
    level: int | None = None,
    reward: str | None = None,
) -> Accrual | None:
    """An accrual rounded to cents, or ``None`` when it rounds to nothing (rewards aside)."""
    kind = _KIND[rule.template]
    rounded = round_cents(amount)
    if not rounded and points == 0 and kind is not AccrualKind.REWARD:
        return None
    return Accrual(
        event=event.id,
        partner=partner,
        rule=rule.id,
        kind=kind,
        amount=rounded,
        points=points,
        status=AccrualStatus.HELD if reason is not None else AccrualStatus.APPROVED,
        level=level,
        reason=reason,
        reward=reward,
        program=run.program.slug,
    )
