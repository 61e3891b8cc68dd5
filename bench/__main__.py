"""``make bench``: every benchmark of the project, one after the other, default sizes.

Each script prints its figures as ratios against a baseline measured in the same run
and writes JSON under ``bench/results/``; ``docs/benchmarks.md`` records them with the
commands. Larger runs: call a script directly with its flags (see ``--help``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (script, arguments): sizes that finish in minutes on a 2-core machine
RUNS: list[tuple[str, list[str]]] = [
    ("bench_rules.py", ["--events", "20000", "--cli-events", "100000", "--repeat", "1"]),
    ("bench_pipeline.py", ["--events", "10000", "--workers", "2", "--db", "both"]),
    ("bench_programs.py", ["--events", "10000", "--repeat", "3"]),
    ("bench_backtest.py", ["--events", "100000"]),
    ("bench_documents.py", ["--renders", "10", "--contracts", "24"]),
    ("bench_statements.py", ["--renders", "10", "--statements", "40"]),
    ("bench_dashboards.py", ["--partners", "1000", "--accruals", "100000"]),
]


def main() -> int:
    failed = []
    for script, arguments in RUNS:
        path = HERE / script
        if not path.exists():
            continue
        print(f"\n=== {script} {' '.join(arguments)}", flush=True)
        if subprocess.run([sys.executable, str(path), *arguments]).returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
