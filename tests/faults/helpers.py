"""Shared set-up for fault tests: the spec's worked example, and what simulate says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.rules.evaluator import Evaluator
from server.rules.output import outcome_to_json
from server.rules.partners import load_partners_file
from server.rules.program import load_program_file
from server.rules.sorting import sorted_events
from tests.integration.ledger.helpers import EXAMPLES, exported, load_example, post, raw_batch

#: the spec's basic worked example, the input of the fault tests
BASIC = EXAMPLES / "basic"
#: the marks of a test that feeds the worked examples to workers in subprocesses (they
#: run on the machine clock)
ON_EXAMPLES = [pytest.mark.spec_examples, pytest.mark.real_clock]


def simulate(folder: Path) -> list[dict[str, Any]]:
    """What `partnerflow simulate` prints for the folder, as objects."""
    evaluator = Evaluator(
        load_program_file(folder / "program.yaml"), load_partners_file(folder / "partners.yaml")
    )
    return [outcome_to_json(o) for o in evaluator.run(sorted_events(folder / "events.jsonl"))]


def post_basic(app: Flask) -> Any:
    """Load the basic example's partners and program and post all its events in one
    batch: the intake's answer."""
    key = load_example(app, BASIC)
    return post(app.test_client(), key, raw_batch(BASIC))


def ledger_is_simulated(app: Flask) -> bool:
    """Whether the app's ledger is what `simulate` gives for the basic example."""
    return exported(app) == simulate(BASIC)
