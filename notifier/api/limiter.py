"""Rate limiting with Flask-Limiter, counters kept in the app's Redis."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable

from flask import Blueprint, Flask, current_app, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many

from notifier.backend import Backend, backend
from notifier.core.errors import ApiError, error_response
from notifier.stores.connection import is_cluster
from notifier.stores.inbox import Limit

#: The extension; bound to an app (and its Redis) by :func:`init_app`.
limiter = Limiter(key_func=get_remote_address)

#: Endpoints Flask-Limiter's before-request check skips outright (:func:`api_rate_limit`).
_unchecked: set[str] = set()
#: Endpoints that spend the budget inside their own script on one Redis (the send
#: routes); on a cluster Flask-Limiter checks them like every other route.
_spent_in_script: set[str] = set()


def storage_uri(redis_url: str) -> str:
    """The ``limits`` storage URI for a redis-py URL."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def init_app(app: Flask, state: Backend) -> None:
    """Keep the counters beside everything else, under the instance's prefix (the
    storage's own prefix would be ``LIMITS``), sharing the app's connection pool."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(state.redis_url))
    # A cluster's storage keeps a client of its own. Flask-Limiter merges each app's
    # options into what earlier apps of the process left, so the pool is always named.
    options = {"key_prefix": state.keys.rate_limit_prefix(),
               "connection_pool": None if is_cluster(state.redis)
               else state.redis.connection_pool}
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", options)
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    limiter.init_app(app)
    _skip_check_for_unchecked(app, is_cluster(state.redis))


def _skip_check_for_unchecked(app: Flask, on_cluster: bool) -> None:
    """Wrap the before-request check Flask-Limiter registered on ``app`` so that it does
    not run for the endpoints in ``_unchecked``: even finding that a route is exempt costs
    it a tenth of a send's CPU."""
    hooks = app.before_request_funcs.setdefault(None, [])
    at = next(i for i, hook in enumerate(hooks) if getattr(hook, "__self__", None) is limiter)
    check = hooks[at]

    skipped = _unchecked if on_cluster else _unchecked | _spent_in_script

    def check_unless_unchecked() -> None:
        # On a cluster the budget's lists live in other slots than the recipients'
        # keys, so the send routes are checked here like every other route.
        if request.endpoint not in skipped:
            check()

    hooks[at] = check_unless_unchecked


def _api_limit() -> str:
    return current_app.config["API_RATE_LIMIT"] or ""


@functools.lru_cache(maxsize=8)
def _items(limit: str) -> tuple[RateLimitItem, ...]:
    return tuple(sorted(parse_many(limit))) if limit else ()


def _api_identifiers(key_id: str) -> list[str]:
    """What Flask-Limiter names the key's shared budget with (see :func:`api_rate_limit`)."""
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")
    return [*([prefix] if prefix else []), "apikey:" + key_id, "api"]


def _spent_before_the_view() -> bool:
    """Whether Flask-Limiter spent the send routes' budget already (on a cluster)."""
    return is_cluster(backend().redis)


def api_limits(key_id: str) -> list[Limit]:
    """The API key's budget as a send spends it inside its own script: the very lists
    Flask-Limiter's moving windows keep for every other route (one budget). None on a
    cluster, where Flask-Limiter spends it before the view."""
    if _spent_before_the_view():
        return []
    storage = limiter.limiter.storage
    identifiers = _api_identifiers(key_id)
    return [Limit(storage.prefixed_key(item.key_for(*identifiers)), item.amount,
                  item.get_expiry()) for item in _items(_api_limit())]


def spend_api_budget(key_id: str) -> None:
    """Spend one call of the key's budget the way Flask-Limiter does, for a send route
    that does not reach its script (a refused body, a scheduled send); over it, a 429.
    On a cluster Flask-Limiter spent it before the view already."""
    if _spent_before_the_view():
        return
    identifiers = _api_identifiers(key_id)
    for item in _items(_api_limit()):
        if not limiter.limiter.hit(item, *identifiers):
            raise over_api_budget(key_id, item)


def over_api_budget(key_id: str, item: RateLimitItem | Limit) -> ApiError:
    """The 429 for a key with no room left in ``item``, with when the window lets a call
    through."""
    if isinstance(item, Limit):
        item = next(i for i in _items(_api_limit()) if i.amount == item.amount
                    and i.get_expiry() == item.window)
    reset, _ = limiter.limiter.get_window_stats(item, *_api_identifiers(key_id))
    wait = max(1, math.ceil(reset - time.time()))
    return ApiError(429, "rate_limited", f"Too many requests for this API key (limit "
                    f"{item}); retry in {wait} s.", retry_after=wait)


def _too_many_requests(limit: RequestLimit):
    """The API's JSON error, with how long until the window lets a request through."""
    wait = max(1, math.ceil(limit.window.reset_time - time.time()))
    response = error_response(429, "rate_limited",
                              f"Too many requests for this API key (limit {limit.limit}); "
                              f"retry in {wait} s.")
    response.headers["Retry-After"] = str(wait)
    return response


def api_rate_limit(bp: Blueprint, *, key_func: Callable[[], str],
                   exempt: frozenset[str], spent_in_script: frozenset[str]) -> None:
    """Limit every route of ``bp`` to ``API_RATE_LIMIT`` per ``key_func()`` (an API key id),
    one budget shared by all the routes; over it, a 429 JSON error with Retry-After.

    Flask-Limiter's before-request check does not run at all for the ``exempt``
    endpoints, nor, on one Redis, for the ``spent_in_script`` ones (the send routes
    spend the budget in their own script)."""
    _unchecked.update(exempt)
    _spent_in_script.update(spent_in_script)
    limiter.shared_limit(_api_limit, scope="api", key_func=lambda: "apikey:" + key_func(),
                         on_breach=_too_many_requests)(bp)


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
