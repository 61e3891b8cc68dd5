"""Programs: an ordered list of rules built from templates, read from and written to YAML.

:func:`parse_program` validates a program document (every problem is reported, each
naming the rule id and the field) and returns an immutable :class:`ProgramSpec`;
:func:`dump_program_yaml` writes it back so that import → export → import gives an
equal program.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from server.rules.events import Channel, EventType
from server.rules.money import parse_decimal
from server.rules.templates import RuleTemplate, TemplateCatalogue, default_catalogue
from server.rules.yaml_loader import load_yaml

log = logging.getLogger(__name__)

#: a program file without ``currency`` pays in roubles
DEFAULT_CURRENCY = "RUB"


class TemplateKey(str, Enum):
    """Templates the evaluator implements (``spec/rules.md`` section 3)."""

    PERCENT_OF_SALE = "percent_of_sale"
    TIERED_PERCENT = "tiered_percent"
    FIXED_PER_ACTION = "fixed_per_action"
    CPM = "cpm"
    CAMPAIGN_BONUS = "campaign_bonus"
    FIRST_PURCHASE_BONUS = "first_purchase_bonus"
    GOAL_BONUS = "goal_bonus"
    REWARD = "reward"
    MULTI_LEVEL_OVERRIDE = "multi_level_override"
    POINTS_PER_AMOUNT = "points_per_amount"
    HOLD_LARGE_SALE = "hold_large_sale"
    HOLD_VELOCITY = "hold_velocity"
    HOLD_SELF_REFERRAL = "hold_self_referral"


HOLD_TEMPLATES = frozenset(
    {TemplateKey.HOLD_LARGE_SALE, TemplateKey.HOLD_VELOCITY, TemplateKey.HOLD_SELF_REFERRAL}
)


class PartnerType(str, Enum):
    """Kinds of partners."""

    ONLINE_AFFILIATE = "online_affiliate"
    OFFLINE_POINT = "offline_point"
    AMBASSADOR = "ambassador"
    COFACTOR = "cofactor"


class Metric(str, Enum):
    """What goal bonuses and rewards count."""

    NEW_CUSTOMERS = "new_customers"
    SALES_AMOUNT = "sales_amount"
    SALES_COUNT = "sales_count"


class Period(str, Enum):
    """Periods of goal bonuses and rewards (on the event's local date)."""

    MONTH = "month"
    QUARTER = "quarter"


SCOPE_LISTS = ("regions", "channels", "partner_types", "partners", "tags", "categories")
#: keys of a program's ``enrolment`` (``spec/rules.md`` section 6)
ENROLMENT_LISTS = ("regions", "partner_types", "tags", "partners")
SCOPE_DATES = ("valid_from", "valid_to")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Scope:
    """Where a rule applies. ``None`` matches everything; an empty tuple nothing."""

    regions: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None
    partner_types: tuple[str, ...] | None = None
    partners: tuple[str, ...] | None = None
    #: the credited partner carries at least one of these tags
    tags: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    def to_dict(self) -> dict[str, Any]:
        """The YAML form: only the keys that are set."""
        out: dict[str, Any] = {}
        for name in SCOPE_LISTS:
            values = getattr(self, name)
            if values is not None:
                out[name] = list(values)
        for name in SCOPE_DATES:
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@dataclass(frozen=True)
class Enrolment:
    """Who takes part in a program (``spec/rules.md`` section 6).

    ``None`` keys are not named. A partner listed in ``partners`` takes part; otherwise
    it must match every other named key (its own region, its type, one of its tags).
    Naming only ``partners`` enrols only those; an empty list matches nobody. An empty
    enrolment (nothing named) enrols everybody, like an omitted one.
    """

    regions: tuple[str, ...] | None = None
    partner_types: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    partners: tuple[str, ...] | None = None

    @property
    def is_everybody(self) -> bool:
        """Whether no key is named (every partner takes part)."""
        return all(getattr(self, name) is None for name in ENROLMENT_LISTS)

    def includes(
        self, partner_id: str, region: str | None, partner_type: str, tags: Collection[str]
    ) -> bool:
        """Whether the partner with these attributes takes part."""
        if self.is_everybody:
            return True
        if self.partners is not None and partner_id in self.partners:
            return True
        named = [
            values for values in (self.regions, self.partner_types, self.tags) if values is not None
        ]
        if not named:  # only ``partners`` is named
            return False
        return (
            (self.regions is None or region in self.regions)
            and (self.partner_types is None or partner_type in self.partner_types)
            and (self.tags is None or any(tag in self.tags for tag in tags))
        )

    def to_dict(self) -> dict[str, Any]:
        """The YAML form: only the keys that are named."""
        return {
            name: list(getattr(self, name))
            for name in ENROLMENT_LISTS
            if getattr(self, name) is not None
        }


# Typed parameters, one class per template family ---------------------------------


@dataclass(frozen=True)
class Tier:
    """A tier of ``tiered_percent``: ``rate`` applies from ``start`` month-to-date."""

    start: Decimal
    rate: Decimal


@dataclass(frozen=True)
class RateParams:
    """``percent_of_sale``, ``cpm`` and ``campaign_bonus`` (with its campaign name)."""

    rate: Decimal
    campaign: str | None = None


@dataclass(frozen=True)
class TieredParams:
    """``tiered_percent``: tiers sorted by ``start``."""

    tiers: tuple[Tier, ...]


@dataclass(frozen=True)
class FixedParams:
    """``fixed_per_action``."""

    event_type: EventType
    amount: Decimal
    action: str | None = None


@dataclass(frozen=True)
class AmountParams:
    """``first_purchase_bonus``."""

    amount: Decimal


@dataclass(frozen=True)
class GoalParams:
    """``goal_bonus`` (``amount``) and ``reward`` (``reward`` text, amount 0)."""

    metric: Metric
    threshold: Decimal
    period: Period
    amount: Decimal = Decimal(0)
    reward: str | None = None


@dataclass(frozen=True)
class OverrideParams:
    """``multi_level_override``: ``rates[0]`` is level 1."""

    rates: tuple[Decimal, ...]


@dataclass(frozen=True)
class PointsParams:
    """``points_per_amount``."""

    per: Decimal
    points: int


@dataclass(frozen=True)
class LargeSaleParams:
    """``hold_large_sale``."""

    above: Decimal


@dataclass(frozen=True)
class VelocityParams:
    """``hold_velocity``: the window in microseconds (exact, may be fractional)."""

    max_sales: int
    within_us: Decimal


@dataclass(frozen=True)
class NoParams:
    """``hold_self_referral``."""


TemplateParams = (
    RateParams
    | TieredParams
    | FixedParams
    | AmountParams
    | GoalParams
    | OverrideParams
    | PointsParams
    | LargeSaleParams
    | VelocityParams
    | NoParams
)


@dataclass(frozen=True)
class Rule:
    """One rule of a program.

    ``params`` is the normalised parameter mapping (decimals as ``Decimal``) used for
    export and plain words; ``settings`` the same values typed for the evaluator.
    """

    id: str
    template: TemplateKey
    scope: Scope
    params: Mapping[str, Any]
    settings: TemplateParams = field(compare=False, repr=False)

    @property
    def is_hold(self) -> bool:
        """Whether the rule holds accruals instead of producing them."""
        return self.template in HOLD_TEMPLATES


@dataclass(frozen=True)
class ProgramSpec:
    """A validated program; ``rules`` in program (= output) order."""

    slug: str
    currency: str
    rules: tuple[Rule, ...]
    title: str | None = None
    #: who takes part; everybody when not given
    enrolment: Enrolment = field(default_factory=Enrolment)

    def to_dict(self) -> dict[str, Any]:
        """The YAML document of the program (decimals as text)."""
        out: dict[str, Any] = {"program": self.slug}
        if self.title is not None:
            out["title"] = self.title
        out["currency"] = self.currency
        if not self.enrolment.is_everybody:
            out["enrolment"] = self.enrolment.to_dict()
        out["rules"] = [
            {
                "id": rule.id,
                "template": rule.template.value,
                **({"scope": rule.scope.to_dict()} if rule.scope.to_dict() else {}),
                "params": _to_plain(rule.params),
            }
            for rule in self.rules
        ]
        return out


@dataclass(frozen=True)
class Issue:
    """One problem in a program or partners file: where, and what is wrong.

    ``message`` is English (the command line's and the log's); ``ru`` says the same in
    Russian where the check gives it, for the pages (:meth:`text`).
    """

    where: str
    message: str
    ru: str | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    def text(self, lang: str) -> str:
        """The issue in ``lang`` (``ru`` or ``en``); English where no Russian is given."""
        return f"{self.where}: {self.ru if lang == 'ru' and self.ru else self.message}"


class ProgramError(ValueError):
    """A program document is invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))

    def text(self, lang: str) -> str:
        """Every issue in ``lang`` (:meth:`Issue.text`), in one line."""
        return "; ".join(issue.text(lang) for issue in self.issues)


def _to_plain(value: Any) -> Any:
    """Normalised params → YAML-friendly values (``Decimal`` as its text)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_plain(v) for v in value]
    return value


def _normalise(value: Any, schema: Mapping[str, Any]) -> Any:
    """Validated params → canonical values: decimal-format fields become ``Decimal``."""
    if str(schema.get("format", "")).endswith("decimal"):
        number = parse_decimal(value)
        assert number is not None  # the schema's format check accepted it
        return number
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return {k: _normalise(v, props.get(k, {})) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_normalise(v, schema.get("items", {})) for v in value)
    return value


def _settings(key: TemplateKey, params: Mapping[str, Any], template: RuleTemplate) -> Any:
    def get(name: str) -> Any:
        return params.get(name, template.param_default(name))

    match key:
        case TemplateKey.PERCENT_OF_SALE | TemplateKey.CPM:
            return RateParams(params["rate"])
        case TemplateKey.CAMPAIGN_BONUS:
            return RateParams(params["rate"], params["campaign"])
        case TemplateKey.TIERED_PERCENT:
            tiers = sorted(
                (Tier(t["from"], t["rate"]) for t in params["tiers"]), key=lambda t: t.start
            )
            return TieredParams(tuple(tiers))
        case TemplateKey.FIXED_PER_ACTION:
            return FixedParams(EventType(params["event_type"]), params["amount"], get("action"))
        case TemplateKey.FIRST_PURCHASE_BONUS:
            return AmountParams(params["amount"])
        case TemplateKey.GOAL_BONUS | TemplateKey.REWARD:
            return GoalParams(
                metric=Metric(params["metric"]),
                threshold=Decimal(params["threshold"]),
                period=Period(get("period")),
                amount=get("amount") or Decimal(0),
                reward=get("reward"),
            )
        case TemplateKey.MULTI_LEVEL_OVERRIDE:
            return OverrideParams(tuple(params["rates"]))
        case TemplateKey.POINTS_PER_AMOUNT:
            return PointsParams(params["per"], int(params["points"]))
        case TemplateKey.HOLD_LARGE_SALE:
            return LargeSaleParams(params["above"])
        case TemplateKey.HOLD_VELOCITY:
            hours: Decimal = params["within_hours"]
            return VelocityParams(int(params["max_sales"]), hours * 3_600_000_000)
        case TemplateKey.HOLD_SELF_REFERRAL:
            return NoParams()
    raise AssertionError(key)  # pragma: no cover - the match is exhaustive


def _text(value: object) -> str | None:
    """Identifiers may be written as YAML integers; anything else is not an identifier."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _parse_scope(raw: object, where: str, issues: list[Issue]) -> Scope:
    if raw is None:
        return Scope()
    if not isinstance(raw, dict):
        issues.append(Issue(f"{where}.scope", "must be a mapping", "должен быть словарём"))
        return Scope()
    values: dict[str, Any] = {}
    allowed = {
        "channels": {c.value for c in Channel},
        "partner_types": {t.value for t in PartnerType},
    }
    for name, value in raw.items():
        here = f"{where}.scope.{name}"
        if name in SCOPE_LISTS:
            if value is None:
                continue
            names = _parse_names(value, here, allowed.get(name), issues)
            if names is not None:
                values[name] = names
        elif name in SCOPE_DATES:
            if value is None:
                continue
            day = value if type(value) is date else None
            if day is None and isinstance(value, str):
                try:
                    day = date.fromisoformat(value)
                except ValueError:
                    day = None
            if day is None:
                issues.append(
                    Issue(here, "must be a date like 2026-10-01", "нужна дата вида 2026-10-01")
                )
                continue
            values[name] = day
        else:
            expected = ", ".join((*SCOPE_LISTS, *SCOPE_DATES))
            issues.append(
                Issue(
                    here,
                    f"unknown scope key (expected one of: {expected})",
                    f"неизвестный ключ охвата (допустимы: {expected})",
                )
            )
    scope = Scope(**values)
    if scope.valid_from and scope.valid_to and scope.valid_from > scope.valid_to:
        issues.append(
            Issue(f"{where}.scope", "valid_from is after valid_to", "valid_from позже valid_to")
        )
    return scope


def _parse_names(
    value: object, here: str, allowed: set[str] | None, issues: list[Issue]
) -> tuple[str, ...] | None:
    """A list of names (one name alone counts as a list of one); ``None`` on an issue."""
    items = value if isinstance(value, list) else [value]
    texts = [_text(item) for item in items]
    if any(t is None for t in texts):
        issues.append(Issue(here, "must be a list of names (text)", "должен быть списком названий"))
        return None
    bad = [t for t in texts if allowed is not None and t not in allowed]
    if bad:
        issues.append(
            Issue(
                here,
                f"unknown value(s) {', '.join(map(str, bad))}; "
                f"expected {', '.join(sorted(allowed or ()))}",
                f"неизвестные значения: {', '.join(map(str, bad))}; "
                f"допустимы: {', '.join(sorted(allowed or ()))}",
            )
        )
        return None
    return tuple(t for t in texts if t is not None)


def _parse_enrolment(raw: object, issues: list[Issue]) -> Enrolment:
    if raw is None:
        return Enrolment()
    if not isinstance(raw, dict):
        issues.append(Issue("enrolment", "must be a mapping", "должен быть словарём"))
        return Enrolment()
    values: dict[str, tuple[str, ...]] = {}
    for name, value in raw.items():
        here = f"enrolment.{name}"
        if name not in ENROLMENT_LISTS:
            expected = ", ".join(ENROLMENT_LISTS)
            issues.append(
                Issue(
                    here,
                    f"unknown enrolment key (expected one of: {expected})",
                    f"неизвестный ключ участия (допустимы: {expected})",
                )
            )
            continue
        if value is None:
            continue
        allowed = {t.value for t in PartnerType} if name == "partner_types" else None
        names = _parse_names(value, here, allowed, issues)
        if names is not None:
            values[name] = names
    return Enrolment(**values)


def _parse_rule(
    raw: object, index: int, catalogue: TemplateCatalogue, issues: list[Issue]
) -> Rule | None:
    where = f"rules[{index}]"
    if not isinstance(raw, dict):
        issues.append(
            Issue(
                where,
                "must be a mapping with id, template, scope, params",
                "должно быть словарём с ключами id, template, scope, params",
            )
        )
        return None
    rule_id = _text(raw.get("id"))
    if rule_id is None:
        issues.append(Issue(f"{where}.id", "missing or not text", "нет или не текст"))
    else:
        where = f"rule '{rule_id}'"
    for name in raw:
        if name not in ("id", "template", "scope", "params"):
            # Descriptive extras (a note, a title) change nothing the engine pays: warn.
            log.warning(
                "%s.%s: unknown key ignored (expected id, template, scope, params)", where, name
            )
    before = len(issues)
    scope = _parse_scope(raw.get("scope"), where, issues)
    template_name = raw.get("template")
    keys = {k.value: k for k in TemplateKey}
    if not isinstance(template_name, str) or template_name not in keys:
        known = ", ".join(sorted(k for k in keys if k in catalogue))
        issues.append(
            Issue(
                f"{where}.template",
                f"unknown template {template_name!r} (known: {known})",
                f"неизвестный шаблон {template_name!r} (есть: {known})",
            )
        )
        return None
    if template_name not in catalogue:
        issues.append(
            Issue(
                f"{where}.template",
                f"template {template_name!r} is not in the catalogue",
                f"шаблона {template_name!r} нет в каталоге",
            )
        )
        return None
    template = catalogue[template_name]
    params = raw.get("params")
    params = {} if params is None else params
    param_issues = template.validate_params(params)
    for problem in param_issues:
        issues.append(Issue(f"{where}.params.{problem.field}", problem.en, problem.ru))
    if param_issues or len(issues) > before or rule_id is None:
        return None
    normalised = _normalise(params, template.params_schema)
    key = keys[template_name]
    if key is TemplateKey.TIERED_PERCENT:
        starts = [tier["from"] for tier in normalised["tiers"]]
        if len(set(starts)) != len(starts):
            issues.append(
                Issue(
                    f"{where}.params.tiers",
                    "two tiers have the same 'from'",
                    "у двух ступеней одинаковый 'from'",
                )
            )
            return None
    return Rule(rule_id, key, scope, normalised, _settings(key, normalised, template))


def parse_program(data: object, catalogue: TemplateCatalogue | None = None) -> ProgramSpec:
    """Validate a program document (as loaded from YAML) and build a :class:`ProgramSpec`.

    Raises :class:`ProgramError` listing every problem, each naming the rule and field.
    """
    catalogue = catalogue if catalogue is not None else default_catalogue()
    issues: list[Issue] = []
    if not isinstance(data, dict):
        raise ProgramError(
            [
                Issue(
                    "program file",
                    "must be a mapping with program, currency, rules",
                    "должен быть словарём с ключами program, currency, rules",
                )
            ]
        )
    for name in data:
        if name not in ("program", "title", "currency", "enrolment", "rules"):
            log.warning(
                "%s: unknown key ignored (expected program, title, currency, enrolment, rules)",
                name,
            )
    slug = _text(data.get("program"))
    if slug is None or not _SLUG.match(slug):
        issues.append(
            Issue(
                "program",
                "missing or not a slug (letters, digits, '-', '_', '.')",
                "нет или не код (латинские буквы, цифры, '-', '_', '.')",
            )
        )
    title = data.get("title")
    if title is not None and not isinstance(title, str):
        issues.append(Issue("title", "must be text", "должен быть текстом"))
    currency = data.get("currency", DEFAULT_CURRENCY)
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        issues.append(
            Issue(
                "currency",
                "missing or not a three-letter code like RUB",
                "нет или не трёхбуквенный код вида RUB",
            )
        )
    enrolment = _parse_enrolment(data.get("enrolment"), issues)
    raw_rules = data.get("rules")
    raw_rules = [] if raw_rules is None else raw_rules
    rules: list[Rule] = []
    if not isinstance(raw_rules, list):
        issues.append(Issue("rules", "must be a list", "должен быть списком"))
        raw_rules = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_rules):
        rule = _parse_rule(raw, index, catalogue, issues)
        if rule is None:
            continue
        if rule.id in seen:
            issues.append(
                Issue(f"rule '{rule.id}'.id", "duplicate rule id", "такой id правила уже есть")
            )
        seen.add(rule.id)
        rules.append(rule)
    if issues:
        raise ProgramError(issues)
    assert slug is not None and isinstance(currency, str)
    return ProgramSpec(
        slug=slug, currency=currency, rules=tuple(rules), title=title, enrolment=enrolment
    )


def deployment_issues(programs: Sequence[ProgramSpec]) -> list[Issue]:
    """Why these programs cannot run side by side (``spec/rules.md`` section 6); empty if they can.

    A deployment needs at least one program, one currency for all, and distinct slugs.
    """
    if not programs:
        return [Issue("programs", "at least one program is needed", "нужна хотя бы одна программа")]
    issues: list[Issue] = []
    first = programs[0]
    for program in programs[1:]:
        if program.currency != first.currency:
            issues.append(
                Issue(
                    f"program '{program.slug}'.currency",
                    f"{program.currency} differs from {first.currency} of program "
                    f"'{first.slug}': all programs must have the same currency",
                    f"{program.currency} отличается от {first.currency} программы "
                    f"'{first.slug}': у всех программ должна быть одна валюта",
                )
            )
    seen: set[str] = set()
    for program in programs:
        if program.slug in seen:
            issues.append(
                Issue(
                    f"program '{program.slug}'",
                    "two program files have this slug",
                    "у двух файлов программ одинаковый код",
                )
            )
        seen.add(program.slug)
    return issues


def load_program_yaml(text: str, catalogue: TemplateCatalogue | None = None) -> ProgramSpec:
    """Parse program YAML text. Raises :class:`ProgramError` (also for malformed YAML)."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ProgramError(
            [Issue("program file", f"invalid YAML: {exc}", f"ошибка в YAML: {exc}")]
        ) from None
    return parse_program(data, catalogue)


def load_program_file(path: Path | str, catalogue: TemplateCatalogue | None = None) -> ProgramSpec:
    """Read and parse a program file. Raises :class:`ProgramError` or ``OSError``."""
    return load_program_yaml(Path(path).read_text(encoding="utf-8"), catalogue)


def dump_program_yaml(program: ProgramSpec) -> str:
    """The program as YAML; :func:`load_program_yaml` reads it back to an equal program."""
    return yaml.safe_dump(program.to_dict(), sort_keys=False, allow_unicode=True, width=100)
