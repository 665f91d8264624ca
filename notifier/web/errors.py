"""The app's error answers: JSON under ``/api/`` (:mod:`notifier.core.errors`), pages
elsewhere, for errors Flask raises itself (unknown route, wrong method, body too large)
and for Redis being unreachable (503 with Retry-After)."""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from notifier.core.errors import RETRY_AFTER, ApiError, error_response

log = logging.getLogger(__name__)


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
