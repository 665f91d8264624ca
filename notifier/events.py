"""``GET /events``: a user's notifications as Server-Sent Events."""

from __future__ import annotations

import redis
from flask import Blueprint, Response, current_app, request

from . import sse, widget_access
from .api_errors import ApiError, error_response
from .backend import backend
from .hub import Hub
from .live_stream import LiveStream, StreamSettings
from .socket_writer import SocketWriter
from .stream_access import authenticate, stream_filter

bp = Blueprint("events", __name__)

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
                  wake_interval=min(1.0, config["SSE_HEARTBEAT"] / 4),
                  streams_per_address=config["STREAMS_PER_ADDRESS"])
        hub.control_listeners.append(state.api_keys.on_control)
        current_app.extensions["notifier.hub"] = hub
    return hub


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
        user_id=access.user_id, feed=backend().feed, hub=get_hub(), settings=stream_settings(),
        cursor=request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or None,
        stream_filter=shown, expires_at=access.expires_at, credential=access.credential,
        caps=backend().stream_caps, address=request.remote_addr,
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
