"""Shared set-up for fault tests: the spec's worked example, and what simulate says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.rules.evaluator import Evaluator
from server.rules.output import outcome_to_json
from server.rules.partners import load_partners_file
from server.rules.program import load_program_file
from server.rules.sorting import sorted_events


def simulate(folder: Path) -> list[dict[str, Any]]:
    """What `partnerflow simulate` prints for the folder, as objects."""
    evaluator = Evaluator(
        load_program_file(folder / "program.yaml"), load_partners_file(folder / "partners.yaml")
    )
    return [outcome_to_json(o) for o in evaluator.run(sorted_events(folder / "events.jsonl"))]
