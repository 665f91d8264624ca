"""``GET /events``: a user's notifications as Server-Sent Events."""

from __future__ import annotations

import re

import redis
from flask import Blueprint, Response, current_app, request
from flask_login import current_user

from . import sse, widget_access
from .api_errors import ApiError, error_response
from .backend import backend
from .hub import PRIORITY_RANK, Hub
from .live_stream import LiveStream, StreamFilter, StreamSettings
from .schemas import PRIORITIES

bp = Blueprint("events", __name__)

_TYPE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def get_hub() -> Hub:
    """This worker's hub, started on the first stream."""
    hub = current_app.extensions.get("notifier.hub")
    if hub is None:
        config = current_app.config
        state = backend()
        hub = Hub(state.redis_url, state.keys, queue_size=config["SSE_QUEUE_SIZE"],
                  ping_interval=config["SSE_HUB_PING"],
                  setup_concurrency=config["SSE_SETUP_CONCURRENCY"],
                  wake_interval=min(1.0, config["SSE_HEARTBEAT"] / 4))
        current_app.extensions["notifier.hub"] = hub
    return hub


def come_back_later() -> Response:
    """200 with a retry hint: an EventSource gives up for good on a 5xx."""
    body = sse.frame(retry=current_app.config["SSE_RETRY_MS"] * 2)
    return Response(body, mimetype="text/event-stream", headers=HEADERS)


def _filter() -> StreamFilter | Response:
    types = request.args.get("types")
    wanted = None
    if types is not None:
        wanted = frozenset(t for t in types.split(",") if t)
        if not wanted or len(wanted) > 20 or not all(_TYPE.match(t) for t in wanted):
            return error_response(422, "invalid_field", "types must be a comma-separated "
                                  "list of up to 20 type slugs", "types")
    minimum = request.args.get("min_priority", "low")
    if minimum not in PRIORITIES:
        return error_response(422, "invalid_field", "min_priority must be one of "
                              + ", ".join(PRIORITIES), "min_priority")
    return StreamFilter(wanted, PRIORITY_RANK[minimum])


@bp.get("/events")
def stream():
    """Stream the signed-in user's (or the token's user's) notifications, live."""
    expires_at = None
    token = request.args.get("token")
    if token is not None:
        # A refused origin gets a 403, which also stops its EventSource for good.
        try:
            grant = widget_access.authorize(token)
        except ApiError as exc:
            message = "The token is invalid or expired." if exc.status == 401 else exc.message
            return widget_access.add_cors_headers(
                error_response(exc.status, exc.code, message))
        user_id, expires_at = grant.user_id, grant.expires_at
    else:
        try:
            signed_in = current_user.is_authenticated
        except (redis.ConnectionError, redis.TimeoutError):
            return come_back_later()
        if not signed_in:
            return error_response(401, "unauthorized", "Sign in, or pass a token.")
        user_id = current_user.user_id
    stream_filter = _filter()
    if isinstance(stream_filter, Response):
        return stream_filter
    config = current_app.config
    events = LiveStream(
        user_id=user_id, feed=backend().feed, hub=get_hub(),
        settings=StreamSettings(heartbeat=config["SSE_HEARTBEAT"], retry_ms=config["SSE_RETRY_MS"]),
        cursor=request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or None,
        stream_filter=stream_filter, expires_at=expires_at,
        # gunicorn's gevent worker names it gunicorn.socket; its pywsgi worker, gunicorn.sock.
        client_socket=(request.environ.get("gunicorn.socket")
                       or request.environ.get("gunicorn.sock")),
    )
    # Frames are bytes already: pass them straight to the server, without werkzeug's
    # encoding wrapper (a generator layer less on every idle stream's saved stack).
    response = Response(iter(events), mimetype="text/event-stream", headers=HEADERS,
                        direct_passthrough=True)
    return widget_access.add_cors_headers(response) if token is not None else response
