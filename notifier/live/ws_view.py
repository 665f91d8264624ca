"""``GET /ws``: a user's live events over a WebSocket, and their reads and acks back.

The same stream as ``GET /events`` (:class:`notifier.live.stream.LiveStream`, one
implementation behind both transports) with the same access checks, filters and
resume (``?last_event_id=``), sent as one JSON text message per event
(:mod:`notifier.live.ws_protocol`). flask-sock (simple-websocket) does the handshake and
framing under gunicorn's gevent worker; the access checks run before the
handshake, so a refusal is a plain HTTP 401, 403 or 422.

Each socket has two greenlets: one sends the stream's events, one answers the
client's messages. Whichever ends first ends the other: a client that goes away
is noticed at once (its read returns), which frees its hub subscription.
"""

from __future__ import annotations

import logging
import time

import gevent
import gevent.lock
import redis
from flask import Blueprint, Flask, current_app, g, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from notifier.api.inbox import mark_read_as_asked
from notifier.api.limiter import spend_widget_budget
from notifier.backend import backend
from notifier.core.errors import ApiError, error_response
from notifier.live.access import StreamAccess, authenticate, stream_filter
from notifier.live.runtime import runtime
from notifier.live.sse_view import stream_settings
from notifier.live.stream import LiveStream
from notifier.live.ws_protocol import (
    CLOSE_EVICTED,
    CLOSE_REVOKED,
    CLOSE_SERVICE_RESTART,
    CLOSE_TOKEN_EXPIRED,
    CLOSE_TRY_AGAIN_LATER,
    MAX_FRAME_BYTES,
    AckMessage,
    EventMessages,
    PingMessage,
    ReadMessage,
    ReadThreadMessage,
    error_reply,
    message_ref,
    parse_client_message,
    reply,
)

log = logging.getLogger(__name__)

bp = Blueprint("websocket", __name__)
sock = Sock()

#: How a stream that ended by itself closes its socket (LiveStream.ended).
_CLOSE = {
    "expired": (CLOSE_TOKEN_EXPIRED, "token expired"),
    "shutdown": (CLOSE_SERVICE_RESTART, "service restart"),
    "outage": (CLOSE_TRY_AGAIN_LATER, "try again later"),
    "revoked": (CLOSE_REVOKED, "revoked"),
    "evicted": (CLOSE_EVICTED, "too many streams"),
}


def init_app(app: Flask) -> None:
    """Serve ``/ws`` on ``app``; the socket pings at the stream heartbeat's interval."""
    app.config["SOCK_SERVER_OPTIONS"] = {
        # Pings keep proxies from cutting an idle socket, and a peer that answers
        # none by the next one is closed (simple-websocket does both).
        "ping_interval": app.config["SSE_HEARTBEAT"],
        "max_message_size": MAX_FRAME_BYTES,
    }
    app.register_blueprint(bp)


@bp.before_request
def _admit():
    """Refuse before the handshake: no valid session or token, a refused origin, bad filters."""
    # No permessage-deflate (simple-websocket accepts any offer, and browsers always
    # make one): a compressor per socket took a worker from 66 to 157 KB per open socket
    # (measured, 2,000 sockets), for messages of a few hundred bytes.
    request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
    try:
        g.stream_access = authenticate(same_origin_session=True)
        g.stream_filter = stream_filter()
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.field)
    except (redis.ConnectionError, redis.TimeoutError):
        response = error_response(503, "unavailable", "The session store is unreachable; "
                                  "try again shortly.")
        response.headers["Retry-After"] = str(current_app.config["SSE_RETRY_MS"] // 1000 + 1)
        return response
    return None


class WholeWrites:
    """A client socket whose writes go out whole, one writer at a time.

    simple-websocket 1.1 writes each frame with one ``socket.send``, which under
    gevent may take only part of it when a slow client's buffer is nearly full
    (simple-websocket issue #45); and a socket's frames come from two greenlets
    here (events, replies) plus the library's own (pongs), which must not interleave.
    """

    def __init__(self, raw):
        self._raw = raw
        self._lock = gevent.lock.Semaphore()

    def send(self, data: bytes) -> int:
        with self._lock:
            self._raw.sendall(data)
        return len(data)

    def __getattr__(self, name: str):
        return getattr(self._raw, name)


@sock.route("/ws", bp=bp)
def socket_events(ws) -> None:
    """Send the user's live events over the socket; answer their pings, reads and acks."""
    ws.sock = WholeWrites(ws.sock)
    access: StreamAccess = g.stream_access
    stream = LiveStream(
        user_id=access.user_id, feed=backend().feed, hub=runtime().hub, settings=stream_settings(),
        cursor=request.args.get("last_event_id") or None, stream_filter=g.stream_filter,
        expires_at=access.expires_at, credential=access.credential, caps=runtime().caps,
        address=request.remote_addr,
    )
    sender = gevent.spawn(_send_events, ws, stream)
    answerer = gevent.spawn(_answer_client, current_app._get_current_object(), ws, access)
    try:
        gevent.wait([sender, answerer], count=1)
    finally:
        # Killing the sender ends its LiveStream, which unsubscribes it from the hub.
        answerer.kill()
        sender.kill()
    if answerer.exception is not None:
        log.error("answering the socket of %s failed", access.user_id,
                  exc_info=answerer.exception)
    if ws.connected:
        # Also when the hub cut off a client that fell behind: it comes back and replays.
        code, reason = _CLOSE.get(stream.ended, (CLOSE_TRY_AGAIN_LATER, "try again later"))
        try:
            ws.close(code, reason)
        except (ConnectionClosed, OSError):
            log.debug("the socket of %s closed first", access.user_id)


def _send_events(ws, stream: LiveStream) -> None:
    """Send the stream's events until it ends, or the client goes away."""
    encoder = EventMessages()
    chunks = iter(stream)
    try:
        for chunk in chunks:
            for message in encoder.messages(chunk):
                ws.send(message)
    except (ConnectionClosed, OSError):
        return
    finally:
        chunks.close()  # unsubscribes now, even when a send failed or this greenlet was killed


def _answer_client(app: Flask, ws, access: StreamAccess) -> None:
    """Answer each of the client's messages until it goes away."""
    with app.app_context():
        while True:
            try:
                text = ws.receive()
            except ConnectionClosed:
                return
            try:
                ws.send(_answer(text, access))
            except (ConnectionClosed, OSError):
                return


def _answer(text: str | bytes, access: StreamAccess) -> str:
    """The reply to one client message."""
    ref = None
    try:
        message = parse_client_message(text)
        ref = message.ref
        if isinstance(message, PingMessage):
            return reply("pong", ref)
        if access.expires_at is not None and time.time() >= access.expires_at:
            raise ApiError(401, "token_expired", "The widget token expired: reconnect with "
                           "a new one.")
        spend_widget_budget(access.user_id)
        if isinstance(message, ReadMessage):
            marked, unread = mark_read_as_asked(access.user_id, message)
            return reply("read", ref, marked=marked, unread=unread)
        if isinstance(message, ReadThreadMessage):
            marked, unread = backend().inbox.mark_thread_read(access.user_id, message.thread)
            return reply("read", ref, marked=marked, unread=unread)
        ack: AckMessage = message
        return reply("ack", ref, seen=backend().receipts.seen(access.user_id, ack.ids))
    except ApiError as exc:
        return error_reply(exc, ref if ref is not None else message_ref(text))
    except (redis.ConnectionError, redis.TimeoutError):
        return error_reply(ApiError(503, "unavailable", "The notification store is "
                                    "unreachable; try again shortly."), ref)
