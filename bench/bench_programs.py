"""Evaluation of two equal programs with one worker and with two (issue #22, item 3).

Two programs with the demo program's rules (the demo's and a twin under another slug),
the same synthetic events as the pipeline benchmark, PostgreSQL with production
settings. The events are posted and admitted first (the serialized first stage, timed
on its own); then the programs' jobs apply the rules, timed from queueing them until
no event is pending, once with one ``partnerflow worker`` and once with two, the
programs' state emptied between the two runs. Reported: events per second of each,
the speed-up as their ratio in the same run, and whether the ledger after the
two-worker run equals ``simulate`` of both programs line for line. The ratio with
admission added to both sides is the whole evaluation's.

    .venv/bin/python bench/bench_programs.py --events 10000 --repeat 3
    .venv/bin/python bench/bench_programs.py --events 10000 --in-process
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_pipeline import _post_all, _setup, synthetic_events  # noqa: E402
from bench.machine import child_environment  # noqa: E402

TWIN = "demo-twin"


def _twin_document() -> dict[str, Any]:
    import yaml

    from server.demo.commands import PROGRAM_FILE

    document = yaml.safe_load(PROGRAM_FILE.read_text(encoding="utf-8"))
    return {**document, "program": TWIN, "title": "Близнец демо-программы"}


def _publish_twin() -> None:
    from server.programs.commands import add_program_version
    from server.rules.program import parse_program

    add_program_version(
        parse_program(_twin_document()), publish=True, effective_from=date(2026, 1, 1)
    )


def _pending() -> int:
    import sqlalchemy as sa

    from server.extensions import db
    from server.ledger.evaluation import PENDING
    from server.ledger.models import SalesEvent

    found = db.session.scalar(
        sa.select(sa.func.count()).select_from(
            sa.select(SalesEvent.id).where(PENDING).limit(1).subquery()
        )
    )
    db.session.rollback()
    return int(found or 0)


def _forget_applied() -> None:
    """The programs' stage undone: no accruals, figures or program records of sales,
    every admitted event pending again; admission (ids, customers, sales) kept."""
    import sqlalchemy as sa

    from server.extensions import db

    for statement in [
        "DELETE FROM accruals",
        "DELETE FROM eval_program_sales",
        "DELETE FROM eval_period_figures",
        "UPDATE eval_program_progress SET applied_seq = 0",
        "UPDATE events SET status = 'pending', processed_at = NULL WHERE admitted_seq IS NOT NULL",
    ]:
        db.session.execute(sa.text(statement))
    db.session.commit()
    _analyze(vacuum=True)  # each run starts from the same statistics, no dead rows


def _analyze(vacuum: bool = False) -> None:
    """Fresh planner statistics (PostgreSQL): the export's join planned on the counts of
    an empty ledger (before autovacuum's next look) can take minutes instead of 1 s."""
    import sqlalchemy as sa

    from server.extensions import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                sa.text("VACUUM ANALYZE" if vacuum else "ANALYZE")
            )


def _apply_with_workers(app: Any, env: dict[str, str], workers: int) -> float:
    """Seconds from queueing the programs' jobs until no event is pending."""
    from rq import Worker

    from bench.bench_pipeline import start_workers
    from server.ledger.evaluation import programs_behind
    from server.queues import redis_connection
    from server.tasks.events import request_program_evaluation

    procs = start_workers(env, workers)
    try:
        with app.app_context():
            deadline = time.monotonic() + 60
            while len(Worker.all(connection=redis_connection())) < workers:
                if time.monotonic() > deadline:
                    raise RuntimeError("the workers did not start")
                time.sleep(0.1)
            programs = programs_behind()
            started = time.perf_counter()
            assert request_program_evaluation(programs) == len(programs) == 2
            while _pending():
                time.sleep(0.05)
            return time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)


def _ledger_equals_simulate(events: list[dict[str, Any]]) -> bool:
    from server.demo.commands import PROGRAM_FILE
    from server.demo.data import demo_partner_directory
    from server.ledger.export import ledger_lines
    from server.rules.evaluator import Evaluator
    from server.rules.output import outcome_to_json
    from server.rules.program import load_program_file, parse_program
    from server.rules.sorting import sorted_events

    evaluator = Evaluator(
        [load_program_file(PROGRAM_FILE), parse_program(_twin_document())],
        demo_partner_directory(),
    )
    simulated = (
        outcome_to_json(o, with_program=True) for o in evaluator.run(sorted_events(events))
    )
    return all(a == b for a, b in zip(ledger_lines(), simulated, strict=True))


@contextmanager
def _two_programs(backend: str, events: list[dict[str, Any]], batch: int) -> Iterator[Any]:
    """A fresh database with the demo program and its twin published and the events
    posted; yields the app and the environment of its workers, then stops the servers."""
    from server import embedded_redis

    app, key, url, folder, redis, postgres = _setup(backend)
    try:
        with app.app_context():
            _publish_twin()
        _post_all(app.test_client(), key, events)
        yield (
            app,
            child_environment(
                DATABASE_URL=url,
                REDIS_URL=redis.url,
                PARTNERFLOW_INSTANCE=str(folder),
                EVALUATION_BATCH_SIZE=str(batch),
            ),
        )
    finally:
        embedded_redis.stop(redis.data_file)
        if postgres is not None:
            postgres.stop()


def run(events_count: int, backend: str, batch: int, repeat: int) -> dict[str, Any]:
    from server.ledger.evaluation import admit_pending

    events = synthetic_events(events_count)
    with _two_programs(backend, events, batch) as (app, env):
        with app.app_context():
            started = time.perf_counter()
            while admit_pending(batch).remaining:
                pass
            admission = time.perf_counter() - started
        seconds: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(repeat):
            for workers in (1, 2):
                with app.app_context():
                    _forget_applied()
                seconds[workers].append(_apply_with_workers(app, env, workers))
                print(f"{workers} worker(s): {seconds[workers][-1]:.2f} s", flush=True)
        with app.app_context():
            _analyze()
            equal = _ledger_equals_simulate(events)
    one, two = min(seconds[1]), min(seconds[2])
    one_median, two_median = statistics.median(seconds[1]), statistics.median(seconds[2])
    return {
        "backend": backend,
        "events": events_count,
        "programs": 2,
        "batch": batch,
        "admission_events_per_second": round(events_count / admission, 1),
        "one_worker_seconds": [round(s, 2) for s in seconds[1]],
        "two_workers_seconds": [round(s, 2) for s in seconds[2]],
        "one_worker_events_per_second": round(events_count / one, 1),
        "two_workers_events_per_second": round(events_count / two, 1),
        "speedup_two_workers": round(one / two, 3),
        "speedup_two_workers_medians": round(one_median / two_median, 3),
        # admission is the serialized floor under both: the whole evaluation's ratio
        "speedup_two_workers_with_admission": round((admission + one) / (admission + two), 3),
        "ledger_equals_simulate": equal,
    }


def in_process(events_count: int, backend: str, batch: int) -> dict[str, Any]:
    """Both stages one after the other in this process (``evaluation_batches``: the
    CLI's ``partnerflow evaluate``, the demo loader). Imports nothing newer than that
    function, so the script runs on an older checkout for an A/B (see docs)."""
    from server.ledger.evaluation import evaluation_batches

    events = synthetic_events(events_count)
    with _two_programs(backend, events, batch) as (app, _env), app.app_context():
        started = time.perf_counter()
        for _report in evaluation_batches(batch):
            pass
        seconds = time.perf_counter() - started
    return {
        "backend": backend,
        "events": events_count,
        "programs": 2,
        "in_process_seconds": round(seconds, 2),
        "in_process_events_per_second": round(events_count / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=2500, help="EVALUATION_BATCH_SIZE")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best counts")
    parser.add_argument("--name", default="programs", help="bench/results/NAME.json")
    parser.add_argument(
        "--in-process", action="store_true", help="time evaluation_batches in this process"
    )
    args = parser.parse_args()
    from bench.machine import describe, write_results

    machine = describe()
    if args.in_process:
        figures = in_process(args.events, args.db, args.batch)
        print(json.dumps(figures))
        print(f"results: {write_results(args.name, figures, machine).relative_to(ROOT)}")
        return
    result = run(args.events, args.db, args.batch, args.repeat)
    print(json.dumps(result))
    print(f"results: {write_results(args.name, result, machine).relative_to(ROOT)}")
    if not result["ledger_equals_simulate"]:
        raise SystemExit("the ledger after the parallel run differs from simulate")


if __name__ == "__main__":
    main()
