"""The Redis connection and rq queues.

With ``REDIS_URL`` unset, the instance's embedded Redis (:mod:`server.embedded_redis`) is
started or joined: one server per instance folder, append-only persistence, started
again by whichever process next needs it after a crash. The connection is opened
lazily: building the app never starts a server by itself.

Redis is a queue, not the record: the database is. Callers that only *notify* Redis
after a commit (queue an evaluation, count a rate limit) catch :data:`REDIS_ERRORS` and
carry on; what they meant to queue is found again in the database (the sweeper).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue

from server import embedded_redis
from server.errors import ConfigurationError

log = logging.getLogger(__name__)

EXTENSION_KEY = "partnerflow.redis"

#: what a call to Redis raises when the server is down or cannot be started
REDIS_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, OSError, ConfigurationError)


def init_queues(app: Flask) -> None:
    """Prepare the app to open its Redis connection on first use."""
    app.extensions[EXTENSION_KEY] = None


def redis_connection(app: Flask | None = None) -> redis.Redis:
    """The app's Redis connection (opened on first call).

    The client reconnects by itself on its next command after the server went away;
    with the embedded server, that reconnection starts the server again if need be.

    Raises:
        ConfigurationError: the configured server cannot be reached.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    connection: redis.Redis | None = app.extensions.get(EXTENSION_KEY)
    if connection is None:
        url = app.config.get("REDIS_URL")
        try:
            if url:
                connection = redis.Redis.from_url(
                    url, socket_connect_timeout=3, retry=embedded_redis.client_retry()
                )
            else:
                connection = embedded_redis.connect(
                    app.config["REDISLITE_PATH"],
                    int(app.config.get("EMBEDDED_REDIS_IDLE_SECONDS", 30)),
                )
        except (redis.RedisError, OSError) as error:
            raise ConfigurationError(
                f"Cannot start or reach Redis ({url or 'embedded'}): {error}"
            ) from error
        app.extensions[EXTENSION_KEY] = connection
    return connection


def get_queue(name: str = "default", app: Flask | None = None, **kwargs: Any) -> Queue:
    """An rq queue on the app's Redis connection."""
    return Queue(name, connection=redis_connection(app), **kwargs)


def queue_or_log(what: str, send: Callable[[], object]) -> bool:
    """Run ``send`` (it queues jobs) after the caller's commit; True if it went through.

    With Redis down it logs a warning and returns False: the database already holds
    what waits (pending rows), and a later requeue or the sweeper queues it.
    """
    try:
        send()
    except REDIS_ERRORS as error:
        log.warning("%s not queued, Redis is unavailable (queued again later): %s", what, error)
        return False
    return True
