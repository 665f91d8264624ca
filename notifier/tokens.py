"""Short-lived signed tokens that let a page or widget open one user's stream.

A token names one user id and an expiry, signed with the app's secret key
(itsdangerous). It needs no Redis lookup to check, so a stream can still
answer during a Redis outage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from .ids import is_user_id

_SALT = "notifier.widget-token.v1"

#: Default and longest lifetime of a token, in seconds.
DEFAULT_TTL = 15 * 60
MAX_TTL = 24 * 3600


@dataclass(frozen=True)
class WidgetToken:
    """What a valid token grants."""

    user_id: str
    expires_at: float


def mint(secret_key: str, user_id: str, ttl_seconds: int) -> tuple[str, WidgetToken]:
    """A token for ``user_id`` valid ``ttl_seconds`` from now."""
    grant = WidgetToken(user_id, time.time() + ttl_seconds)
    serializer = URLSafeSerializer(secret_key, salt=_SALT)
    return serializer.dumps({"u": user_id, "e": round(grant.expires_at, 3)}), grant


def verify(secret_key: str, token: str) -> WidgetToken | None:
    """The grant of a well-signed, unexpired token, else None."""
    try:
        claims = URLSafeSerializer(secret_key, salt=_SALT).loads(token)
    except BadSignature:
        return None
    if not isinstance(claims, dict):
        return None
    user_id, expires_at = claims.get("u"), claims.get("e")
    if not is_user_id(user_id) or not isinstance(expires_at, int | float):
        return None
    if expires_at <= time.time():
        return None
    return WidgetToken(user_id, float(expires_at))
