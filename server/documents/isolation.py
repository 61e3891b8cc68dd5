"""Run one call in a forked child process with hard limits on processor time, memory
and wall-clock time.

Templates are untrusted, and some of what they can ask for is a single C call that no
Python-level deadline interrupts (a big-integer power, ``str`` of a huge nested list).
Such a call in the web worker or the rq worker holds that process until it ends. In a
child it is stopped by the kernel: ``RLIMIT_CPU`` sends ``SIGXCPU`` (then ``SIGKILL``),
``RLIMIT_AS`` turns a runaway allocation into ``MemoryError``, and the parent kills a
child that outlives its wall-clock budget (one that sleeps or waits).

The child is a plain ``os.fork()``: the caller's modules are already imported, so a
render pays only for the fork and the pickled result (about a millisecond or two; see
``docs/security.md``). rq runs each job in a forked work horse, single-threaded. The
web server's workers are threaded (``partnerflow run``: gunicorn's gthread workers, so an
idle browser connection holds no worker): a lock another thread held at the fork stays
held in the child, and a render that needs it would wait; the wall-clock limit then ends
that child with an error (the request gets the reason, no worker is held). The child
never touches the database, Redis or the log, and leaves with ``os._exit`` so nothing
inherited is flushed or closed twice.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import resource
import select
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: bytes read from the child's pipe at a time
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ChildLimits:
    """How much a child may use before it is stopped."""

    #: processor seconds (``RLIMIT_CPU`` counts whole seconds)
    cpu_seconds: int
    #: address space the child may add to what it inherited from its parent
    memory_bytes: int
    #: seconds from the fork until the parent kills the child
    wall_seconds: float


class ChildStopped(Exception):
    """The child was stopped before it answered: ``reason`` is ``cpu`` (its processor
    limit), ``wall`` (killed at the wall-clock limit) or ``crashed`` (anything else)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class ChildFailed(Exception):
    """The child raised an exception that could not be sent back as itself."""


def run_in_child(function: Callable[..., Any], args: Sequence[Any], limits: ChildLimits) -> Any:
    """``function(*args)`` computed in a forked child under ``limits``.

    The result and any exception raised by ``function`` are pickled back: an exception
    is raised again here as itself (or as :class:`ChildFailed` if it cannot be pickled).

    Raises:
        ChildStopped: the child hit a limit or died without answering.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves through os._exit
        os.close(read_end)
        _run_child(write_end, function, args, limits)
    os.close(write_end)
    try:
        payload = _read_all(read_end, time.monotonic() + limits.wall_seconds)
    except TimeoutError:
        _kill(pid)
        raise ChildStopped("wall", f"{limits.wall_seconds:g} s") from None
    finally:
        os.close(read_end)
    status = _reap(pid)
    if not payload:
        raise _stopped_by(status)
    kind, value = pickle.loads(payload)
    if kind == "error":
        raise value
    if kind == "unpicklable":
        raise ChildFailed(value)
    return value


def _run_child(
    write_end: int, function: Callable[..., Any], args: Sequence[Any], limits: ChildLimits
) -> None:  # pragma: no cover - runs in the child
    code = 1
    try:
        # The inherited objects are the parent's: a collection in the child would walk
        # (and copy, page by page) all of them; only the child's own are collected.
        gc.freeze()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
            signal.signal(signum, signal.SIG_DFL)
        _limit_self(limits)
        try:
            outcome: tuple[str, Any] = ("ok", function(*args))
        except Exception as error:
            outcome = ("error", error)
        try:
            payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            payload = pickle.dumps(("unpicklable", f"{type(outcome[1]).__name__}: {outcome[1]}"))
        view = memoryview(payload)
        while view:
            view = view[os.write(write_end, view) :]
        code = 0
    finally:
        os._exit(code)


def _limit_self(limits: ChildLimits) -> None:  # pragma: no cover - runs in the child
    """Apply ``limits`` to this (child) process. The processor limit counts from the
    fork (a child starts at zero); ``SIGXCPU`` at the soft limit ends it, ``SIGKILL``
    one second later if it is blocked in a way that ignores the signal."""
    cpu = max(1, int(limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    inherited = _address_space_bytes()
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = inherited + limits.memory_bytes
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def _address_space_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _read_all(fd: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            raise TimeoutError
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> int | None:
    """Wait for the child; its wait status, or None if someone else reaped it."""
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:  # SIGCHLD ignored by the host process: no status to read
        return None


def _stopped_by(status: int | None) -> ChildStopped:
    if status is not None and os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        if signum in (signal.SIGXCPU, signal.SIGKILL):
            return ChildStopped("cpu", signal.Signals(signum).name)
        return ChildStopped("crashed", signal.Signals(signum).name)
    code = os.WEXITSTATUS(status) if status is not None else "unknown"
    return ChildStopped("crashed", f"exit status {code}")
