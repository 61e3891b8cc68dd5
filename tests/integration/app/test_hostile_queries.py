"""Every GET route, as every role, with hostile query strings: never a 5xx, never a write.

The crawl walks the URL map (a new route is crawled without editing this file). Path
arguments get a real id from the demo data, and for the administrator also a number
larger than any 64-bit integer. Query strings come from :data:`HOSTILE`: every
argument name a view reads, set at once to a huge number, a negative one, text, far
dates, reversed or impossible dates, markup and a long string. The administrator, who
may open every page, gets every variant of every route; the other roles and the
anonymous visitor one variant per route, in turn; the administrator three in turn; so
every variant meets every role many times while the crawl stays a minute long.

A GET must not write: the engine's INSERT/UPDATE/DELETE statements are recorded per
request. Two tables are written by reads by design: ``code_clicks`` (a visit through a
public QR or referral link is counted) and the dashboards' rollups (``kpi_*``, a cache
rebuilt on demand from the ledger).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from tests.support.crawl import DEMO_LOGINS, HUGE, WriteRecorder, fill, real_pk, real_values
from tests.support.web import log_in

#: every query argument a view of ours reads (request.args), plus the ones FAB's lists
#: read, filled per view below
ARGUMENTS = (
    "page", "from", "to", "by", "kind", "status", "rule", "a", "b", "against", "state",
    "template", "partial", "partner_id", "next",
)  # fmt: skip
HOSTILE: list[dict[str, str]] = [
    {},
    dict.fromkeys(ARGUMENTS, HUGE),
    dict.fromkeys(ARGUMENTS, "-1"),
    dict.fromkeys(ARGUMENTS, "abc"),
    {"from": "0001-01-01", "to": "9999-12-31", "page": "0"},
    {"from": "9999-12-31", "to": "0001-01-01", "a": "0", "b": HUGE},
    {"from": "2026-02-30", "to": "2026-13-01", "by": "nonsense"},
    dict.fromkeys(ARGUMENTS, "'\"<script>\x00%"),
    dict.fromkeys(ARGUMENTS, "9" * 5000),
]
#: hostile variants the administrator gets per route (in turn, so all are used)
ADMIN_VARIANTS = 3
#: writes a GET may make (see the module's docstring)
CACHES = ("code_clicks", "kpi_")
#: routes the crawl does not GET: logging out would end the crawling session
SKIP = {"AuthDBView.logout"}


def _fab_arguments(app: Flask, rule: Rule, value: str) -> dict[str, str]:
    """A FAB list's own arguments (page, size, order, a filter per searchable column)."""
    blueprint = rule.endpoint.split(".")[0]
    for view in app.extensions["appbuilder"].baseviews:
        if getattr(view, "blueprint", None) is None or view.blueprint.name != blueprint:
            continue
        if not hasattr(view, "search_columns"):
            return {}
        name = view.__class__.__name__
        found = {f"page_{name}": value, f"psize_{name}": value, f"_oc_{name}": value}
        found[f"_od_{name}"] = value
        for index, column in enumerate(view.search_columns[:4]):
            found[f"_flt_{index % 3}_{column}"] = value
        return found
    return {}


def _get_rules(app: Flask) -> list[Rule]:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if "GET" in (rule.methods or set()) and rule.endpoint not in SKIP
        ),
        key=lambda rule: rule.rule,
    )


def _crawl(app: Flask, clients: dict[str, FlaskClient], recorder: WriteRecorder) -> list[str]:
    values = real_values(app)
    failures: list[str] = []
    requests = 0
    for index, rule in enumerate(_get_rules(app)):
        pk = real_pk(app, rule)
        for role_index, (role, client) in enumerate(clients.items()):
            turn = index * len(clients) + role_index
            if role == "admin":
                # plain, plus ADMIN_VARIANTS hostile ones in turn, plus a huge id
                hostile = HOSTILE[1:]
                picked = [hostile[(turn + k) % len(hostile)] for k in range(ADMIN_VARIANTS)]
                plans = [(fill(rule, values, pk), [{}, *picked])]
                if rule.arguments:
                    plans.append((fill(rule, values, pk, hostile_ints=True), [{}]))
            else:
                plans = [(fill(rule, values, pk), [HOSTILE[turn % len(HOSTILE)]])]
            for path, variants in plans:
                for variant in variants:
                    sample = next(iter(variant.values()), "")
                    query = {**variant, **_fab_arguments(app, rule, sample)} if variant else {}
                    url = f"{path}?{urlencode(query)}" if query else path
                    recorder.writes.clear()
                    requests += 1
                    try:  # the test app propagates a view's exception instead of a 500
                        response = client.get(url)
                    except Exception as error:
                        failures.append(f"{role} {url[:160]} raised {error!r:.200}")
                        continue
                    if response.status_code >= 500:
                        failures.append(f"{role} {url[:160]} → {response.status_code}")
                    writes = [w for w in recorder.writes if not w.split()[1].startswith(CACHES)]
                    if writes:
                        failures.append(f"{role} {url[:160]} wrote {sorted(set(writes))}")
    assert requests > 1000, requests
    return failures


def test_no_get_route_answers_5xx_or_writes_for_any_role(demo_app: Flask) -> None:
    clients = {role: log_in(demo_app, role, password) for role, password in DEMO_LOGINS.items()}
    clients["anonymous"] = demo_app.test_client()
    with WriteRecorder().recording(demo_app) as recorder:
        failures = _crawl(demo_app, clients, recorder)
    assert not failures, "\n".join(failures[:60]) + f"\n({len(failures)} in all)"
