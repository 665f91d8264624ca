"""JSON errors of the HTTP API: ``{"error": {"code", "message", "field"?}}``.

Every failure under ``/api/`` answers in this shape with its proper status,
including the ones Flask raises itself (unknown route, wrong method, body too
large) and Redis being unreachable (503 with Retry-After).
"""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, jsonify, render_template, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from .schemas import field_path

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


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        response = error_response(exc.status, exc.code, exc.message, exc.field)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.response is not None:  # a ready answer, e.g. the sign-in page's 429
            return exc.response
        if _wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            response = error_response(exc.code or 500, code, exc.description or exc.name)
            for name in ("Allow", "Retry-After", "WWW-Authenticate"):
                if exc.get_response().headers.get(name):
                    response.headers[name] = exc.get_response().headers[name]
            return response
        return render_template("error.html", error=exc), exc.code

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    def _redis_down(exc: Exception):
        log.error("Redis unreachable: %s", exc)
        if _wants_json():
            response = error_response(
                503, "unavailable", "The notification store is unreachable; try again shortly."
            )
        else:
            response = Response(render_template("unavailable.html"), status=503)
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return error_response(500, "internal_error", "Something went wrong on our side.")
        return render_template("error.html", error=None), 500
