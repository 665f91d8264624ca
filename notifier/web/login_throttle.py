"""Sign-in throttling that limits guessing without locking anyone out.

Failed sign-ins are counted per username and client (``LOGIN_LIMIT_PER_CLIENT``): a
client that guesses wrong too often waits, while the account's owner signs in from
elsewhere. A client is its IP address, or, once it has signed in to that username, its
device cookie: a signed, HttpOnly cookie naming the username and a random nonce. Two
backstops count unknown clients only: failures per username from everywhere
(``LOGIN_LIMIT_PER_ACCOUNT``) and per IP address (``LOGIN_LIMIT_PER_IP``), so an attack
from many addresses slows down without shutting out a known client.
"""

from __future__ import annotations

import math
import secrets
import time

from flask import Response, current_app, g, request
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address

from notifier.core.signing import Expired, sign, unsign

#: The device cookie's name; it is sent only to the sign-in page.
DEVICE_COOKIE = "notifier_device"
_SALT = "notifier.device-cookie"


def attempted_username() -> str:
    """The username the request tries to sign in to, as it is counted (lowercased)."""
    return (request.form.get("username") or "").strip().lower()[:64]


def known_device() -> str | None:
    """The nonce of the request's device cookie if it was issued for the username being
    tried, else None."""
    if "device_nonce" not in g:
        g.device_nonce = None
        raw = request.cookies.get(DEVICE_COOKIE)
        if raw:
            max_age = int(current_app.config["DEVICE_COOKIE_DAYS"]) * 86400
            try:
                data = unsign(current_app.secret_key, _SALT, raw, max_age=max_age)
            except Expired:
                data = None
            if isinstance(data, dict) and data.get("u") == attempted_username() \
                    and isinstance(data.get("n"), str):
                g.device_nonce = data["n"]
    return g.device_nonce


def remember_device(response: Response, username: str) -> None:
    """Give the client a device cookie for ``username`` after a successful sign-in."""
    value = sign(current_app.secret_key, _SALT,
                 {"u": username.strip().lower(), "n": secrets.token_urlsafe(12)}, timed=True)
    response.set_cookie(
        DEVICE_COOKIE, value, max_age=int(current_app.config["DEVICE_COOKIE_DAYS"]) * 86400,
        path="/login", httponly=True, samesite="Lax",
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]) or request.is_secure)


def client_key() -> str:
    """The per-client counter: username and device cookie, or username and IP address."""
    nonce = known_device()
    client = f"device:{nonce}" if nonce else f"ip:{get_remote_address()}"
    return f"login-client:{attempted_username()}|{client}"


def account_key() -> str:
    """The backstop counter of the username over all unknown clients."""
    return "login-account:" + attempted_username()


def is_known_device() -> bool:
    """Whether the request carries a device cookie for the username it tries."""
    return known_device() is not None


def retry_after(limit: RequestLimit) -> int:
    """Whole seconds until ``limit`` lets a request through again (at least 1)."""
    return max(1, math.ceil(limit.reset_at - time.time()))


def wait_text(seconds: int) -> str:
    """``seconds`` for people: "45 seconds", "1 minute", "15 minutes"."""
    if seconds < 60:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes = max(1, round(seconds / 60))  # the limiter's whole-second clock may add 1 s
    return f"{minutes} minute{'' if minutes == 1 else 's'}"
