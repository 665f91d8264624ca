"""Short-lived signed tokens that let a page or widget open one user's stream.

A token names one user id, an expiry and the web origins allowed to use it,
signed with the app's secret key (itsdangerous). It needs no Redis lookup to
check, so a stream can still answer during a Redis outage. A token without
origins is for the service's own origin (and clients that send no ``Origin``);
see :mod:`notifier.api.widget_access`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from notifier.core.ids import is_api_key_id, is_user_id
from notifier.core.signing import sign, unsign

_SALT = "notifier.widget-token.v1"

#: Default and longest lifetime of a token, in seconds (the shortest is the
#: setting ``WIDGET_TOKEN_MIN_TTL``).
DEFAULT_TTL = 15 * 60
MAX_TTL = 24 * 3600


@dataclass(frozen=True)
class WidgetToken:
    """What a well-signed token grants (until ``expires_at``)."""

    user_id: str
    expires_at: float
    origins: tuple[str, ...] = ()
    #: When it was minted (epoch ms; 0 for tokens minted before this was recorded).
    issued_at: int = 0
    #: The API key that minted it: revoking the key revokes the token.
    key_id: str | None = None

    @property
    def expired(self) -> bool:
        """Whether its lifetime is over."""
        return self.expires_at <= time.time()


def mint(secret_key: str, user_id: str, ttl_seconds: float,
         origins: tuple[str, ...] | list[str] = (), *,
         key_id: str | None = None) -> tuple[str, WidgetToken]:
    """A token for ``user_id`` valid ``ttl_seconds`` from now, from ``origins``
    (already in the form :func:`notifier.core.origins.parse_origin` gives), minted by the
    API key ``key_id``."""
    now = time.time()
    grant = WidgetToken(user_id, round(now + ttl_seconds, 3), tuple(origins),
                        issued_at=int(now * 1000), key_id=key_id)
    claims: dict = {"u": user_id, "e": grant.expires_at, "i": grant.issued_at}
    if grant.origins:
        claims["o"] = list(grant.origins)
    if key_id:
        claims["k"] = key_id
    return sign(secret_key, _SALT, claims), grant


def read(secret_key: str, token: str) -> WidgetToken | None:
    """The grant of a well-signed token, expired or not; None when forged or malformed."""
    claims = unsign(secret_key, _SALT, token)
    if not isinstance(claims, dict):
        return None
    user_id, expires_at, origins = claims.get("u"), claims.get("e"), claims.get("o", [])
    issued_at, key_id = claims.get("i", 0), claims.get("k")
    if not is_user_id(user_id) or not isinstance(expires_at, int | float):
        return None
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        return None
    if not isinstance(issued_at, int) or not (key_id is None or is_api_key_id(key_id)):
        return None
    return WidgetToken(user_id, float(expires_at), tuple(origins), issued_at=issued_at,
                       key_id=key_id)


def verify(secret_key: str, token: str) -> WidgetToken | None:
    """The grant of a well-signed, unexpired token, else None."""
    grant = read(secret_key, token)
    if grant is None or grant.expired:
        return None
    return grant
