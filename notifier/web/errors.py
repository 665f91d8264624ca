"""The app's error answers: JSON under ``/api/`` (:mod:`notifier.core.errors`), pages
elsewhere, for errors Flask raises itself (unknown route, wrong method, body too large)
and for Redis being unreachable (503 with Retry-After)."""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from notifier.core.errors import RETRY_AFTER, ApiError, api_error_response, error_response

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _api_message(exc: HTTPException) -> str:
    """What the API says for an error Flask raised: the route, the methods, the limit."""
    if isinstance(exc, NotFound):
        return (f"No such API route: {request.method} {request.path} (the routes are in "
                "/api/v1/openapi.json).")
    if isinstance(exc, MethodNotAllowed):
        allowed = ", ".join(m for m in exc.valid_methods or () if m not in ("HEAD", "OPTIONS"))
        return f"{request.path} does not take {request.method}; it takes {allowed}."
    if isinstance(exc, RequestEntityTooLarge):
        limit = request.max_content_length
        size = request.content_length
        told = f"The body is {size} bytes; " if size else "The body is too large; "
        return told + (f"this route takes at most {limit} bytes." if limit else
                       "send a smaller one.")
    return exc.description or exc.name


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return api_error_response(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.response is not None:  # a ready answer, e.g. the sign-in page's 429
            return exc.response
        if _wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            response = error_response(exc.code or 500, code, _api_message(exc))
            for name in ("Allow", "Retry-After", "WWW-Authenticate"):
                if exc.get_response().headers.get(name):
                    response.headers[name] = exc.get_response().headers[name]
            return response
        return render_template("error.html", error=exc), exc.code

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    @app.errorhandler(redis.exceptions.ClusterDownError)
    @app.errorhandler(redis.exceptions.MasterDownError)
    @app.errorhandler(redis.exceptions.RedisClusterException)
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
