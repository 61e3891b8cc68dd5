"""``partnerflow simulate`` on the spec's worked examples, and its exit statuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli.programs import programs
from server.cli.simulate import simulate

SHARED = Path(os.environ.get("PARTNERFLOW_SHARED", Path(__file__).parents[3] / ".." / "shared"))
EXAMPLES = SHARED / "spec" / "examples"
EXAMPLE_DIRS = sorted(p for p in EXAMPLES.glob("*") if (p / "expected.jsonl").is_file())
REPO = Path(__file__).parents[3]


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _args(folder: Path) -> list[str]:
    return [
        "--program", str(folder / "program.yaml"),
        "--partners", str(folder / "partners.yaml"),
        "--events", str(folder / "events.jsonl"),
    ]  # fmt: skip


@pytest.mark.skipif(not EXAMPLE_DIRS, reason=f"spec examples not found under {EXAMPLES}")
@pytest.mark.parametrize("folder", EXAMPLE_DIRS, ids=lambda p: p.name)
@pytest.mark.parametrize("extra", [[], ["--engine", "python"], ["--state", "sqlite"]])
def test_worked_example_matches_expected(folder, extra):
    result = CliRunner().invoke(simulate, _args(folder) + extra)
    assert result.exit_code == 0, result.output
    expected = _lines((folder / "expected.jsonl").read_text(encoding="utf-8"))
    assert _lines(result.stdout) == expected


@pytest.mark.skipif(not EXAMPLE_DIRS, reason=f"spec examples not found under {EXAMPLES}")
def test_console_script_in_a_fresh_process(tmp_path):
    folder = EXAMPLE_DIRS[0]
    out = tmp_path / "out.jsonl"
    script = Path(sys.executable).parent / "partnerflow"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]
    done = subprocess.run(
        [*command, "simulate", *_args(folder), "--output", str(out)],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _lines(out.read_text(encoding="utf-8")) == _lines(
        (folder / "expected.jsonl").read_text(encoding="utf-8")
    )
    assert "flask" not in subprocess.run(
        [sys.executable, "-c", "import sys, server.cli.simulate; print(sorted(sys.modules))"],
        capture_output=True, text=True, check=True, cwd=REPO,
    ).stdout  # fmt: skip


def _write(tmp_path: Path, program: str, partners: str, events: str) -> list[str]:
    (tmp_path / "p.yaml").write_text(program, encoding="utf-8")
    (tmp_path / "q.yaml").write_text(partners, encoding="utf-8")
    (tmp_path / "e.jsonl").write_text(events, encoding="utf-8")
    return ["--program", str(tmp_path / "p.yaml"), "--partners", str(tmp_path / "q.yaml"),
            "--events", str(tmp_path / "e.jsonl")]  # fmt: skip


GOOD_PROGRAM = (
    "program: p\ncurrency: RUB\nrules:\n  - {id: c, template: percent_of_sale, params: {rate: 5}}\n"
)
GOOD_PARTNERS = "partners:\n  - {id: P1, type: ambassador, region: A, status: active}\n"


@pytest.mark.parametrize(
    ("program", "partners", "message"),
    [
        ("program: [", GOOD_PARTNERS, "invalid YAML"),
        (
            "program: p\ncurrency: RUB\nrules: [{id: x, template: nope}]\n",
            GOOD_PARTNERS,
            "rule 'x'.template",
        ),
        (
            GOOD_PROGRAM,
            "partners:\n  - {id: P1, type: robot, status: active}\n",
            "partner 'P1'.type",
        ),
    ],
)
def test_unusable_inputs_exit_2_with_one_reason(tmp_path, program, partners, message):
    result = CliRunner().invoke(simulate, _write(tmp_path, program, partners, ""))
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_missing_events_file_exits_2(tmp_path):
    args = _write(tmp_path, GOOD_PROGRAM, GOOD_PARTNERS, "")
    args[-1] = str(tmp_path / "missing.jsonl")
    result = CliRunner().invoke(simulate, args)
    assert result.exit_code == 2
    assert "events file not found" in result.stderr


def test_rejections_exit_0_and_output_is_compact_utf8(tmp_path):
    events = (
        "garbage\n"
        '{"id": "s", "type": "sale", "occurred_at": "2026-03-01T10:00:00+03:00", "partner": "P1",'
        ' "channel": "online", "amount": 10.10, "customer": "клиент"}\n'
    )
    result = CliRunner().invoke(simulate, _write(tmp_path, GOOD_PROGRAM, GOOD_PARTNERS, events))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert json.loads(lines[0]) == {"event": None, "rejected": "invalid json"}
    assert json.loads(lines[1])["amount"] == "0.51"  # 10.10 × 5 % = 0.505 → half up
    assert ": " not in lines[1]


def test_table_format(tmp_path):
    events = (
        '{"id": "s", "type": "sale", "occurred_at": "2026-03-01T10:00:00+03:00", "partner": "P1",'
        ' "channel": "online", "amount": "100"}\n'
    )
    args = _write(tmp_path, GOOD_PROGRAM, GOOD_PARTNERS, events)
    result = CliRunner().invoke(simulate, [*args, "--format", "table"])
    assert result.exit_code == 0
    header, row = result.stdout.splitlines()
    assert header.split()[:3] == ["event", "partner", "rule"]
    assert row.split()[:5] == ["s", "P1", "c", "commission", "5.00"]


def test_programs_validate(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD_PROGRAM, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD_PROGRAM.replace("rate: 5", "rate: -5"), encoding="utf-8")
    ok = CliRunner().invoke(programs, ["validate", str(good)])
    assert ok.exit_code == 0 and ok.stdout.startswith("OK")
    failed = CliRunner().invoke(programs, ["validate", str(bad)])
    assert failed.exit_code == 1
    assert "rule 'c'.params.rate" in failed.stderr
