"""JSON errors of the HTTP API: ``{"error": {"code", "message", "field"?}}``.

Every failure under ``/api/`` answers in this shape with its proper status
(:mod:`notifier.web.errors` installs the handlers for the ones Flask and Redis raise).
"""

from __future__ import annotations

import logging

from flask import Response, jsonify
from pydantic import ValidationError

log = logging.getLogger(__name__)

#: Seconds a client is told to wait when Redis is unreachable.
RETRY_AFTER = 5


class ApiError(Exception):
    """An error answered to the API client as JSON."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None, *,
                 retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        #: Seconds to wait before trying again (sent as Retry-After).
        self.retry_after = retry_after


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    """The JSON error response."""
    error = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    response = jsonify(error=error)
    response.status_code = status
    return response


def field_path(loc: tuple[str | int, ...]) -> str:
    """``("notifications", 3, "title")`` as ``notifications[3].title``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def from_validation_error(exc: ValidationError, root_field: str | None = None) -> ApiError:
    """The first problem pydantic found, naming its field."""
    first = exc.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return ApiError(400, "invalid_json", f"The body is not valid JSON: {first['msg']}")
    field = field_path(first["loc"]) or root_field
    if first["type"] == "extra_forbidden":
        return ApiError(422, "unknown_field", f"Unknown field {field!r}.", field)
    if first["type"] in ("model_type", "model_attributes_type") and not first["loc"]:
        return ApiError(422, "invalid_body", "The body must be a JSON object.")
    message = first["msg"].removeprefix("Value error, ")
    return ApiError(422, "invalid_field", f"{field}: {message}" if field else message, field)
