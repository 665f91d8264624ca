"""Rate limiting with Flask-Limiter, counters kept in the app's Redis."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import Blueprint, Flask, current_app
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from limits import parse_many

from notifier.backend import Backend
from notifier.core.errors import ApiError, error_response

#: The extension; bound to an app (and its Redis) by :func:`init_app`.
limiter = Limiter(key_func=get_remote_address)


def storage_uri(redis_url: str) -> str:
    """The ``limits`` storage URI for a redis-py URL."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def init_app(app: Flask, state: Backend) -> None:
    """Keep the counters beside everything else, under the instance's prefix (the
    storage's own prefix would be ``LIMITS``), sharing the app's connection pool."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(state.redis_url))
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                          {"connection_pool": state.redis.connection_pool,
                           "key_prefix": state.keys.rate_limit_prefix()})
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    limiter.init_app(app)


def _api_limit() -> str:
    return current_app.config["API_RATE_LIMIT"] or ""


def _too_many_requests(limit: RequestLimit):
    """The API's JSON error, with how long until the window lets a request through."""
    wait = max(1, math.ceil(limit.window.reset_time - time.time()))
    response = error_response(429, "rate_limited",
                              f"Too many requests for this API key (limit {limit.limit}); "
                              f"retry in {wait} s.")
    response.headers["Retry-After"] = str(wait)
    return response


def api_rate_limit(bp: Blueprint, *, key_func: Callable[[], str],
                   exempt: Callable[[], bool]) -> None:
    """Limit every route of ``bp`` to ``API_RATE_LIMIT`` per ``key_func()`` (an API key id),
    one budget shared by all the routes; over it, a 429 JSON error with Retry-After."""
    limiter.shared_limit(_api_limit, scope="api", key_func=lambda: "apikey:" + key_func(),
                         exempt_when=exempt, on_breach=_too_many_requests)(bp)


def spend_widget_budget(user_id: str) -> None:
    """Count one widget call (widget API request or ``/ws`` message) against the user's
    ``WIDGET_RATE_LIMIT``; over it, raise a 429 :class:`ApiError` with Retry-After.

    Checked after the token is verified (so the answer carries the page's CORS headers)
    with the same storage and strategy as the API keys' limit.
    """
    budget = current_app.config["WIDGET_RATE_LIMIT"]
    if not budget:
        return
    for item in parse_many(budget):
        if not limiter.limiter.hit(item, "widget", user_id):
            reset, _ = limiter.limiter.get_window_stats(item, "widget", user_id)
            wait = max(1, math.ceil(reset - time.time()))
            raise ApiError(429, "rate_limited", f"Too many requests for this user (limit "
                           f"{item}); retry in {wait} s.", retry_after=wait)
