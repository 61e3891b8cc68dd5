"""Backtest throughput: a draft vs the version in force over N stored events.

    .venv/bin/python bench/bench_backtest.py --events 100000            # SQLite
    .venv/bin/python bench/bench_backtest.py --events 100000 --db postgresql

Stores N synthetic events (``bench_pipeline.synthetic_events``: demo partners, sales
and leads) as pending, makes a draft of the demo program with one rate changed, and
runs the backtest as an rq job on a real worker (``SimpleWorker``, embedded Redis),
timing enqueue → result. Target: 100,000 events in under a minute. Setup is not timed.
``--db both`` runs SQLite then PostgreSQL. Writes ``bench/results/backtest.json`` (with
the machine, see ``bench/machine.py``) and draws ``docs/img/bench-backtest.png``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_pipeline import synthetic_events  # noqa: E402
from bench.machine import describe, write_results  # noqa: E402

#: the issue's target: 100,000 stored events backtested in under a minute
TARGET_SECONDS, TARGET_EVENTS = 60.0, 100_000


def run(events_count: int, backend: str) -> dict[str, Any]:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from server import embedded_redis
    from server.app import create_app
    from server.demo.commands import PROGRAM_FILE
    from server.demo.data import demo_partner_directory
    from server.extensions import db
    from server.ledger.intake import ingest_batch
    from server.ledger.models import Accrual
    from server.partners.commands import import_partners
    from server.programs import commands as program_commands
    from server.programs.commands import add_program_version
    from server.programs.queries import version_document
    from server.queues import get_queue, redis_connection
    from server.rules.program import load_program_file
    from server.security.commands import sync_roles
    from server.tasks.backtest import enqueue_backtest
    from server.tasks.worker import SimpleWorker, set_worker_app

    folder = Path(tempfile.mkdtemp(prefix="pf-bench-backtest-"))
    postgres = None
    if backend == "postgresql":
        from tests.support.postgres import TemporaryPostgres

        postgres = TemporaryPostgres().start()
        url = postgres.create_database("bench")
    else:
        url = f"sqlite:///{folder / 'bench.db'}"
    redis = embedded_redis.EmbeddedServer.at(folder / "redis.db")
    embedded_redis.ensure_running(redis.data_file)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": redis.url,
            "INSTANCE_PATH": str(folder),
        }
    )
    events = synthetic_events(events_count)
    with app.app_context():
        upgrade()
        sync_roles()
        import_partners(demo_partner_directory())
        published = add_program_version(
            load_program_file(PROGRAM_FILE), publish=True, effective_from=date(2026, 1, 1)
        )
        started = time.perf_counter()
        for index in range(0, len(events), 2000):
            ingest_batch("bench", events[index : index + 2000], "RUB")
        stored_s = time.perf_counter() - started
        draft = program_commands.new_draft(published.id, None)
        document = version_document(draft)
        for rule in document["rules"]:
            if "rate" in rule["params"]:
                rule["params"]["rate"] = str(float(rule["params"]["rate"]) + 1)
                break
        program_commands.save_document(draft.id, document, None)
        draft_id = draft.id
    set_worker_app(app)
    queue = get_queue("default", app)
    started = time.perf_counter()
    job = enqueue_backtest(draft_id, date(2026, 1, 1), date(2026, 12, 31), app)
    SimpleWorker([queue], connection=redis_connection(app)).work(burst=True)
    elapsed = time.perf_counter() - started
    job.refresh()
    result = job.return_value()
    assert result is not None, job.latest_result()
    with app.app_context():
        accruals = db.session.scalar(sa.select(sa.func.count(Accrual.id)))
    embedded_redis.stop(redis.data_file)
    if postgres is not None:
        postgres.stop()
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "db": backend,
        "events": result["events"],
        "seconds": round(elapsed, 2),
        "events_per_s": round(result["events"] / elapsed),
        "draft_total": result["draft"]["amount"],
        "baseline_total": result["baseline"]["amount"],
        "ledger_accruals_after": accruals,
        "store_seconds": round(stored_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    args = parser.parse_args()
    machine = describe()
    runs = []
    for backend in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        runs.append(run(args.events, backend))
        print(json.dumps(runs[-1], indent=2))
    results = {"target_seconds": TARGET_SECONDS, "target_events": TARGET_EVENTS, "runs": runs}
    print(f"results: {write_results('backtest', results, machine).relative_to(ROOT)}")
    from bench.plots import plot_backtest

    print(f"plot: {plot_backtest(results).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
