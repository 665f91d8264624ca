"""A request id for every request: the one a trusted proxy sent in ``X-Request-ID``, or
a new one; returned in the response's ``X-Request-ID`` and put on every log line written
while the request is handled (:class:`~notifier.core.log_format.RequestIdFilter`)."""

from __future__ import annotations

import contextlib
import re
import secrets

from flask import Flask, g, request

from notifier.core.log_format import REQUEST_ID

#: What a proxy's id may look like: nginx's ``$request_id`` (32 hex digits), UUIDs and
#: the like; anything else (a line break that could forge a log line, say) is replaced.
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:+=/-]{1,128}$")

HEADER = "X-Request-ID"


def accepted(sent: str | None) -> str | None:
    """``sent`` when it is a well-formed request id, else None."""
    return sent if sent and _ACCEPTED.fullmatch(sent) else None


def new_request_id() -> str:
    """A fresh id: 32 hex digits, as nginx's ``$request_id``."""
    return secrets.token_hex(16)


def init_app(app: Flask) -> None:
    """Give every request of ``app`` its id. ``X-Request-ID`` is taken from the request
    only behind a trusted proxy (``TRUSTED_PROXIES``), which must set or replace it."""
    trusted = bool(app.config["TRUSTED_PROXIES"])

    @app.before_request
    def take_request_id() -> None:
        request_id = (accepted(request.headers.get(HEADER)) if trusted else None) \
            or new_request_id()
        g.request_id = request_id
        g.request_id_token = REQUEST_ID.set(request_id)

    @app.after_request
    def give_request_id(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers[HEADER] = request_id
        return response

    @app.teardown_request
    def forget_request_id(exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            # Set in another context (a stream's greenlet, say): nothing to undo here.
            with contextlib.suppress(ValueError):
                REQUEST_ID.reset(token)
