"""``GET /events``: a user's notifications as Server-Sent Events."""

from __future__ import annotations

import redis
from flask import Blueprint, Response, current_app, request

from notifier.api import widget_access
from notifier.backend import backend
from notifier.core.errors import ApiError, error_response
from notifier.live import sse
from notifier.live.access import authenticate, stream_filter
from notifier.live.runtime import runtime
from notifier.live.socket_writer import SocketWriter
from notifier.live.stream import LiveStream, StreamSettings

bp = Blueprint("events", __name__)

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def stream_settings() -> StreamSettings:
    """The configured timings of a live stream."""
    config = current_app.config
    return StreamSettings(heartbeat=config["SSE_HEARTBEAT"], retry_ms=config["SSE_RETRY_MS"])


def come_back_later() -> Response:
    """200 with a retry hint: an EventSource gives up for good on a 5xx."""
    body = sse.frame(retry=current_app.config["SSE_RETRY_MS"] * 2)
    return Response(body, mimetype="text/event-stream", headers=HEADERS)


@bp.get("/events")
def stream():
    """Stream the signed-in user's (or the token's user's) notifications, live."""
    by_token = "token" in request.args
    try:
        access = authenticate()
    except (redis.ConnectionError, redis.TimeoutError):
        return come_back_later()
    except ApiError as exc:
        # A refused origin gets a 403, which also stops its EventSource for good.
        response = error_response(exc.status, exc.code, exc.message)
        return widget_access.add_cors_headers(response) if by_token else response
    try:
        shown = stream_filter()
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.field)
    events = LiveStream(
        user_id=access.user_id, feed=backend().feed, hub=runtime().hub, settings=stream_settings(),
        cursor=request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or None,
        stream_filter=shown, expires_at=access.expires_at, credential=access.credential,
        caps=runtime().caps, address=request.remote_addr,
        # gunicorn's gevent worker names it gunicorn.socket; its pywsgi worker, gunicorn.sock.
        client_socket=(request.environ.get("gunicorn.socket")
                       or request.environ.get("gunicorn.sock")),
        writer=(SocketWriter.for_request(request.environ)
                if current_app.config["SSE_DIRECT_WRITES"] else None),
    )
    # Frames are bytes already: pass them straight to the server, without werkzeug's
    # encoding wrapper (a generator layer less on every idle stream's saved stack).
    response = Response(iter(events), mimetype="text/event-stream", headers=HEADERS,
                        direct_passthrough=True)
    return widget_access.add_cors_headers(response) if by_token else response
