"""One PNG per benchmark, for ``docs/benchmarks.md``: ``docs/img/bench-<name>.png``.

Matplotlib with the Agg backend (no display, no pyplot state): each figure has a fixed
size and resolution and is saved without the "Software" metadata, so the same figures
give the same bytes. Conventions: our path is a solid blue bar, a baseline measured in
the same run is a grey hatched bar, a target is a red dashed line, each bar carries its
value and, where there is a baseline, its ratio to it.

``plot_<name>(result)`` draws from what ``bench/bench_<name>.py`` writes to
``bench/results/<name>.json``; to redraw from the stored results without rerunning:

    .venv/bin/python bench/plots.py              # every bench/results/*.json it knows
    .venv/bin/python bench/plots.py pipeline     # only bench-pipeline.png
"""

from __future__ import annotations

import functools
import json
import sys
import textwrap
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

if TYPE_CHECKING:  # matplotlib.typing.RcKeyType is newer than the 3.8 we allow
    from matplotlib.typing import RcKeyType

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "img"
RESULTS = ROOT / "bench" / "results"

DPI = 100
PANEL_WIDTH, PANEL_HEIGHT = 4.6, 4.6  # inches: two panels fit a docs page at full size
#: behind a value printed on a chart, so a target line crossing it leaves it readable
LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5}
LEGEND_STRIP = 0.32  # inches under the panels for the figure's legend
#: per figure, the height (figure fraction) of the legend strip's bottom edge
LEGEND_Y: weakref.WeakKeyDictionary[Figure, float] = weakref.WeakKeyDictionary()
OURS = "#1f5fa8"
BASELINE = "#b8b8b8"
TARGET = "#c62828"
SERIES = ["#1f5fa8", "#e07b00", "#2e7d32", "#6a1b9a", "#00838f"]
STYLE: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",  # ships with matplotlib: same glyphs everywhere, has × ≥ ≤
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.alpha": 0.3,
    "hatch.color": "#707070",
}

Target = float | Sequence[float | None] | None
Legend = list[tuple[Any, str]]
#: axis ticks as 8,000 (not 8000); small ticks keep their decimals
THOUSANDS = FuncFormatter(lambda value, _: f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}")
P = ParamSpec("P")
R = TypeVar("R")


def _styled(function: Callable[P, R]) -> Callable[P, R]:
    """Draw under ``STYLE`` (rc settings apply when artists are made, not when saved)."""

    @functools.wraps(function)
    def styled(*args: P.args, **kwargs: P.kwargs) -> R:
        with matplotlib.rc_context(STYLE):
            return function(*args, **kwargs)

    return styled


def image_path(name: str) -> Path:
    return IMAGES / f"bench-{name}.png"


def fmt(value: float) -> str:
    """``39,322`` / ``45.6`` / ``0.31``: enough digits to read, no more."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


# ---------------------------------------------------------------- one per benchmark


@_styled
def plot_rules(result: Mapping[str, Any], path: Path | None = None) -> Path:
    """``bench_rules.py``: throughput of the three paths, the ratios against their targets,
    and the ``partnerflow simulate`` run(s) when part 2 ran."""
    simulate = list(result.get("simulate") or [])
    figure, axes = _figure(
        f"Rules engine: {result['rules']} rules, {result['events']:,} events "
        f"({result['sales']:,} sales), best of {result['repeat']}",
        "Ours: the whole job per event (validation, attribution, matching, Decimal money, "
        "state); the baselines: matching only, one fact / evaluation per sale.",
        [PANEL_WIDTH, 0.8 * PANEL_WIDTH] + ([0.6 * PANEL_WIDTH] if simulate else []),
    )
    ours = float(result["evaluator_events_per_s"])
    raw = float(result["raw_durable_facts_per_s"])
    zen = float(result["zen_evals_per_s"])
    legend = _bars(
        axes[0],
        ["Evaluator (ours)\nevents/s", "raw durable_rules\nsales/s", "zen-engine\nsales/s"],
        [ours, raw, zen],
        "per second",
        baselines={1, 2},
        notes=[f"{ours / raw:.2f}× raw durable\n{ours / zen:.2f}× zen-engine", "", ""],
        title="Throughput, same process, same events",
    )
    targets = result.get("targets", {})
    legend += _bars(
        axes[1],
        ["ours ÷ raw\ndurable_rules", "ours ÷\nzen-engine"],
        [float(result["ratio_to_raw_durable"]), float(result["ratio_to_zen"])],
        "ratio (×)",
        target=[targets.get("ratio_to_raw_durable"), targets.get("ratio_to_zen")],
        target_label="target (≥)",
        value_format=lambda value: f"{value:.2f}×",
        title="Ratio to each baseline",
    )
    if simulate:
        legend += _bars(
            axes[2],
            [
                f"{run['events']:,} events\n{'shuffled' if run['shuffled'] else 'time-ordered'}"
                for run in simulate
            ],
            [float(run["events_per_s"]) for run in simulate],
            "events per second",
            notes=[f"{run['seconds']} s\npeak RSS {run['peak_rss_mb']} MB" for run in simulate],
            title="partnerflow simulate",
        )
    return _save(figure, path or image_path("rules"), legend)


@_styled
def plot_documents(result: Mapping[str, Any], path: Path | None = None) -> Path:
    """``bench_documents.py``: contract render vs raw WeasyPrint (target ≤ +15 %), and
    contracts per minute by 1 and 2 workers."""
    return _render_and_workers(
        result,
        path or image_path("documents"),
        what="contract",
        title=f"Documents: partner agreement (PDF/A-3u), median of {result['renders']} renders",
        ours_ms=float(result["contract_ms"]),
        count=int(result["contracts"]),
        caption="Ours: sandboxed Jinja2 with bounds + asset-only URL fetcher; raw: WeasyPrint "
        "on the same final HTML and CSS, same fonts and PDF variant, interleaved.",
    )


@_styled
def plot_statements(result: Mapping[str, Any], path: Path | None = None) -> Path:
    """``bench_statements.py``: statement render vs raw WeasyPrint (target ≤ +15 %), and
    statements per minute by the workers."""
    return _render_and_workers(
        result,
        path or image_path("statements"),
        what="statement",
        title=f"Statements: {result['rows']} lines (PDF/A-3u), median of {result['renders']} "
        "renders",
        ours_ms=float(result["statement_ms"]),
        count=int(result["statements"]),
        caption=f"Not in either bar: building the data from the ledger, {fmt(result['data_ms'])}"
        " ms. Raw: WeasyPrint on the same final HTML and CSS, same fonts and PDF variant.",
    )


@_styled
def plot_backtest(result: Mapping[str, Any], path: Path | None = None) -> Path:
    """``bench_backtest.py``: backtest seconds per database against the target (60 s for
    100,000 events, scaled to the run's event count)."""
    runs = list(result["runs"])
    target_s = float(result["target_seconds"]) * runs[0]["events"] / result["target_events"]
    same = all(run["events"] == runs[0]["events"] for run in runs)
    if result["target_events"] == runs[0]["events"]:
        label = f"target < {fmt(target_s)} s"
    else:
        label = (
            f"target < {fmt(target_s)} s ({result['target_seconds']:g} s per "
            f"{result['target_events']:,} events, scaled)"
        )
    figure, (axes,) = _figure(
        f"Backtest: a draft vs the version in force over {runs[0]['events']:,} stored events",
        "Enqueue → result on a real rq worker (SimpleWorker, embedded Redis); storing the "
        "events is setup, not timed.",
        [1.6 * PANEL_WIDTH],
    )
    legend = _bars(
        axes,
        [_database(run["db"]) for run in runs],
        [float(run["seconds"]) for run in runs],
        "seconds (lower is better)",
        notes=[
            f"{run['events_per_s']:,} events/s\n{run['seconds'] / target_s:.2f}× target"
            for run in runs
        ],
        target=target_s if same else None,
        target_label=label,
    )
    return _save(figure, path or image_path("backtest"), legend)


@_styled
def plot_pipeline(result: Mapping[str, Any], path: Path | None = None) -> Path:
    """``bench_pipeline.py``'s results (``runs``: one dict per database): events/s
    through API → database → queue → workers next to the raw durable_rules rate of the
    same run with the 0.5× target, and the workers' RSS over the run."""
    results: Sequence[Mapping[str, Any]] = result["runs"]
    figure, axes = _figure(
        f"Event pipeline: {results[0]['events']:,} events, {results[0]['workers']} workers",
        "Admin page p95 under load: "
        + ", ".join(_admin_page(r) for r in results if r.get("admin_page_ms_p95") is not None)
        + ". RSS: mean per worker process tree, sampled while the queue drains.",
        [PANEL_WIDTH, PANEL_WIDTH],
    )
    groups = [_database(r["backend"]) for r in results]
    ours = [float(r["events_per_second"]) for r in results]
    raw = [float(r["raw_durable_events_per_second"]) for r in results]
    legend = _grouped_bars(
        axes[0],
        groups,
        {"API → ledger (ours)": ours, "raw durable_rules (same run)": raw},
        "events per second",
        notes=[f"{float(r['ratio_to_raw']):.2f}× raw" for r in results],
        targets=[0.5 * value for value in raw],
        target_label="target: 0.5× raw",
        title="Throughput per database",
    )
    _lines(
        axes[1],
        {_database(r["backend"]): r.get("worker_rss_series") or [] for r in results},
        "seconds since the first API batch",
        "worker RSS (MB)",
        title="Worker resident memory",
    )
    return _save(figure, path or image_path("pipeline"), legend)


def _admin_page(result: Mapping[str, Any]) -> str:
    """``SQLite 255 ms`` and, when the run timed it, the bare Flask endpoint next to it."""
    page = float(result["admin_page_ms_p95"])
    text = f"{_database(result['backend'])} {fmt(page)} ms"
    bare = result.get("bare_flask_ms_p95")
    if bare:
        text += f" ({page / float(bare):.0f}× a bare Flask endpoint's {fmt(float(bare))} ms)"
    return text


@_styled
def plot_dashboards(result: Mapping[str, Any], path: Path | None = None) -> Path:
    """Response time p95 per dashboard request kind against the target.

    ``result``::

        {
            "p95_ms": {"page by region": 130.0, "csv by region": 33.0, ...},  # required,
                                                      # one entry per request kind, in order
            "p50_ms": {"page by region": 111.0, ...},  # optional, printed on the bars
            "target_ms": 300.0,                        # optional, default 300
            "baseline": "bare Flask endpoint",         # optional: a key of p95_ms measured
                                                       # in the same run, drawn as baseline
            "requests": 20,                            # optional, for the title
        }

    Other keys (``machine``, ``command``, ...) are ignored.
    """
    p95: Mapping[str, float] = result["p95_ms"]
    p50: Mapping[str, float] = result.get("p50_ms") or {}
    target = float(result.get("target_ms", 300.0))
    names = list(p95)
    baseline = result.get("baseline")
    base = names.index(baseline) if isinstance(baseline, str) and baseline in p95 else None
    notes = [f"(p50 {fmt(p50[name])})" if name in p50 else "" for name in names]
    if base is not None:
        for index, name in enumerate(names):
            if index != base:
                ratio = f"{p95[name] / p95[names[base]]:.1f}× baseline"
                notes[index] = f"{notes[index]}  {ratio}".strip()
    requests = f", {result['requests']} requests each" if result.get("requests") else ""
    figure, (axes,) = _figure(
        f"Dashboards (PostgreSQL): response time p95 per request{requests}",
        "Logged-in manager through Flask's test client: template rendering included, HTTP not.",
        [2 * PANEL_WIDTH],
        height=max(PANEL_HEIGHT, 1.4 + 0.5 * len(names)),
    )
    legend = _bars(
        axes,
        names,
        [float(p95[name]) for name in names],
        "p95 (ms, lower is better)",
        baselines=set() if base is None else {base},
        value_format=lambda value: f"{fmt(value)} ms",
        notes=notes,
        target=target,
        target_label=f"target p95 < {fmt(target)} ms",
        horizontal=True,
    )
    return _save(figure, path or image_path("dashboards"), legend)


# ---------------------------------------------------------------- drawing


def _render_and_workers(
    result: Mapping[str, Any],
    path: Path,
    *,
    what: str,
    title: str,
    ours_ms: float,
    count: int,
    caption: str,
) -> Path:
    raw_ms = float(result["raw_ms"])
    limit = float(result.get("target_overhead_pct", 15.0))
    figure, axes = _figure(title, caption, [PANEL_WIDTH, PANEL_WIDTH])
    legend = _bars(
        axes[0],
        [f"{what} path (ours)", "raw WeasyPrint\n(same run)"],
        [ours_ms, raw_ms],
        "ms per document (lower is better)",
        baselines={1},
        notes=[f"{ours_ms / raw_ms:.3f}× raw\n({_signed(float(result['overhead_pct']))} %)", ""],
        target=raw_ms * (1 + limit / 100),
        target_label=f"target: ≤ +{limit:g} % over raw",
        title="Render time per PDF",
    )
    runs = list(result["throughput"])
    key = f"{what}s_per_min"
    rates = [float(run[key]) for run in runs]
    labels = [f"{run['workers']} worker{'s' if run['workers'] != 1 else ''}" for run in runs]
    legend += _bars(
        axes[1],
        labels,
        rates,
        f"{what}s per minute",
        notes=_ratio_notes(rates, 0 if len(runs) > 1 else None, labels[0]),
        title=f"Throughput: {count:,} {what}s, rq workers, SQLite",
    )
    return _save(figure, path, legend)


def _figure(
    title: str,
    caption: str | None,
    widths: Sequence[float] = (PANEL_WIDTH,),
    height: float = PANEL_HEIGHT,
    legend: bool = True,
) -> tuple[Figure, list[Axes]]:
    """A figure of ``len(widths)`` panels side by side (widths in inches): the title on
    top; below the panels a strip for the figure's legend (``_save`` fills it) and the
    caption, wrapped. Constrained layout keeps the panels out of both."""
    lines = textwrap.wrap(caption or "", width=int(13.5 * sum(widths)))
    caption_in = 0.12 + 0.17 * len(lines) if lines else 0.0
    legend_in = LEGEND_STRIP if legend else 0.0
    bottom = (caption_in + legend_in) / height
    engine = ConstrainedLayoutEngine(rect=(0, bottom, 1, 1 - bottom))
    figure = Figure(figsize=(sum(widths), height), dpi=DPI, layout=engine)
    if lines:
        figure.text(0.01, 0.07 / height, "\n".join(lines), fontsize=9, color="#444444")
    figure.suptitle(title, fontsize=12, fontweight="bold")
    grid = figure.add_gridspec(1, len(widths), width_ratios=widths)
    axes = [figure.add_subplot(grid[0, index]) for index in range(len(widths))]
    LEGEND_Y[figure] = caption_in / height  # where _save puts the legend
    return figure, axes


def _save(figure: Figure, path: Path, legend: Sequence[tuple[Any, str]] = ()) -> Path:
    """Write the PNG, with one legend for the figure in the strip under the panels."""
    seen: dict[str, Any] = {}
    for handle, label in legend:
        seen.setdefault(label, handle)
    if seen:
        figure.legend(
            list(seen.values()),
            list(seen),
            loc="lower center",
            bbox_to_anchor=(0.5, LEGEND_Y.get(figure, 0.0)),
            ncols=len(seen),
            frameon=False,
            fontsize=9,
            borderaxespad=0.2,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, metadata={"Software": None})
    return path


def _ratio_notes(values: Sequence[float], baseline: int | None, name: str) -> list[str]:
    if baseline is None or not values[baseline]:
        return [""] * len(values)
    short = name.replace("\n", " ")
    return [
        "" if index == baseline else f"{value / values[baseline]:.2f}× {short}"
        for index, value in enumerate(values)
    ]


def _bars(
    axes: Axes,
    labels: Sequence[str],
    values: Sequence[float],
    unit: str,
    *,
    baselines: set[int] | None = None,
    notes: Sequence[str] | None = None,
    target: Target = None,
    target_label: str | None = None,
    value_format: Callable[[float], str] = fmt,
    title: str | None = None,
    horizontal: bool = False,
) -> Legend:
    """Bars with their values (and notes) printed on them; returns the legend entries."""
    baselines = baselines or set()
    notes = notes or [""] * len(values)
    positions = list(range(len(values)))
    colors = [BASELINE if index in baselines else OURS for index in positions]
    hatches = ["//" if index in baselines else "" for index in positions]
    wrapped = [_wrap(label, 28 if horizontal else 16) for label in labels]
    draw = axes.barh if horizontal else axes.bar
    bars = draw(positions, values, 0.6, color=colors, edgecolor="#404040", linewidth=0.6)
    for bar, hatch in zip(bars, hatches, strict=True):
        bar.set_hatch(hatch)
    per_bar = _per_bar_targets(target, len(values))
    top = max([*values, *(t for t in per_bar if t is not None)], default=1.0) or 1.0
    for position, value, note in zip(positions, values, notes, strict=True):
        text = value_format(value) + (f"\n{note}" if note else "")
        if horizontal:
            axes.annotate(
                text.replace("\n", "  "),
                (value, position),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                ha="left",
                fontsize=9,
                bbox=LABEL_BOX,
            )
        else:
            axes.annotate(
                text,
                (position, value),
                xytext=(0, 3),
                textcoords="offset points",
                va="bottom",
                ha="center",
                fontsize=9,
                bbox=LABEL_BOX,
            )
    handles: list[Any] = []
    if isinstance(target, int | float):  # one target for the panel: a line across it
        line = axes.axvline if horizontal else axes.axhline
        handles.append(line(target, color=TARGET, linestyle="--", linewidth=1.4))
    else:  # one target per bar (or none): a segment over its bar
        segment = axes.vlines if horizontal else axes.hlines
        for position, mark in enumerate(per_bar):
            if mark is not None:
                handles.append(
                    segment(
                        mark,
                        position - 0.4,
                        position + 0.4,
                        colors=TARGET,
                        linestyles="--",
                        linewidth=1.6,
                    )
                )
    if top >= 1000:
        (axes.xaxis if horizontal else axes.yaxis).set_major_formatter(THOUSANDS)
    if horizontal:
        axes.set_yticks(positions, wrapped)
        axes.invert_yaxis()
        axes.set_xlabel(unit)
        texts = [
            value_format(value) + 2 * " " + note for value, note in zip(values, notes, strict=True)
        ]
        longest = max(map(len, texts), default=0)
        axes.set_xlim(0, top / max(0.45, 0.97 - longest * 0.011))
        axes.grid(axis="y", visible=False)
    else:
        axes.set_xticks(positions, wrapped)
        axes.set_ylabel(unit)
        lines = 1 + max((note.count("\n") + 1 if note else 0 for note in notes), default=0)
        axes.set_ylim(0, top / (0.95 - 0.055 * lines))
        axes.grid(axis="x", visible=False)
        axes.set_xlim(-0.7, len(values) - 0.3)
    if title:
        axes.set_title(title)
    entries: Legend = []
    if any(index not in baselines for index in positions):
        entries.append((Patch(facecolor=OURS, edgecolor="#404040"), "ours"))
    if baselines:
        entries.append((_baseline_patch(), "baseline, same run"))
    if handles and target_label:
        entries.append((handles[0], target_label))
    return entries


def _baseline_patch() -> Patch:
    return Patch(facecolor=BASELINE, edgecolor="#404040", hatch="//")


def _grouped_bars(
    axes: Axes,
    groups: Sequence[str],
    bars: Mapping[str, Sequence[float]],
    unit: str,
    *,
    notes: Sequence[str],
    targets: Sequence[float],
    target_label: str,
    title: str,
) -> Legend:
    """Per group: our bar then the baseline bar (the last series), a target segment over
    our bar and the note (the ratio) above it."""
    width = 0.8 / len(bars)
    top = 0.0
    for number, (name, values) in enumerate(bars.items()):
        baseline = number == len(bars) - 1
        offsets = [g - 0.4 + width * (number + 0.5) for g in range(len(groups))]
        drawn = axes.bar(
            offsets,
            values,
            width * 0.92,
            label=name,
            edgecolor="#404040",
            linewidth=0.6,
            color=BASELINE if baseline else OURS,
            hatch="//" if baseline else None,
        )
        for bar, value, group in zip(drawn, values, range(len(groups)), strict=True):
            text = fmt(value) + ("" if baseline else f"\n{notes[group]}")
            axes.annotate(
                text,
                (bar.get_x() + bar.get_width() / 2, value),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=9,
            )
        if number == 0:
            axes.hlines(
                targets,
                [o - width / 2 for o in offsets],
                [o + width / 2 for o in offsets],
                colors=TARGET,
                linestyles="--",
                linewidth=1.6,
                label=target_label,
            )
        top = max(top, *values, *targets)
    axes.set_xticks(range(len(groups)), groups)
    if top >= 1000:
        axes.yaxis.set_major_formatter(THOUSANDS)
    axes.set_ylabel(unit)
    axes.set_ylim(0, top / (0.95 - 0.055 * 3))
    axes.grid(axis="x", visible=False)
    axes.set_title(title)
    handles, labels = axes.get_legend_handles_labels()
    return list(zip(handles, labels, strict=True))


def _lines(
    axes: Axes,
    series: Mapping[str, Sequence[tuple[float, float]] | Sequence[Sequence[float]]],
    xlabel: str,
    ylabel: str,
    title: str | None = None,
) -> None:
    top = 0.0
    for index, (name, points) in enumerate(series.items()):
        if not points:
            continue
        xs = [float(point[0]) for point in points]
        ys = [float(point[1]) for point in points]
        top = max(top, *ys)
        axes.plot(
            xs,
            ys,
            marker="o",
            markersize=3,
            linewidth=1.4,
            color=SERIES[index % len(SERIES)],
            label=name,
        )
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xlim(left=0)
    axes.set_ylim(0, (top or 1.0) * 1.15)
    axes.legend(loc="lower right", fontsize=9, framealpha=0.9)
    if title:
        axes.set_title(title)


def _per_bar_targets(target: Target, count: int) -> list[float | None]:
    if target is None:
        return [None] * count
    if isinstance(target, int | float):
        return [float(target)] * count
    return [None if value is None else float(value) for value in target]


def _signed(value: float) -> str:
    """``+5.0`` / ``−26.0`` (a real minus sign, as in the report)."""
    return f"{value:+.1f}".replace("-", "−")


def _wrap(label: str, width: int) -> str:
    return "\n".join(textwrap.fill(line, width) for line in label.split("\n"))


def _database(backend: str) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(backend, backend)


# ---------------------------------------------------------------- redraw from results

PLOTS: dict[str, Callable[[Any], Path]] = {
    "rules": plot_rules,
    "documents": plot_documents,
    "statements": plot_statements,
    "backtest": plot_backtest,
    "pipeline": plot_pipeline,
    "dashboards": plot_dashboards,
}


def main(names: Sequence[str]) -> int:
    unknown = set(names) - set(PLOTS)
    if unknown:
        print(f"unknown: {', '.join(sorted(unknown))}; known: {', '.join(PLOTS)}", file=sys.stderr)
        return 2
    for name in names or PLOTS:
        source = RESULTS / f"{name}.json"
        if not source.exists():
            if names:
                print(f"{source.relative_to(ROOT)}: not found", file=sys.stderr)
                return 1
            continue
        drawn = PLOTS[name](json.loads(source.read_text(encoding="utf-8")))
        print(f"{source.relative_to(ROOT)} → {drawn.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
