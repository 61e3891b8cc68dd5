"""``partnerflow simulate``: evaluate programs over a file of events, ledger untouched.

Prints one JSON line per accrual or rejection (``spec/rules.md`` section 5) in
processing order. ``--program`` may be given once per program of a deployment (section
6): lines then carry ``program``; with one program they do not, as in section 5.
Exit status 0 even when events are rejected; 2 for unusable inputs (missing file,
invalid YAML, invalid program or partners, programs that cannot run together: another
currency, a repeated slug), with one reason on stderr, before any event is read.
Imports no Flask: the command starts in a fraction of a second and streams, so a
million events run in one process with flat memory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click

from server.rules.backend import MatchBackend, PythonBackend
from server.rules.evaluator import Evaluator
from server.rules.output import outcome_to_line, table_lines
from server.rules.partners import PartnersError, load_partners_file
from server.rules.program import ProgramError, ProgramSpec, deployment_issues, load_program_file
from server.rules.sorting import sorted_events
from server.rules.sqlite_state import SqliteState
from server.rules.state import EvaluationState, MemoryState
from server.rules.templates import TemplateError, load_catalogue

#: Above this many bytes of events (~50,000 events), state goes to a temporary SQLite
#: file: in memory it grows with every id, customer and sale (~1 KB per sale).
SQLITE_STATE_ABOVE_BYTES = 8 * 1024 * 1024
_FLUSH_EVERY = 2_000


class UnusableInput(Exception):
    """An input the simulation cannot start from; the message is shown as is."""


def _fail(message: str) -> None:
    click.echo(f"partnerflow simulate: {message}", err=True)
    raise SystemExit(2)


def _readable(path: Path, what: str) -> Path:
    if not path.exists():
        raise UnusableInput(f"{what} file not found: {path}")
    if not path.is_file():
        raise UnusableInput(f"{what} path is not a file: {path}")
    return path


@contextlib.contextmanager
def _events_path(events: str) -> Iterator[Path]:
    """The events file; standard input (``-``) is spooled to a temporary file first."""
    if events != "-":
        yield _readable(Path(events), "events")
        return
    with tempfile.NamedTemporaryFile(prefix="pf-events-", suffix=".jsonl") as spool:
        shutil.copyfileobj(sys.stdin.buffer, spool)
        spool.flush()
        yield Path(spool.name)


def _write_lines(lines: Iterator[str], out: IO[bytes]) -> None:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= _FLUSH_EVERY:
            out.write(("\n".join(batch) + "\n").encode("utf-8"))
            batch.clear()
    if batch:
        out.write(("\n".join(batch) + "\n").encode("utf-8"))
    out.flush()


@click.command("simulate")
@click.option(
    "--program",
    "program_files",
    required=True,
    multiple=True,
    help="Program YAML file; once per program that runs side by side.",
)
@click.option("--partners", "partners_file", required=True, help="Partners YAML file.")
@click.option("--events", "events_file", required=True, help="Events JSON lines file ('-': stdin).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["jsonl", "table"]),
    default="jsonl",
    show_default=True,
    help="JSON lines (the contract) or a table for people.",
)
@click.option("--output", "output_file", default=None, help="Write here instead of stdout.")
@click.option(
    "--state",
    "state_kind",
    type=click.Choice(["auto", "memory", "sqlite"]),
    default="auto",
    show_default=True,
    help="Where evaluation state lives; auto picks SQLite for large event files.",
)
@click.option(
    "--engine",
    type=click.Choice(["durable", "python"]),
    default="durable",
    show_default=True,
    help="Scope matcher: durable_rules, or the plain-Python reference.",
)
@click.option(
    "--templates",
    "templates_dir",
    envvar="RULE_TEMPLATES_DIR",
    default=None,
    help="Rule template directory (default: the repository's rule_templates/).",
)
def simulate(
    program_files: tuple[str, ...],
    partners_file: str,
    events_file: str,
    output_format: str,
    output_file: str | None,
    state_kind: str,
    engine: str,
    templates_dir: str | None,
) -> None:
    """Evaluate programs over events and print the accruals (no ledger writes)."""
    programs: list[ProgramSpec] = []
    program_file = program_files[0]
    try:
        catalogue = load_catalogue(templates_dir)
        for program_file in program_files:
            path = _readable(Path(program_file), "program")
            programs.append(load_program_file(path, catalogue))
        partners = load_partners_file(_readable(Path(partners_file), "partners"))
    except UnusableInput as exc:
        _fail(str(exc))
    except TemplateError as exc:
        _fail(f"rule templates: {exc}")
    except ProgramError as exc:
        _fail(f"invalid program {program_file}: {exc}")
    except PartnersError as exc:
        _fail(f"invalid partners {partners_file}: {exc}")
    except UnicodeDecodeError as exc:
        _fail(f"not UTF-8 text: {exc}")
    except OSError as exc:
        _fail(f"cannot read: {exc}")
    issues = deployment_issues(programs)
    if issues:
        _fail("programs cannot run together: " + "; ".join(str(issue) for issue in issues))
    several = len(programs) > 1

    try:
        with contextlib.ExitStack() as stack:
            events_path = stack.enter_context(_events_path(events_file))
            if output_file is not None:
                out: IO[bytes] = stack.enter_context(open(output_file, "wb"))
            else:
                out = sys.stdout.buffer
            big = events_path.stat().st_size > SQLITE_STATE_ABOVE_BYTES
            state: EvaluationState
            if state_kind == "sqlite" or (state_kind == "auto" and big):
                state = stack.enter_context(SqliteState())
            else:
                state = MemoryState()
            backend: MatchBackend | None = PythonBackend() if engine == "python" else None
            evaluator = Evaluator(programs, partners, state=state, backend=backend)
            outcomes = evaluator.run(sorted_events(events_path))
            if output_format == "table":
                _write_lines(table_lines(outcomes, with_program=several), out)
            else:
                lines = (outcome_to_line(o, with_program=several) for o in outcomes)
                _write_lines(lines, out)
    except UnusableInput as exc:
        _fail(str(exc))
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        # Python flushes stdout at exit; point it at /dev/null so that flush cannot fail.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(0) from None
    except OSError as exc:
        _fail(f"cannot read or write: {exc}")
