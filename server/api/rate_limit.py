"""A sliding-window rate limit in Redis, shared by every web process.

A fixed window (one counter per calendar minute) lets a client send its whole allowance
at the end of one minute and again at the start of the next: 130 batches passed in 4.9 s
against a limit of 120 a minute. Here each allowed request is kept as an entry of a
sorted set scored by its time, so *any* ``window`` seconds hold at most ``limit`` of
them. One Lua script reads Redis' own clock, drops entries older than the window, counts
and adds atomically: processes on several machines share one clock and one count.
Refused requests are not recorded, so a client that waits as told gets in.
"""

from __future__ import annotations

import redis

#: KEYS: the entries (sorted set), their sequence counter. ARGV: limit, window in
#: microseconds, and a time in microseconds (tests) or "" for Redis' own clock.
#: Returns 0 when the request is allowed, else the microseconds until a slot frees.
_SLIDING_WINDOW = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now
if ARGV[3] ~= '' then
  now = tonumber(ARGV[3])
else
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  local seq = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[1], now, seq)
  local ttl = math.ceil(window / 1000)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


def take_slot(
    connection: redis.Redis,
    name: str,
    limit: int,
    window_seconds: int,
    *,
    now_us: int | None = None,
) -> float | None:
    """Record one request under ``name`` if fewer than ``limit`` were allowed in the
    last ``window_seconds``; return None, else the seconds until one more is allowed.

    ``now_us`` replaces Redis' clock (microseconds since the epoch): for tests only.
    """
    script = connection.register_script(_SLIDING_WINDOW)
    wait_us = script(
        keys=[name, f"{name}:seq"],
        args=[limit, window_seconds * 1_000_000, "" if now_us is None else now_us],
    )
    return int(wait_us) / 1_000_000 if int(wait_us) else None
