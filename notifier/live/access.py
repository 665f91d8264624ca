"""Who may open a live stream and what it shows: the checks ``/events`` and ``/ws`` share.

A stream is opened by a signed-in session (its cookie) or by a widget token in
``?token=``, which must allow the request's origin (:mod:`notifier.api.widget_access`).
``types`` and ``min_priority`` narrow what it shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import request
from flask_login import current_user

from notifier.api import widget_access
from notifier.core.errors import ApiError
from notifier.live.hub import PRIORITY_RANK
from notifier.live.stream import StreamFilter
from notifier.model.requests import PRIORITIES
from notifier.stores.revocation import Credential

_TYPE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class StreamAccess:
    """Whose stream a request may open, and until when."""

    user_id: str
    #: The token's expiry (epoch seconds); None for a signed-in session.
    expires_at: float | None
    by_token: bool
    #: The session or token behind it, which revocations name.
    credential: Credential | None = None


def authenticate(*, same_origin_session: bool = False) -> StreamAccess:
    """The request's stream access; ApiError 401 (no valid session or token) or 403.

    With ``same_origin_session``, a session's cookie counts only from this service's
    own pages: a WebSocket has no CORS, so a page on another site could otherwise
    open one with the user's cookie (cross-site WebSocket hijacking). A token is
    bound to its origins already. Redis errors (the session store) propagate.
    """
    token = request.args.get("token")
    if token is not None:
        try:
            grant = widget_access.authorize(token)
        except ApiError as exc:
            if exc.status == 401:
                exc.message = "The token is invalid or expired."
            raise
        return StreamAccess(grant.user_id, grant.expires_at, by_token=True,
                            credential=Credential(grant.issued_at, key_id=grant.key_id))
    if not current_user.is_authenticated:
        raise ApiError(401, "unauthorized", "Sign in, or pass a token.")
    origin = request.headers.get("Origin")
    if same_origin_session and origin is not None and origin != widget_access.own_origin():
        raise ApiError(403, "forbidden_origin",
                       "A signed-in session's socket opens only from this service's own pages.")
    account = current_user._get_current_object()
    return StreamAccess(account.user_id, None, by_token=False, credential=Credential(
        int(account.session_started * 1000), session=account.session_token,
        key_id=account.session_key_id))


def stream_filter() -> StreamFilter:
    """The ``types`` and ``min_priority`` query arguments; ApiError 422 naming the bad one."""
    types = request.args.get("types")
    wanted = None
    if types is not None:
        wanted = frozenset(t for t in types.split(",") if t)
        if not wanted or len(wanted) > 20 or not all(_TYPE.match(t) for t in wanted):
            raise ApiError(422, "invalid_field", "types must be a comma-separated "
                           "list of up to 20 type slugs", "types")
    minimum = request.args.get("min_priority", "low")
    if minimum not in PRIORITIES:
        raise ApiError(422, "invalid_field", "min_priority must be one of "
                       + ", ".join(PRIORITIES), "min_priority")
    return StreamFilter(wanted, PRIORITY_RANK[minimum])
