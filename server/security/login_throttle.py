"""Password guessing: failed logins counted per account and per client address in Redis.

Every web process (gunicorn worker, machine) shares the counters, so the limits hold for
the whole deployment; Flask-Limiter's in-memory store counted per process and let 10-20
of every 40 tries through. Both logins, the form (``/login/``) and the REST API
(``/api/v1/security/login``), go through :meth:`PartnerflowSecurityManager.auth_user_db`
and so through here.

The rule, per account and per address alike: the first ``free`` failures in a window
cost nothing; each failure from then on locks the key for ``base * 2**(n - free)``
seconds (at most ``cap``), so guesses slow to a handful an hour. While a lock holds,
no password is checked at all and the answer is 429 with the time to wait. Reserving an
attempt is one Lua script (atomic in Redis), so concurrent requests cannot slip past a
lock: past the free failures only one attempt per lock period gets its password checked.
A successful login clears its account's counter; an address's counter only forgets the
success itself, so an attacker with one valid login cannot reset it.

Locks are listed and lifted by an administrator (``LoginLockView``); setting and lifting
one writes an audit entry (see :mod:`server.security.commands`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app

from server.queues import redis_connection

PREFIX = "pf:login"

#: the settings (defaults and meanings in server/config.py)
SETTINGS = (
    "LOGIN_ACCOUNT_FREE_FAILURES",
    "LOGIN_ADDRESS_FREE_FAILURES",
    "LOGIN_LOCK_BASE_SECONDS",
    "LOGIN_LOCK_MAX_SECONDS",
    "LOGIN_FAILURE_WINDOW_SECONDS",
)

# KEYS: account failures, account lock, address failures, address lock
# ARGV: account free, address free, base, cap, window, account label, address label
_RESERVE = """
local function backoff(n, free)
  local seconds = tonumber(ARGV[3]) * 2 ^ (n - free)
  return math.floor(math.min(seconds, tonumber(ARGV[4])))
end
local wait = redis.call('PTTL', KEYS[2])
if wait > 0 then return {'account', wait} end
wait = redis.call('PTTL', KEYS[4])
if wait > 0 then return {'address', wait} end
local account = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[5])
local address = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[5])
-- past the free failures, this attempt holds the lock its failure would set
if account > tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], ARGV[6], 'EX', backoff(account, tonumber(ARGV[1])))
end
if address > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[4], ARGV[7], 'EX', backoff(address, tonumber(ARGV[2])))
end
return {'ok', account, address}
"""


class LoginLocked(Exception):
    """Too many failed logins for this account or from this address."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"login locked ({scope}) for {retry_after} s")
        self.scope = scope
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    """A reserved attempt: whose keys it counted on, and the counts with it."""

    account: str
    address: str
    account_failures: int
    address_failures: int


@dataclass(frozen=True)
class Lock:
    """An active lock, for the administrators' list."""

    scope: str  # "account" or "address"
    key: str  # the account id or the address
    label: str  # the login name or the address, as shown
    seconds_left: int
    failures: int


@dataclass(frozen=True)
class NewLock:
    """A lock a failure just set or extended (for the audit entry)."""

    scope: str
    label: str
    failures: int
    seconds: int


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _settings() -> dict[str, int]:
    return {name: int(current_app.config[name]) for name in SETTINGS}


def _keys(account: str, address: str) -> list[str]:
    return [
        f"{PREFIX}:fails:account:{account}",
        f"{PREFIX}:lock:account:{account}",
        f"{PREFIX}:fails:address:{address}",
        f"{PREFIX}:lock:address:{address}",
    ]


def _backoff(failures: int, free: int, settings: dict[str, int]) -> int:
    seconds = settings["LOGIN_LOCK_BASE_SECONDS"] * 2 ** (failures - free)
    return int(min(seconds, settings["LOGIN_LOCK_MAX_SECONDS"]))


def reserve(account: str, account_label: str, address: str) -> Attempt:
    """Count an attempt before its password is checked.

    Raises:
        LoginLocked: the account or the address is locked; nothing was counted.
    """
    settings = _settings()
    connection = redis_connection()
    answer: list[Any] = connection.eval(
        _RESERVE,
        4,
        *_keys(account, address),
        settings["LOGIN_ACCOUNT_FREE_FAILURES"],
        settings["LOGIN_ADDRESS_FREE_FAILURES"],
        settings["LOGIN_LOCK_BASE_SECONDS"],
        settings["LOGIN_LOCK_MAX_SECONDS"],
        settings["LOGIN_FAILURE_WINDOW_SECONDS"],
        account_label,
        address,
    )
    scope = answer[0].decode() if isinstance(answer[0], bytes) else str(answer[0])
    if scope != "ok":
        raise LoginLocked(scope, max(1, -(-int(answer[1]) // 1000)))
    return Attempt(account, address, int(answer[1]), int(answer[2]))


def failed(attempt: Attempt, account_label: str) -> list[NewLock]:
    """Record that the attempt's password was wrong; return the locks it set."""
    settings = _settings()
    connection = redis_connection()
    _account_fails, account_lock, _address_fails, address_lock = _keys(
        attempt.account, attempt.address
    )
    locks = []
    free = settings["LOGIN_ACCOUNT_FREE_FAILURES"]
    if attempt.account_failures >= free:
        seconds = _backoff(attempt.account_failures, free, settings)
        connection.set(account_lock, account_label, ex=seconds)
        locks.append(NewLock("account", account_label, attempt.account_failures, seconds))
    free = settings["LOGIN_ADDRESS_FREE_FAILURES"]
    if attempt.address_failures >= free:
        seconds = _backoff(attempt.address_failures, free, settings)
        connection.set(address_lock, attempt.address, ex=seconds)
        locks.append(NewLock("address", attempt.address, attempt.address_failures, seconds))
    return locks


def succeeded(attempt: Attempt) -> None:
    """Clear the account's failures and lock; the address only forgets this attempt."""
    account_fails, account_lock, address_fails, _address_lock = _keys(
        attempt.account, attempt.address
    )
    connection = redis_connection()
    connection.delete(account_fails, account_lock)
    connection.decr(address_fails)


def active_locks() -> list[Lock]:
    """Every lock that holds now, longest first."""
    connection = redis_connection()
    locks = []
    for raw in connection.scan_iter(match=f"{PREFIX}:lock:*", count=500):
        name = raw.decode()
        _prefix, _login, _lock, scope, key = name.split(":", 4)
        label = connection.get(name)
        seconds = connection.ttl(name)
        if label is None or seconds is None or seconds <= 0:
            continue  # expired between the scan and now
        failures = connection.get(f"{PREFIX}:fails:{scope}:{key}")
        locks.append(Lock(scope, key, _text(label), int(seconds), int(_text(failures) or 0)))
    return sorted(locks, key=lambda lock: (-lock.seconds_left, lock.scope, lock.label))


def lift(scope: str, key: str) -> str | None:
    """Remove a lock and its failures; return its label, or None if none held.

    Raises:
        ValueError: ``scope`` is neither "account" nor "address".
    """
    if scope not in ("account", "address"):
        raise ValueError(f"unknown lock scope {scope!r}")
    connection = redis_connection()
    lock = f"{PREFIX}:lock:{scope}:{key}"
    label = connection.get(lock)
    connection.delete(lock, f"{PREFIX}:fails:{scope}:{key}")
    return _text(label) if label is not None else None


class MemoryThrottle:
    """This process's stand-in while Redis is down: failures per account and per address
    in the failure window; past the free ones, refused until the window has passed.

    Coarser than the Redis rule (no back-off, per process), but a Redis outage then
    neither lets guessing run free nor fails every login with a 500.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}

    def _recent(self, key: str, window: int, now: float) -> list[float]:
        kept = [at for at in self._failures.get(key, []) if now - at < window]
        self._failures[key] = kept
        return kept

    def check(self, account: str, address: str) -> None:
        """Raises :class:`LoginLocked` when either key is past its free failures."""
        settings = _settings()
        window = settings["LOGIN_FAILURE_WINDOW_SECONDS"]
        now = time.monotonic()
        with self._lock:
            for scope, key, free in (
                ("account", account, settings["LOGIN_ACCOUNT_FREE_FAILURES"]),
                ("address", address, settings["LOGIN_ADDRESS_FREE_FAILURES"]),
            ):
                recent = self._recent(f"{scope}:{key}", window, now)
                if len(recent) >= free:
                    raise LoginLocked(scope, max(1, int(window - (now - recent[0]))))

    def failed(self, account: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"account:{account}", f"address:{address}"):
                self._failures.setdefault(key, []).append(now)


#: the fallback of this process (see :class:`MemoryThrottle`)
MEMORY = MemoryThrottle()
