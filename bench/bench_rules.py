"""Rules engine benchmark: evaluator vs raw durable_rules vs zen-engine, and the CLI.

    .venv/bin/python bench/bench_rules.py                      # quick: 20k events, 100k via CLI
    .venv/bin/python bench/bench_rules.py --cli-events 1000000 # the 1M run

Part 1 evaluates the same 50 scope conditions three ways on the same events and prints
throughput ratios:

* ``Evaluator`` (durable_rules backend behind the signature cache) doing the full job:
  validation, attribution, matching, Decimal money, state;
* raw durable_rules: one ``assert_fact`` + ``retract_fact`` per event, nothing else
  (the naive loop of ``notes/probes/durable_facts.py``);
* zen-engine: the same rules as a ``collect`` decision table, one ``evaluate`` per event.

Part 2 runs ``partnerflow simulate`` in a child process on a generated events file and
reports events/s and the child's peak RSS.

Writes ``bench/results/rules.json`` (with the machine, see ``bench/machine.py``) and draws
``docs/img/bench-rules.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.baselines import raw_durable_seconds  # noqa: E402
from bench.machine import child_environment, describe, write_results  # noqa: E402
from server.rules.evaluator import Evaluator  # noqa: E402
from server.rules.partners import parse_partners  # noqa: E402
from server.rules.program import parse_program  # noqa: E402

REGIONS = [f"R{i}" for i in range(5)]
TYPES = ["online_affiliate", "offline_point", "ambassador", "cofactor"]
MONTH_BOUNDS = [(f"2026-{m:02d}-01", f"2026-{m:02d}-28") for m in range(1, 13)]


def make_rules(count: int = 50) -> list[dict[str, Any]]:
    """``count`` percent_of_sale rules over region, channel, partner type and dates."""
    rules = []
    for i in range(count):
        scope: dict[str, Any] = {
            "regions": [REGIONS[i % 5]],
            "channels": ["online" if i % 2 == 0 else "offline"],
        }
        if i % 3 == 0:
            scope["partner_types"] = [TYPES[i % 4], TYPES[(i + 1) % 4]]
        if i % 4 == 0:
            start, end = MONTH_BOUNDS[i % 12]
            scope["valid_from"], scope["valid_to"] = start, end
        rules.append(
            {"id": f"r{i}", "template": "percent_of_sale", "scope": scope,
             "params": {"rate": f"{1 + i % 7}.5"}}
        )  # fmt: skip
    return rules


def make_partners(count: int = 200) -> list[dict[str, Any]]:
    return [
        {"id": f"P{i}", "type": TYPES[i % 4], "region": REGIONS[i % 5],
         "parent": f"P{i // 4}" if i >= 4 else None, "status": "active",
         "codes": {"promo": [f"PROMO{i}"]}}
        for i in range(count)
    ]  # fmt: skip


def make_events(count: int, seed: int = 1, refunds: bool = False) -> list[dict[str, Any]]:
    """Sales in time order over 2026 (plus leads and, optionally, refunds)."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    step = 365 * 86_400 / max(count, 1)
    base = 1_767_225_600  # 2026-01-01T00:00:00Z
    sales: list[str] = []
    for k in range(count):
        moment = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(base + int(k * step)))
        event: dict[str, Any] = {"id": f"e{k:08d}", "occurred_at": moment}
        roll = rng.random()
        if refunds and roll < 0.04 and sales:
            event.update(type="refund", refers_to=rng.choice(sales[-1000:]), amount="1.00")
        elif roll < 0.08:
            event.update(type="lead", partner=f"P{rng.randrange(200)}", channel="online")
        else:
            pid = rng.randrange(200)
            event.update(
                type="sale",
                channel=rng.choice(["online", "offline"]),
                amount=f"{rng.randrange(100, 500_000) / 100:.2f}",
                customer=f"k{rng.randrange(100_000)}",
            )
            event.update({"partner": f"P{pid}"} if roll < 0.6 else {"promo_code": f"PROMO{pid}"})
            sales.append(event["id"])
        events.append(event)
    return events


def day_number(text: str) -> int:
    return int(text[:10].replace("-", ""))


def facts_for(events: list[dict[str, Any]], partners: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the raw engines see: the event's scope attributes, already attributed."""
    by_id = {p["id"]: p for p in partners}
    by_code = {p["codes"]["promo"][0]: p for p in partners}
    out = []
    for event in events:
        if event["type"] != "sale":
            continue
        partner = by_id.get(event.get("partner", "")) or by_code[event["promo_code"]]
        out.append(
            {"type": "sale", "region": partner["region"], "channel": event["channel"],
             "partner_type": partner["type"], "day": day_number(event["occurred_at"])}
        )  # fmt: skip
    return out


def bench_evaluator(rules, partners, events) -> tuple[float, int]:
    program = parse_program({"program": "bench", "currency": "RUB", "rules": rules})
    evaluator = Evaluator(program, parse_partners({"partners": partners}))
    started = time.perf_counter()
    produced = sum(len(evaluator.process(event)) for event in events)
    return time.perf_counter() - started, produced


def durable_condition(rule: dict[str, Any]) -> dict[str, Any]:
    scope = rule["scope"]
    terms: list[dict[str, Any]] = [{"type": "sale"}, {"region": scope["regions"][0]},
                                   {"channel": scope["channels"][0]}]  # fmt: skip
    if "partner_types" in scope:
        terms.append({"$or": [{"partner_type": t} for t in scope["partner_types"]]})
    if "valid_from" in scope:
        terms.append({"$gte": {"day": day_number(scope["valid_from"])}})
        terms.append({"$lte": {"day": day_number(scope["valid_to"])}})
    return {"$and": terms}


def bench_raw_durable(rules, facts) -> tuple[float, int]:
    from durable import engine

    host = engine.Host()
    hits = [0]

    def action(_c: Any) -> None:
        hits[0] += 1

    host.set_rulesets(
        {"raw": {r["id"]: {"all": [{"m": durable_condition(r)}], "run": action} for r in rules}}
    )
    numbered = [{**fact, "id": str(k), "sid": "w1"} for k, fact in enumerate(facts)]
    return raw_durable_seconds(host, "raw", numbered), hits[0]


def bench_zen(rules, facts) -> tuple[float, int]:
    import zen

    rows = []
    for rule in rules:
        scope = rule["scope"]
        region, channel = scope["regions"][0], scope["channels"][0]
        row = {"_id": rule["id"], "i1": f'"{region}"', "i2": f'"{channel}"',
               "i3": "", "i4": "", "o1": f'"{rule["id"]}"'}  # fmt: skip
        if "partner_types" in scope:
            row["i3"] = ", ".join(f'"{t}"' for t in scope["partner_types"])
        if "valid_from" in scope:
            row["i4"] = f"[{day_number(scope['valid_from'])}..{day_number(scope['valid_to'])}]"
        rows.append(row)
    content = {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "in", "position": {"x": 0, "y": 0}},
            {"id": "dt", "type": "decisionTableNode", "name": "rules", "position": {"x": 1, "y": 0},
             "content": {"hitPolicy": "collect",
                         "inputs": [{"id": "i1", "name": "region", "field": "region"},
                                    {"id": "i2", "name": "channel", "field": "channel"},
                                    {"id": "i3", "name": "type", "field": "partner_type"},
                                    {"id": "i4", "name": "day", "field": "day"}],
                         "outputs": [{"id": "o1", "name": "rule", "field": "rule"}],
                         "rules": rows}},
            {"id": "out", "type": "outputNode", "name": "out", "position": {"x": 2, "y": 0}},
        ],
        "edges": [{"id": "e1", "sourceId": "in", "targetId": "dt", "type": "edge"},
                  {"id": "e2", "sourceId": "dt", "targetId": "out", "type": "edge"}],
    }  # fmt: skip
    decision = zen.ZenEngine().create_decision(json.dumps(content))
    hits = 0
    started = time.perf_counter()
    for fact in facts:
        result = decision.evaluate(fact)["result"]
        hits += len(result) if isinstance(result, list) else 1
    return time.perf_counter() - started, hits


def bench_cli(count: int, shuffle: bool, workdir: Path) -> dict[str, Any]:
    program = workdir / "program.yaml"
    partners = workdir / "partners.yaml"
    events = workdir / "events.jsonl"
    program.write_text(json.dumps({"program": "bench", "currency": "RUB", "rules": [
        *make_rules(),
        {"id": "up", "template": "multi_level_override", "params": {"rates": ["1", "0.5"]}},
        {"id": "pts", "template": "points_per_amount", "params": {"per": "100", "points": 1}},
        {"id": "goal", "template": "goal_bonus", "params": {"metric": "new_customers",
         "threshold": 50, "amount": "1000", "period": "month"}},
        {"id": "fast", "template": "hold_velocity", "params": {"max_sales": 3, "within_hours": 24}},
    ]}), encoding="utf-8")  # fmt: skip
    partners.write_text(json.dumps({"partners": make_partners()}), encoding="utf-8")
    rng = random.Random(2)
    with events.open("w", encoding="utf-8") as out:
        chunk = 100_000
        for start in range(0, count, chunk):
            batch = make_events(min(chunk, count - start), seed=start, refunds=True)
            for event in batch:
                event["id"] = f"e{start:08d}-{event['id']}"
                if event.get("refers_to"):
                    event["refers_to"] = f"e{start:08d}-{event['refers_to']}"
            # re-time each batch into its own slice of the year so the file stays sorted
            out.writelines(json.dumps(e) + "\n" for e in _retime(batch, start, count))
    if shuffle:
        lines = events.read_text(encoding="utf-8").splitlines(keepends=True)
        rng.shuffle(lines)
        events.write_text("".join(lines), encoding="utf-8")
    command = [str(REPO / ".venv" / "bin" / "partnerflow"), "simulate", "--program", str(program),
               "--partners", str(partners), "--events", str(events),
               "--output", str(workdir / "out.jsonl")]  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(command, stderr=subprocess.PIPE, env=child_environment())
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"simulate failed: {child.stderr.read().decode() if child.stderr else ''}")
    with (workdir / "out.jsonl").open("rb") as produced:
        lines = sum(1 for _ in produced)
    return {"events": count, "shuffled": shuffle, "seconds": round(elapsed, 1),
            "events_per_s": round(count / elapsed), "peak_rss_mb": usage.ru_maxrss // 1024,
            "output_lines": lines, "command": " ".join(command)}  # fmt: skip


def _retime(batch: list[dict[str, Any]], start: int, total: int) -> list[dict[str, Any]]:
    base = 1_767_225_600
    span = 365 * 86_400
    for k, event in enumerate(batch):
        second = base + int((start + k) * span / max(total, 1))
        event["occurred_at"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(second))
    return batch


def _best(run: Callable[[], tuple[float, int]], repeat: int) -> tuple[float, int]:
    return min((run() for _ in range(repeat)), key=lambda result: result[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events for part 1")
    parser.add_argument(
        "--cli-events", type=int, default=100_000, help="events for part 2 (0: skip)"
    )
    parser.add_argument("--shuffle", action="store_true", help="part 2 on a shuffled file")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    machine = describe()

    rules, partners = make_rules(), make_partners()
    events = make_events(args.events)
    facts = facts_for(events, partners)
    ours, produced = _best(lambda: bench_evaluator(rules, partners, events), args.repeat)
    raw, raw_hits = _best(lambda: bench_raw_durable(rules, facts), args.repeat)
    zen_time, zen_hits = _best(lambda: bench_zen(rules, facts), args.repeat)
    rate = len(events) / ours
    print(f"50 rules, {len(events)} events ({len(facts)} sales), best of {args.repeat}")
    print(f"  Evaluator (durable + signature cache): {rate:>9,.0f} events/s  ({produced} accruals)")
    raw_rate, zen_rate = len(facts) / raw, len(facts) / zen_time
    print(f"  raw durable_rules assert+retract:      {raw_rate:>9,.0f} facts/s   ({raw_hits} hits)")
    print(f"  zen-engine collect table:              {zen_rate:>9,.0f} evals/s   ({zen_hits} hits)")
    print(f"  ratio vs raw durable_rules: {rate / raw_rate:.2f}x (target >= 1x)")
    print(f"  ratio vs zen-engine:        {rate / zen_rate:.2f}x (target >= 2x)")
    results: dict[str, Any] = {
        "rules": len(rules),
        "events": len(events),
        "sales": len(facts),
        "repeat": args.repeat,
        "evaluator_events_per_s": round(rate, 3),
        "evaluator_accruals": produced,
        "raw_durable_facts_per_s": round(raw_rate, 3),
        "raw_durable_hits": raw_hits,
        "zen_evals_per_s": round(zen_rate, 3),
        "zen_hits": zen_hits,
        "ratio_to_raw_durable": round(rate / raw_rate, 3),
        "ratio_to_zen": round(rate / zen_rate, 3),
        "targets": {"ratio_to_raw_durable": 1.0, "ratio_to_zen": 2.0},
        "simulate": [],
    }
    if args.cli_events:
        with tempfile.TemporaryDirectory(prefix="pf-bench-") as tmp:
            result = bench_cli(args.cli_events, args.shuffle, Path(tmp))
        print(f"partnerflow simulate: {json.dumps(result)}")
        results["simulate"].append({k: v for k, v in result.items() if k != "command"})
    print(f"results: {write_results('rules', results, machine).relative_to(REPO)}")
    from bench.plots import plot_rules

    print(f"plot: {plot_rules(results).relative_to(REPO)}")


if __name__ == "__main__":
    main()
