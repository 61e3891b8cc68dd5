"""Fixtures for the rules engine tests: build programs, partners and events as data."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from server.rules.backend import MatchBackend, PythonBackend
from server.rules.evaluator import Evaluator
from server.rules.output import outcome_to_json
from server.rules.partners import parse_partners
from server.rules.program import parse_program
from server.rules.sorting import sorted_events
from server.rules.state import EvaluationState

BASE = datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=3)))


def at(hours: float, base: datetime = BASE) -> str:
    """ISO timestamp ``hours`` after 2026-03-01T00:00+03:00."""
    return (base + timedelta(hours=hours)).isoformat()


class EventFactory:
    """Makes event dicts; the n-th event made gets id ``<type letter><n>`` and time n hours."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._hours = itertools.count(1)

    def _base(self, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        event: dict[str, Any] = {
            "id": fields.pop("id", f"{kind[0]}{next(self._ids)}"),
            "type": kind,
            "occurred_at": fields.pop("occurred_at", at(next(self._hours))),
        }
        event.update(fields)
        return {k: v for k, v in event.items() if v is not None}

    def sale(
        self, partner: str | None = "P1", amount: Any = "1000", **fields: Any
    ) -> dict[str, Any]:
        fields.setdefault("channel", "online")
        return self._base("sale", {"partner": partner, "amount": amount, **fields})

    def refund(self, refers_to: str, amount: Any, **fields: Any) -> dict[str, Any]:
        return self._base("refund", {"refers_to": refers_to, "amount": amount, **fields})

    def lead(self, partner: str | None = "P1", **fields: Any) -> dict[str, Any]:
        fields.setdefault("channel", "online")
        return self._base("lead", {"partner": partner, **fields})

    def action(
        self, partner: str | None = "P1", action: str = "signup", **fields: Any
    ) -> dict[str, Any]:
        fields.setdefault("channel", "online")
        return self._base("action", {"partner": partner, "action": action, **fields})

    def impressions(
        self, partner: str | None = "P1", count: Any = 1000, **fields: Any
    ) -> dict[str, Any]:
        return self._base("impressions", {"partner": partner, "count": count, **fields})


def partner(pid: str, **fields: Any) -> dict[str, Any]:
    """A partner dict: an active online affiliate in region A unless told otherwise."""
    out = {"id": pid, "type": "online_affiliate", "region": "A", "parent": None, "status": "active"}
    out.update(fields)
    return out


def rule(
    rid: str, template: str, scope: dict[str, Any] | None = None, **params: Any
) -> dict[str, Any]:
    """A rule dict."""
    out: dict[str, Any] = {"id": rid, "template": template, "params": params}
    if scope:
        out["scope"] = scope
    return out


Evaluate = Callable[..., list[dict[str, Any]]]
#: the ``make_partner`` and ``make_rule`` fixtures
MakeDict = Callable[..., dict[str, Any]]


def evaluate_data(
    rules: list[dict[str, Any]],
    partners: list[dict[str, Any]],
    events: Iterable[object],
    *,
    currency: str = "RUB",
    backend: MatchBackend | None = None,
    state: EvaluationState | None = None,
    cache_size: int = 65_536,
) -> list[dict[str, Any]]:
    """Sort and evaluate events; outcomes as the spec's JSON objects."""
    program = parse_program({"program": "t", "currency": currency, "rules": rules})
    directory = parse_partners({"partners": partners})
    evaluator = Evaluator(
        program,
        directory,
        state=state,
        backend=backend if backend is not None else PythonBackend(),
        cache_size=cache_size,
    )
    return [outcome_to_json(o) for o in evaluator.run(sorted_events(list(events)))]


def evaluate_programs(
    programs: list[dict[str, Any]],
    partners: list[dict[str, Any]],
    events: Iterable[object],
    *,
    backend: MatchBackend | None = None,
    state: EvaluationState | None = None,
) -> list[dict[str, Any]]:
    """Several program documents (``currency`` defaults to RUB) evaluated side by side;
    accrual lines carry ``program``."""
    specs = [parse_program({"currency": "RUB", **program}) for program in programs]
    evaluator = Evaluator(
        specs,
        parse_partners({"partners": partners}),
        state=state,
        backend=backend if backend is not None else PythonBackend(),
    )
    return [
        outcome_to_json(o, with_program=True) for o in evaluator.run(sorted_events(list(events)))
    ]


@pytest.fixture
def ev() -> EventFactory:
    return EventFactory()


@pytest.fixture(scope="session")
def evaluate() -> Evaluate:
    """``evaluate(rules, partners, events, **options)`` with the plain-Python matcher.

    The durable_rules backend is compared with it in the differential tests.
    """
    return evaluate_data


@pytest.fixture
def make_partner() -> Callable[..., dict[str, Any]]:
    return partner


@pytest.fixture
def make_rule() -> Callable[..., dict[str, Any]]:
    return rule
