"""Values signed with the app's secret key, for URLs and cookies: one way to sign them
and one way to read them back (itsdangerous, each purpose under its own salt)."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadData, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer


class Expired(Exception):
    """A well-signed, timed value older than it may be."""


def sign(secret: str, salt: str, value: Any, *, timed: bool = False) -> str:
    """``value`` (JSON-able) signed for ``salt``; ``timed`` also signs when, for a reader
    that limits the age."""
    serializer = URLSafeTimedSerializer if timed else URLSafeSerializer
    return serializer(secret, salt=salt).dumps(value)


def unsign(secret: str, salt: str, token: str, *, max_age: float | None = None) -> Any:
    """The value ``token`` carries if it was signed with ``secret`` for ``salt``, else
    None; with ``max_age`` (seconds, for timed values) :class:`Expired` when it is older."""
    try:
        if max_age is None:
            return URLSafeSerializer(secret, salt=salt).loads(token)
        return URLSafeTimedSerializer(secret, salt=salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise Expired(token) from None
    except BadData:
        return None
