"""``partnerflow run`` as a person runs it: from any folder, with a browser holding
connections open, and killed without a chance to clean up."""

from __future__ import annotations

import contextlib
import signal
import socket
import time
from pathlib import Path

import psutil
import pytest

from tests.support.processes import (
    BIN,
    deployment,
    free_port,
    http,
    processes_mentioning,
    redis_servers_in,
    wait_for,
)

#: its processes are subprocesses: they run on the machine clock
pytestmark = pytest.mark.real_clock
IDLE_SECONDS = 2


def test_run_serves_from_another_folder_while_idle_connections_wait(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with deployment(tmp_path, EMBEDDED_REDIS_IDLE_SECONDS=str(IDLE_SECONDS)) as running:
        port = free_port()
        run = running.start(
            str(BIN / "partnerflow"), "run", "--no-demo", "--port", str(port), cwd=elsewhere
        )
        url = f"http://127.0.0.1:{port}/health"
        wait_for(lambda: http(url).status == 200 or run.poll() is not None, 90, "the web server")
        assert run.poll() is None, running.logs()
        assert http(url).status == 200, running.logs()

        # A browser's speculative connections: opened, nothing sent. More of them than
        # web processes must not keep a request waiting for the worker timeout (30 s).
        with contextlib.ExitStack() as stack:
            for _ in range(4):
                stack.enter_context(socket.create_connection(("127.0.0.1", port)))
            time.sleep(0.5)
            started = time.monotonic()
            assert http(url).status == 200
            assert time.monotonic() - started < 5


def test_a_killed_run_leaves_no_process_behind(tmp_path: Path) -> None:
    with deployment(tmp_path, EMBEDDED_REDIS_IDLE_SECONDS=str(IDLE_SECONDS)) as running:
        port = free_port()
        run = running.start(str(BIN / "partnerflow"), "run", "--no-demo", "--port", str(port))
        url = f"http://127.0.0.1:{port}/health"
        wait_for(lambda: http(url).status == 200 or run.poll() is not None, 90, "the web server")
        assert http(url).status == 200, running.logs()
        family = psutil.Process(run.pid).children(recursive=True)
        assert redis_servers_in(running.instance)

        run.send_signal(signal.SIGKILL)  # only the parent: its children are not told
        run.wait(10)
        _, alive = psutil.wait_procs(family, timeout=30)
        assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
        wait_for(
            lambda: not redis_servers_in(running.instance) and not processes_mentioning(tmp_path),
            IDLE_SECONDS + 20,
            "the embedded Redis to exit with its last client",
        )


def test_a_killed_worker_takes_its_scheduler_with_it(tmp_path: Path) -> None:
    """rq forks the worker's scheduler, and a fork does not inherit the death signal
    ``partnerflow run`` gives its children. Killed while starting (``run`` killed as the
    web server comes up), the worker used to leave its scheduler running for good."""
    with deployment(tmp_path, EMBEDDED_REDIS_IDLE_SECONDS=str(IDLE_SECONDS)) as running:
        worker = running.start(str(BIN / "partnerflow"), "worker")
        command = psutil.Process(worker.pid).cmdline()

        def forks() -> list[psutil.Process]:
            assert worker.poll() is None, running.logs()
            children = psutil.Process(worker.pid).children()
            return [child for child in children if child.cmdline() == command]

        scheduler = wait_for(forks, 90, "the worker's scheduler")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        _, alive = psutil.wait_procs(scheduler, timeout=15)
        assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
