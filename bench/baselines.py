"""The baselines the benchmarks measure in the same run, written once.

- the raw durable_rules loop: one ``assert_fact`` + ``retract_fact`` per fact, exactly
  as the probe in ``notes/probes/durable_facts.py`` does it (try/except is also the
  cheapest way to ignore an unmatched fact);
- a bare Flask endpoint: one route returning text, through Flask's test client — the
  framework's floor under any page.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any


def raw_durable_seconds(host: Any, ruleset: str, facts: Iterable[dict[str, Any]]) -> float:
    """Seconds to assert and retract every fact (each needs its ``id`` and ``sid``)."""
    from durable import engine

    started = time.perf_counter()
    for fact in facts:
        try:  # noqa: SIM105
            host.assert_fact(ruleset, fact)
        except engine.MessageNotHandledException:
            pass
        try:  # noqa: SIM105
            host.retract_fact(ruleset, fact)
        except engine.MessageNotHandledException:
            pass
    return time.perf_counter() - started


def bare_flask_client() -> Any:
    """The test client of a one-route Flask app (``GET /`` answers ``ok``)."""
    from flask import Flask

    bare = Flask("bare")
    bare.add_url_rule("/", "index", lambda: "ok")
    return bare.test_client()
