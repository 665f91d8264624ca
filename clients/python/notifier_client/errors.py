"""Errors the client raises: the API's JSON errors, and giving up on an unreachable server."""

from __future__ import annotations


class NotifierError(Exception):
    """An error answer of the API: ``{"error": {"code", "message", "field"?, "errors"?}}``.

    ``status`` is the HTTP status, ``code`` the API's error code (``invalid_field``,
    ``not_found``, ``rate_limited`` ...), ``field`` the offending field when the API
    named one (``title``, ``notifications[2].user_id``); ``errors`` every problem of an
    invalid body, each ``{"field", "code", "message"}`` (empty for other errors).
    """

    def __init__(self, status: int | None, code: str, message: str,
                 field: str | None = None, *, retry_after: float | None = None,
                 errors: list[dict] | None = None):
        super().__init__(f"{status or 'no answer'} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        #: Seconds the server asked to wait (429 and 503 answers), else None.
        self.retry_after = retry_after
        #: Every problem of an invalid body, the first being code, message and field.
        self.errors = list(errors or ())


class NotifierConnectionError(NotifierError):
    """No answer from the server after the retries the policy allows (``status`` None)."""

    def __init__(self, message: str):
        super().__init__(None, "connection_error", message)
