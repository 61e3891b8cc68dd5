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
#: worked examples of several programs at once (spec §6)
SEVERAL = SHARED / "spec" / "several-programs"
EXAMPLE_DIRS = sorted(p for p in EXAMPLES.glob("*") if (p / "expected.jsonl").is_file())
SEVERAL_DIRS = sorted(p for p in SEVERAL.glob("*") if (p / "expected.jsonl").is_file())
REPO = Path(__file__).parents[3]


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _args(folder: Path) -> list[str]:
    """One ``--program`` per program file of the folder, in file name order."""
    programs = sorted(folder.glob("program*.yaml"))
    assert programs, f"no program file in {folder}"
    return [
        *(arg for path in programs for arg in ("--program", str(path))),
        "--partners", str(folder / "partners.yaml"),
        "--events", str(folder / "events.jsonl"),
    ]  # fmt: skip


def test_every_spec_example_folder_is_found() -> None:
    # a moved or renamed folder must fail here, not turn the example tests into no-ops
    assert EXAMPLE_DIRS, f"spec examples not found under {EXAMPLES}"
    assert SEVERAL_DIRS, f"spec examples of several programs not found under {SEVERAL}"
    assert all(len(list(folder.glob("program-*.yaml"))) >= 2 for folder in SEVERAL_DIRS)


@pytest.mark.parametrize(
    "folder",
    EXAMPLE_DIRS + SEVERAL_DIRS,
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
@pytest.mark.parametrize("extra", [[], ["--engine", "python"], ["--state", "sqlite"]])
def test_worked_example_matches_expected(folder: Path, extra: list[str]) -> None:
    result = CliRunner().invoke(simulate, _args(folder) + extra)
    assert result.exit_code == 0, result.output
    expected = _lines((folder / "expected.jsonl").read_text(encoding="utf-8"))
    assert _lines(result.stdout) == expected


@pytest.mark.parametrize("folder", SEVERAL_DIRS, ids=lambda p: p.name)
def test_several_programs_give_the_same_lines_whatever_the_file_order(folder: Path) -> None:
    args = _args(folder)
    flipped = list(args)
    programs = [i + 1 for i, arg in enumerate(args) if arg == "--program"]
    for i, j in zip(programs, reversed(programs), strict=True):
        flipped[i] = args[j]
    assert flipped != args
    result = CliRunner().invoke(simulate, flipped)
    assert result.exit_code == 0, result.output
    assert _lines(result.stdout) == _lines((folder / "expected.jsonl").read_text("utf-8"))


@pytest.mark.spec_examples
def test_console_script_in_a_fresh_process(tmp_path: Path) -> None:
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
def test_unusable_inputs_exit_2_with_one_reason(
    tmp_path: Path, program: str, partners: str, message: str
) -> None:
    result = CliRunner().invoke(simulate, _write(tmp_path, program, partners, ""))
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_missing_events_file_exits_2(tmp_path: Path) -> None:
    args = _write(tmp_path, GOOD_PROGRAM, GOOD_PARTNERS, "")
    args[-1] = str(tmp_path / "missing.jsonl")
    result = CliRunner().invoke(simulate, args)
    assert result.exit_code == 2
    assert "events file not found" in result.stderr


def test_rejections_exit_0_and_output_is_compact_utf8(tmp_path: Path) -> None:
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


def test_table_format(tmp_path: Path) -> None:
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


def test_programs_validate(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD_PROGRAM, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD_PROGRAM.replace("rate: 5", "rate: -5"), encoding="utf-8")
    ok = CliRunner().invoke(programs, ["validate", str(good)])
    assert ok.exit_code == 0 and ok.stdout.startswith("OK")
    failed = CliRunner().invoke(programs, ["validate", str(bad)])
    assert failed.exit_code == 1
    assert "rule 'c'.params.rate" in failed.stderr


SALE_EVENT = (
    '{"id": "s", "type": "sale", "occurred_at": "2026-03-01T10:00:00+03:00", "partner": "P1",'
    ' "channel": "online", "amount": "100"}\n'
)


def _several(tmp_path: Path, *programs: str, events: str = SALE_EVENT) -> list[str]:
    args = _write(tmp_path, programs[0], GOOD_PARTNERS, events)
    for n, text in enumerate(programs[1:], start=2):
        path = tmp_path / f"p{n}.yaml"
        path.write_text(text, encoding="utf-8")
        args += ["--program", str(path)]
    return args


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (GOOD_PROGRAM.replace("RUB", "EUR").replace("program: p", "program: q"), "currency"),
        (GOOD_PROGRAM, "two program files have this slug"),
    ],
    ids=["another-currency", "same-slug"],
)
def test_programs_that_cannot_run_together_are_refused_before_any_event(
    tmp_path: Path, second: str, message: str
) -> None:
    args = _several(tmp_path, GOOD_PROGRAM, second)
    args[args.index("--events") + 1] = str(tmp_path / "never-read.jsonl")  # does not exist
    result = CliRunner().invoke(simulate, args)
    assert result.exit_code == 2
    assert "programs cannot run together" in result.stderr
    assert message in result.stderr
    assert "events file not found" not in result.stderr
    assert result.stdout == ""


def test_an_invalid_second_program_names_its_file(tmp_path: Path) -> None:
    args = _several(tmp_path, GOOD_PROGRAM, "program: q\nrules: [{id: x, template: nope}]\n")
    result = CliRunner().invoke(simulate, args)
    assert result.exit_code == 2
    assert "p2.yaml" in result.stderr
    assert "rule 'x'.template" in result.stderr


def test_lines_carry_program_only_when_several_run(tmp_path: Path) -> None:
    other = GOOD_PROGRAM.replace("program: p", "program: a-first").replace("rate: 5", "rate: 1")
    one = CliRunner().invoke(simulate, _several(tmp_path, GOOD_PROGRAM))
    assert [("program" in line) for line in _lines(one.stdout)] == [False]
    two = CliRunner().invoke(simulate, _several(tmp_path, GOOD_PROGRAM, other))
    assert [(line["program"], line["amount"]) for line in _lines(two.stdout)] == [
        ("a-first", "1.00"),
        ("p", "5.00"),
    ]
    args = _several(tmp_path, GOOD_PROGRAM, other)
    table = CliRunner().invoke(simulate, [*args, "--format", "table"])
    header, *rows = table.stdout.splitlines()
    assert header.split()[:3] == ["event", "program", "partner"]
    assert [row.split()[:2] for row in rows] == [["s", "a-first"], ["s", "p"]]
