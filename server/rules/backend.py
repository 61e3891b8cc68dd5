"""Matching events against rule scopes: the engine behind a small interface.

The evaluator asks one question per event: *which rules' scopes match these facts?*
:class:`DurableRulesBackend` answers it with durable_rules (one ``Host`` per process,
behind a lock; rulesets named by content and bounded in number); :class:`PythonBackend`
answers it in plain Python and serves as a differential check in tests.
:class:`SignatureCache` sits in front of either: facts are reduced to the values some
rule actually reads, and an already-seen signature never reaches the engine again.

All money math stays outside: the engine compares only names and dates (as integers).
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any, Protocol

from server.rules.program import FixedParams, ProgramSpec, Rule, TemplateKey

#: Attributes of :class:`MatchFacts` a scope can name, with the scope key naming them.
_SCOPE_ATTRIBUTES = (
    ("region", "regions"),
    ("channel", "channels"),
    ("partner_type", "partner_types"),
    ("partner", "partners"),
    ("category", "categories"),
)


@dataclass(frozen=True, slots=True)
class MatchFacts:
    """What scopes are matched against: the event and its credited partner."""

    type: str
    region: str | None
    channel: str | None
    partner_type: str
    partner: str
    category: str | None
    #: the event's local date as ``yyyymmdd`` (the engine compares numbers)
    day: int
    action: str | None = None
    #: the credited partner's tags (scope ``tags`` needs one of them)
    tags: frozenset[str] = frozenset()


def day_number(day: date) -> int:
    """``date(2026, 3, 2)`` → ``20260302``: ordered like dates, exact as a double."""
    return day.year * 10_000 + day.month * 100 + day.day


@dataclass(frozen=True)
class RuleConditions:
    """One rule's match conditions, engine-neutral. Values are alternatives (OR)."""

    index: int
    event_types: tuple[str, ...]
    #: (attribute, allowed values); an empty tuple never matches
    equals: tuple[tuple[str, tuple[str, ...]], ...]
    day_from: int | None = None
    day_to: int | None = None
    #: the partner must carry one of these tags (``None``: any partner)
    tags: tuple[str, ...] | None = None

    @property
    def can_match(self) -> bool:
        """``False`` when a scope list is empty (such a rule matches nothing)."""
        return all(values for _, values in self.equals) and self.tags != ()

    def tags_match(self, tags: frozenset[str]) -> bool:
        """Whether a partner with ``tags`` satisfies the rule's tag condition."""
        return self.tags is None or not tags.isdisjoint(self.tags)


def rule_conditions(index: int, rule: Rule) -> RuleConditions:
    """The conditions a rule's template and scope put on an event."""
    settings = rule.settings
    if rule.template is TemplateKey.FIXED_PER_ACTION:
        assert isinstance(settings, FixedParams)
        types: tuple[str, ...] = (settings.event_type.value,)
    elif rule.template is TemplateKey.CPM:
        types = ("impressions",)
    else:
        types = ("sale",)
    equals = [
        (attribute, tuple(getattr(rule.scope, key)))
        for attribute, key in _SCOPE_ATTRIBUTES
        if getattr(rule.scope, key) is not None
    ]
    if isinstance(settings, FixedParams) and settings.action is not None:
        equals.append(("action", (settings.action,)))
    scope = rule.scope
    return RuleConditions(
        index=index,
        event_types=types,
        equals=tuple(equals),
        day_from=day_number(scope.valid_from) if scope.valid_from else None,
        day_to=day_number(scope.valid_to) if scope.valid_to else None,
        tags=scope.tags,
    )


def program_conditions(program: ProgramSpec) -> tuple[RuleConditions, ...]:
    """Conditions of every rule, in program order (refunds match no rule)."""
    return tuple(rule_conditions(i, rule) for i, rule in enumerate(program.rules))


class Matcher(Protocol):
    """A compiled program: the indices (program order) of the rules whose scope matches."""

    def match(self, facts: MatchFacts) -> tuple[int, ...]: ...


class MatchBackend(Protocol):
    """Compiles a program's conditions into a :class:`Matcher`."""

    def compile(self, conditions: tuple[RuleConditions, ...]) -> Matcher: ...


# Plain Python ---------------------------------------------------------------------


class _PythonMatcher:
    def __init__(self, conditions: tuple[RuleConditions, ...]) -> None:
        self._conditions = tuple(c for c in conditions if c.can_match)

    def match(self, facts: MatchFacts) -> tuple[int, ...]:
        return tuple(c.index for c in self._conditions if _matches(c, facts))


def _matches(conditions: RuleConditions, facts: MatchFacts) -> bool:
    if facts.type not in conditions.event_types:
        return False
    for attribute, values in conditions.equals:
        if getattr(facts, attribute) not in values:
            return False
    if conditions.day_from is not None and facts.day < conditions.day_from:
        return False
    if conditions.day_to is not None and facts.day > conditions.day_to:
        return False
    return conditions.tags_match(facts.tags)


class PythonBackend:
    """Matching in plain Python: the reference the engine is checked against."""

    def compile(self, conditions: tuple[RuleConditions, ...]) -> Matcher:
        return _PythonMatcher(conditions)


# durable_rules --------------------------------------------------------------------

#: Rulesets cannot be freed once registered: past this many, the process should be
#: recycled (workers do so) rather than grow without bound.
MAX_RULESETS = 2_000


class EngineCapacityError(RuntimeError):
    """The process has registered :data:`MAX_RULESETS` rulesets; recycle it."""


def _durable_condition(conditions: RuleConditions) -> dict[str, Any]:
    terms: list[dict[str, Any]] = []

    def any_of(attribute: str, values: tuple[str, ...]) -> dict[str, Any]:
        if len(values) == 1:
            return {attribute: values[0]}
        return {"$or": [{attribute: value} for value in values]}

    terms.append(any_of("type", conditions.event_types))
    terms.extend(any_of(attribute, values) for attribute, values in conditions.equals)
    if conditions.day_from is not None:
        terms.append({"$gte": {"day": conditions.day_from}})
    if conditions.day_to is not None:
        terms.append({"$lte": {"day": conditions.day_to}})
    return {"$and": terms} if len(terms) > 1 else terms[0]


#: Limits that keep durable_rules' compiler well-behaved. Measured here: rulesets of
#: ~500 three-condition rules fail with error 107, and a ruleset whose ``$or``
#: alternatives add up to ~500 or more never finishes compiling (no error: a hang).
#: So a program is spread over several rulesets, each with at most
#: :data:`RULES_PER_RULESET` engine rules and :data:`PATHS_PER_RULESET` alternative
#: paths; a long scope list becomes several engine rules for the same program rule.
RULES_PER_RULESET = 100
PATHS_PER_RULESET = 256
MAX_ALTERNATIVES = 16

_Entry = tuple[int, dict[str, Any]]  # (rule index, durable condition)


def _terms(condition: dict[str, Any]) -> list[dict[str, Any]]:
    terms: list[dict[str, Any]] = condition.get("$and", [condition])
    return terms


def _paths(condition: dict[str, Any]) -> int:
    """How many alternative paths the engine expands a condition into."""
    paths = 1
    for term in _terms(condition):
        paths *= max(1, len(term.get("$or", ())))
    return paths


def _expand(index: int, condition: dict[str, Any]) -> list[_Entry]:
    """Entries equivalent to ``condition``, each with short ``$or`` lists and few paths."""
    too_wide = any(len(term.get("$or", ())) > MAX_ALTERNATIVES for term in _terms(condition))
    if not too_wide and _paths(condition) <= PATHS_PER_RULESET:
        return [(index, condition)]
    halves = _split_widest_or(condition)
    assert halves is not None  # too wide or too many paths means some $or has 2+ entries
    return _expand(index, halves[0]) + _expand(index, halves[1])


def _chunks(entries: list[_Entry]) -> list[list[_Entry]]:
    """Entries grouped into rulesets within the limits above, in order."""
    chunks: list[list[_Entry]] = []
    current: list[_Entry] = []
    paths = 0
    for entry in entries:
        cost = _paths(entry[1])
        if current and (len(current) >= RULES_PER_RULESET or paths + cost > PATHS_PER_RULESET):
            chunks.append(current)
            current, paths = [], 0
        current.append(entry)
        paths += cost
    if current:
        chunks.append(current)
    return chunks


def _split_widest_or(condition: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Two conditions whose union is ``condition``, by halving its widest ``$or``."""
    terms = _terms(condition)
    widest = max(
        (i for i, term in enumerate(terms) if "$or" in term),
        key=lambda i: len(terms[i]["$or"]),
        default=None,
    )
    if widest is None or len(terms[widest]["$or"]) < 2:
        return None
    alternatives = terms[widest]["$or"]
    half = len(alternatives) // 2
    halves = []
    for part in (alternatives[:half], alternatives[half:]):
        term = part[0] if len(part) == 1 else {"$or": part}
        new_terms = [*terms[:widest], term, *terms[widest + 1 :]]
        halves.append({"$and": new_terms} if len(new_terms) > 1 else new_terms[0])
    return halves[0], halves[1]


class _DurableEngine:
    """The process's single durable_rules ``Host`` (not thread-safe: one lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._host: Any = None
        self._matchers: dict[str, _DurableMatcher] = {}
        self._ruleset_count = 0
        self._fact_ids = itertools.count()

    def host(self) -> Any:
        if self._host is None:
            from durable import engine  # imported lazily: only this backend needs it

            self._host = engine.Host()
        return self._host

    def matcher(self, conditions: tuple[RuleConditions, ...]) -> _DurableMatcher:
        entries: list[_Entry] = [
            entry
            for c in conditions
            if c.can_match
            for entry in _expand(c.index, _durable_condition(c))
        ]
        digest = hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()[:24]
        with self.lock:
            existing = self._matchers.get(digest)
            if existing is not None:
                return existing
            matcher = _DurableMatcher(self)
            for chunk in _chunks(entries):
                self._register(matcher, f"pf-{digest}", chunk)
            self._matchers[digest] = matcher
            return matcher

    def _register(self, matcher: _DurableMatcher, prefix: str, entries: list[_Entry]) -> None:
        if self._ruleset_count >= MAX_RULESETS:
            raise EngineCapacityError(
                f"{MAX_RULESETS} durable_rules rulesets registered in this process; restart it"
            )
        name = f"{prefix}-{self._ruleset_count}"
        self._ruleset_count += 1
        # Names must be unique within a ruleset; one rule may appear in several entries.
        rules = {
            f"r{index}_{n}": {"all": [{"m": condition}], "run": matcher.action(index)}
            for n, (index, condition) in enumerate(entries)
        }
        try:
            # set_rulesets deletes the "run" key from what it is given: these are fresh.
            self.host().set_rulesets({name: rules})
        except Exception as exc:  # the C extension raises its own bare error type
            if len(entries) > 1:
                half = len(entries) // 2
                self._register(matcher, prefix, entries[:half])
                self._register(matcher, prefix, entries[half:])
                return
            index, condition = entries[0]
            halves = _split_widest_or(condition)
            if halves is None:
                raise EngineCapacityError(f"durable_rules refused rule #{index}: {exc}") from exc
            self._register(matcher, prefix, [(index, halves[0]), (index, halves[1])])
            return
        matcher.rulesets.append(name)

    def next_fact_id(self) -> str:
        return str(next(self._fact_ids))


class _DurableMatcher:
    def __init__(self, engine: _DurableEngine) -> None:
        self._engine = engine
        self.rulesets: list[str] = []
        self._fired: set[int] = set()
        self._failures: list[BaseException] = []

    def action(self, index: int) -> Callable[[Any], None]:
        def fired(_context: Any) -> None:
            # durable_rules swallows exceptions raised here: record them instead.
            try:
                self._fired.add(index)
            except BaseException as exc:  # pragma: no cover - defensive
                self._failures.append(exc)

        return fired

    def match(self, facts: MatchFacts) -> tuple[int, ...]:
        if not self.rulesets:
            return ()
        from durable import engine

        fact: dict[str, Any] = {
            f.name: getattr(facts, f.name)
            for f in fields(MatchFacts)
            if f.name != "tags" and getattr(facts, f.name) is not None
        }
        with self._engine.lock:
            host = self._engine.host()
            fact["id"] = self._engine.next_fact_id()
            fact["sid"] = "0"  # one fixed session: the engine has a fixed-size sid table
            self._fired.clear()
            for name in self.rulesets:
                with contextlib.suppress(engine.MessageNotHandledException):
                    host.assert_fact(name, fact)
                with contextlib.suppress(engine.MessageNotHandledException):
                    host.retract_fact(name, fact)
            if self._failures:
                failure = self._failures.pop()
                self._failures.clear()
                raise RuntimeError("a durable_rules action failed") from failure
            return tuple(sorted(self._fired))


_ENGINE = _DurableEngine()


class _TagFilter:
    """Drops the rules whose scope ``tags`` the partner does not carry.

    durable_rules compares scalars; a set intersection is checked here, after it, on
    the few rules it returned (the engine's rulesets are shared by content, without tags).
    """

    def __init__(self, matcher: Matcher, conditions: tuple[RuleConditions, ...]) -> None:
        self._matcher = matcher
        self._tagged = {c.index: c for c in conditions if c.tags is not None}

    def match(self, facts: MatchFacts) -> tuple[int, ...]:
        tagged = self._tagged
        return tuple(
            index
            for index in self._matcher.match(facts)
            if index not in tagged or tagged[index].tags_match(facts.tags)
        )


class DurableRulesBackend:
    """Matching with durable_rules (the production engine)."""

    def compile(self, conditions: tuple[RuleConditions, ...]) -> Matcher:
        matcher: Matcher = _ENGINE.matcher(conditions)
        if any(c.tags is not None for c in conditions if c.can_match):
            matcher = _TagFilter(matcher, conditions)
        return matcher


# Signature cache ------------------------------------------------------------------


class SignatureCache:
    """Answers from memory when an equivalent event was matched before.

    Two events are equivalent when every condition of every rule gives the same answer
    for both: the signature keeps a name only if some scope names it (other names all
    behave like "none of the named ones"), and replaces the date by the interval between
    consecutive ``valid_from``/``valid_to`` boundaries it falls in. Event types no rule
    reads skip matching altogether. The cache is bounded (oldest entries go first).
    """

    def __init__(
        self, matcher: Matcher, conditions: tuple[RuleConditions, ...], maxsize: int = 65_536
    ) -> None:
        self._matcher = matcher
        self._maxsize = maxsize
        self._cache: dict[tuple[Any, ...], tuple[int, ...]] = {}
        usable = [c for c in conditions if c.can_match]
        self._types = frozenset(t for c in usable for t in c.event_types)
        named: dict[str, set[str]] = {}
        for c in usable:
            for attribute, values in c.equals:
                named.setdefault(attribute, set()).update(values)
        self._named = {k: frozenset(v) for k, v in named.items()}
        self._tags = frozenset(t for c in usable for t in c.tags or ())
        bounds: set[int] = set()
        for c in usable:
            if c.day_from is not None:
                bounds.add(c.day_from)
            if c.day_to is not None:
                bounds.add(_day_after(c.day_to))
        self._bounds = sorted(bounds)
        self.hits = 0
        self.misses = 0

    def _signature(self, facts: MatchFacts) -> tuple[Any, ...]:
        named = self._named
        return (
            facts.type,
            facts.region if facts.region in named.get("region", ()) else None,
            facts.channel if facts.channel in named.get("channel", ()) else None,
            facts.partner_type if facts.partner_type in named.get("partner_type", ()) else None,
            facts.partner if facts.partner in named.get("partner", ()) else None,
            facts.category if facts.category in named.get("category", ()) else None,
            facts.action if facts.action in named.get("action", ()) else None,
            bisect.bisect_right(self._bounds, facts.day) if self._bounds else 0,
            facts.tags & self._tags if self._tags else None,
        )

    def match(self, facts: MatchFacts) -> tuple[int, ...]:
        """The matching rule indices, from the cache when possible."""
        if facts.type not in self._types:
            return ()
        signature = self._signature(facts)
        found = self._cache.get(signature)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        found = self._matcher.match(facts)
        if len(self._cache) >= self._maxsize:
            del self._cache[next(iter(self._cache))]
        self._cache[signature] = found
        return found


def _day_after(day: int) -> int:
    try:
        moment = date(day // 10_000, day // 100 % 100, day % 100) + timedelta(days=1)
    except OverflowError:  # 9999-12-31: any larger number is "after"
        return day + 1
    return day_number(moment)
