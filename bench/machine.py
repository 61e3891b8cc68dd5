"""The machine a benchmark ran on, and the JSON file each benchmark writes.

``describe()`` is called at the start of a run (so the load average is the one the run
started under); ``write_results()`` adds it, the command that reproduces the run and the
load average at the end to a script's figures and writes ``bench/results/<name>.json``.
Everything comes from ``/proc``, ``os`` and the installed packages' metadata: no extra
dependency, nothing that fails on a machine without PostgreSQL.

    .venv/bin/python bench/machine.py     # prints this machine's description as JSON
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

#: versions recorded with every run (the engines and libraries the figures depend on)
PACKAGES = ["weasyprint", "durable-rules", "zen-engine", "flask", "sqlalchemy", "psycopg", "rq"]


def describe() -> dict[str, Any]:
    """CPU model, cores, RAM, OS, Python, PostgreSQL and package versions, load average."""
    return {
        "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "ram_gb": _ram_gb(),
        "os": _os_name(),
        "kernel": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "postgresql": _postgres_version(),
        "packages": {name: _package_version(name) for name in PACKAGES},
        "load_average_start": _load_average(),
        "git_commit": _git_commit(),
    }


def summary(machine: dict[str, Any]) -> str:
    """One line for a report: ``AMD EPYC, 2 cores, 23.5 GB RAM, Debian 12, Python 3.11.7 …``."""
    packages = machine.get("packages", {})
    parts = [
        str(machine.get("cpu_model") or "unknown CPU"),
        f"{machine.get('cpu_cores')} cores",
        f"{machine.get('ram_gb')} GB RAM",
        str(machine.get("os")),
        f"Python {machine.get('python')}",
        f"PostgreSQL {machine.get('postgresql') or 'not installed'}",
        f"WeasyPrint {packages.get('weasyprint') or '?'}",
    ]
    load = machine.get("load_average_start")
    if load:
        parts.append(f"load average at start {load[0]:.2f}")
    return ", ".join(parts)


def command_line() -> str:
    """The command that reproduces this run, relative to the repository root."""
    script = Path(sys.argv[0]).resolve()
    with contextlib.suppress(ValueError):
        script = script.relative_to(ROOT)
    return shlex.join([".venv/bin/python", str(script), *sys.argv[1:]])


def child_environment(**extra: str) -> dict[str, str]:
    """The environment for a benchmark's child processes (workers, ``simulate``): this
    checkout first on ``PYTHONPATH``.

    The venv's editable install maps ``server`` to the tree it was installed from, so a
    child started from a second checkout (``git worktree``, for an A/B) would otherwise
    run the first checkout's code while the bench process runs its own.
    """
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT),
        **extra,
    }


def write_results(name: str, figures: dict[str, Any], machine: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json``: the figures plus ``machine`` (with the load
    average at the end added) and ``command``; returns the path."""
    payload = {
        **figures,
        "machine": {**machine, "load_average_end": _load_average()},
        "command": command_line(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or None


def _ram_gb() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)  # kB → GiB
    return None


def _os_name() -> str:
    with contextlib.suppress(OSError):
        return platform.freedesktop_os_release().get("PRETTY_NAME", platform.platform())
    return platform.platform()


def _load_average() -> list[float] | None:
    with contextlib.suppress(OSError):
        return [round(value, 2) for value in os.getloadavg()]
    return None


def _postgres_version() -> str | None:
    """The server the benchmarks would start (``tests/support/postgres.py``'s choice)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), reverse=True)
    binary = candidates[0] if candidates else shutil.which("postgres")
    if not binary:
        return None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        output = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
        return output.strip().removeprefix("postgres (PostgreSQL) ")
    return None


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    """HEAD's commit (read-only ``git rev-parse``; the tree may have local changes)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    return None


if __name__ == "__main__":
    described = describe()
    print(json.dumps(described, indent=2))
    print(summary(described))
