"""One-click unsubscribe links for email (RFC 8058): signed tokens naming a user and types.

A token turns email off for its notification types for its user, and nothing
else, so it may travel in a mail header. It is signed with the app's secret key
(itsdangerous) and does not expire: an unsubscribe link in an old email must
still work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from notifier.core.ids import is_user_id
from notifier.core.signing import sign, unsign

_SALT = "notifier.unsubscribe.v1"
_TYPE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
#: Most types one link turns off (a digest names each of its types).
MAX_TYPES = 20


@dataclass(frozen=True)
class Unsubscribe:
    """What a valid token asks: stop emails of these types to this user."""

    user_id: str
    types: tuple[str, ...]


def mint(secret_key: str, user_id: str, types: Iterable[str]) -> str:
    """A token that turns email off for ``types`` for ``user_id``."""
    chosen = sorted(set(types))[:MAX_TYPES]
    return sign(secret_key, _SALT, {"u": user_id, "t": chosen})


def verify(secret_key: str, token: str) -> Unsubscribe | None:
    """What a well-signed token asks, else None."""
    claims = unsign(secret_key, _SALT, token)
    if not isinstance(claims, dict):
        return None
    user_id, types = claims.get("u"), claims.get("t")
    if not is_user_id(user_id) or not isinstance(types, list) or not types:
        return None
    if len(types) > MAX_TYPES or not all(isinstance(t, str) and _TYPE.fullmatch(t)
                                         for t in types):
        return None
    return Unsubscribe(user_id, tuple(types))


def email_switches(types: Iterable[str]) -> dict[str, str]:
    """The preference fields that turn email off for ``types`` (``ch:<type>:email`` = 0)."""
    return {f"ch:{t}:email": "0" for t in types}
