"""Real server processes for fault tests: start them, find them, and leave none behind.

Processes are found by what they are, not by what started them: an embedded
``redis-server`` works in its data folder (Redis changes into its ``dir``), so
:func:`redis_servers_in` finds every one serving a test's folder whoever started it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psutil

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: Callable[[], T], timeout: float, what: str) -> T:
    """Call ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def _inside(path: str, folder: Path) -> bool:
    return path == str(folder) or path.startswith(str(folder) + os.sep)


def redis_servers_in(folder: Path) -> list[psutil.Process]:
    """The running ``redis-server`` processes whose data folder is in ``folder``."""
    found = []
    for process in psutil.process_iter(["name", "status"]):
        if process.info["name"] != "redis-server" or process.info["status"] == "zombie":
            continue
        with contextlib.suppress(psutil.Error):
            if _inside(process.cwd(), folder):
                found.append(process)
    return found


def processes_mentioning(folder: Path) -> list[psutil.Process]:
    """Live processes whose command line, working folder or instance is in ``folder``."""
    found = []
    me = os.getpid()
    for process in psutil.process_iter(["cmdline", "status"]):
        if process.pid == me or process.info["status"] == "zombie":
            continue
        with contextlib.suppress(psutil.Error):
            words = process.info["cmdline"] or []
            instance = process.environ().get("PARTNERFLOW_INSTANCE", "")
            if (
                any(str(folder) in word for word in words)
                or _inside(process.cwd(), folder)
                or _inside(instance, folder)
            ):
                found.append(process)
    return found


@dataclass
class Deployment:
    """Processes of one instance folder, sharing an environment; all stopped at the end."""

    root: Path
    env: dict[str, str]
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def instance(self) -> Path:
        return Path(self.env["PARTNERFLOW_INSTANCE"])

    def start(self, *args: str, cwd: Path | None = None) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{Path(args[0]).name}-{len(self.started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            list(args),
            env=self.env,
            cwd=cwd or REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.started.append(process)
        return process

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args),
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.root.glob("*.log"))

    def stop_all(self) -> None:
        """Stop every process started here, then anything still serving the folder."""
        for process in self.started:
            family = _family(process.pid)
            with contextlib.suppress(ProcessLookupError):  # the group outlives its leader
                os.killpg(process.pid, signal.SIGTERM)
            _, alive = psutil.wait_procs(family, timeout=15)
            for straggler in alive:
                with contextlib.suppress(psutil.Error):
                    straggler.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        leftovers = processes_mentioning(self.root) + redis_servers_in(self.root)
        for process in leftovers:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(leftovers, timeout=10)


def _family(pid: int) -> list[psutil.Process]:
    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@contextlib.contextmanager
def deployment(root: Path, **env: str) -> Iterator[Deployment]:
    """An instance folder under ``root`` with the embedded Redis (``REDIS_URL`` unset)."""
    instance = root / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "PARTNERFLOW_INSTANCE": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'partnerflow.db'}",
        "SECRET_KEY": "test-only-processes",
        # the repository first; then what the run adds (make test-clock-ahead's clock)
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        **env,
    }
    environment.pop("REDIS_URL", None)
    running = Deployment(root, environment)
    try:
        yield running
    finally:
        running.stop_all()


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
    """One HTTP request; an error status is an answer too, a refused connection is 0."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            kind = response.headers.get("Content-Type", "")
            return Answer(response.status, kind, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers.get("Content-Type", ""), error.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return Answer(0, "", b"")
