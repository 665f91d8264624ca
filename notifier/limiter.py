"""Rate limiting with Flask-Limiter, counters kept in the app's Redis."""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from .backend import Backend

#: The extension; bound to an app (and its Redis) by :func:`init_app`.
limiter = Limiter(key_func=get_remote_address)


def storage_uri(redis_url: str) -> str:
    """The ``limits`` storage URI for a redis-py URL."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def init_app(app: Flask, state: Backend) -> None:
    """Keep the counters beside everything else, sharing the app's connection pool."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(state.redis_url))
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                          {"connection_pool": state.redis.connection_pool})
    app.config.setdefault("RATELIMIT_KEY_PREFIX", state.keys.rate_limit_prefix())
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    limiter.init_app(app)
