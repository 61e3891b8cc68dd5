"""Dashboards benchmark on PostgreSQL: response times of the KPI page and its CSV.

Run: ``.venv/bin/python bench/bench_dashboards.py [--partners 1000] [--accruals 100000]
[--requests 20]`` (full size: ``--partners 10000 --accruals 1000000``).

A throwaway PostgreSQL cluster (``tests/support/postgres.py``) is migrated, then filled
in bulk with ``INSERT … SELECT generate_series`` (one sale event per two accruals, a
lead per four sales, 4 regions, 4 partner kinds, 2 channels, one campaign over a tenth of
the rules); then a logged-in manager requests the dashboard by each dimension over a
six-month range and the CSV export. Reports p50/p95 per request kind (target p95 < 300 ms).
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


def _late_day() -> None:
    """1,000 sales processed now for one day of the range (what a refresh catches up on)."""
    import sqlalchemy as sa

    from server.extensions import db

    db.session.execute(
        sa.text(
            "INSERT INTO events (source, external_id, type, occurred_at, received_at,"
            " processed_at, partner_id, channel, amount, currency, customer, payload,"
            " payload_sha256, status, attempts)"
            " SELECT 'bench', 'LATE-' || g, 'sale', timestamptz '2026-05-05 10:00+00',"
            " now(), now(), (SELECT min(id) FROM partners) + g, 'online', 500, 'RUB',"
            " 'late-' || g, '{}', 'x', 'processed', 0 FROM generate_series(1, 1000) g"
        )
    )
    db.session.commit()


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

    from flask_migrate import upgrade

    from server.app import create_app
    from server.dashboards.rollup import refresh_rollups
    from server.security.commands import NewUser, create_user, sync_roles
    from server.security.roles import Role
    from tests.integration.statements.support import wire
    from tests.support.postgres import TemporaryPostgres

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
            wire(app)
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
                started = time.perf_counter()
                refresh_rollups()
                print(f"rollups built from scratch in {time.perf_counter() - started:.1f} s")
                _late_day()
                started = time.perf_counter()
                refresh_rollups()
                print(
                    "incremental refresh after a day of 1,000 new sales: "
                    f"{(time.perf_counter() - started) * 1000:.0f} ms"
                )
            client = app.test_client()
            client.post("/login/", data={"username": "m", "password": "bench-pass-1"})
            span = "from=2026-03-01&to=2026-08-31"
            urls = {
                f"page by {by}": f"/dashboard/?{span}&by={by}"
                for by in ("region", "channel", "kind", "campaign")
            }
            urls["csv by region"] = f"/dashboard/export.csv?{span}&by=region"
            urls["first page"] = "/"
            for name, url in urls.items():
                assert client.get(url).status_code == 200, url  # warm caches
                times = []
                for _ in range(args.requests):
                    begun = time.perf_counter()
                    response = client.get(url)
                    times.append(time.perf_counter() - begun)
                    assert response.status_code == 200
                p50, p95 = _percentiles(times)
                print(f"{name:18} p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  ({args.requests} requests)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
