"""``GET /admin/events``: the overview's figures, live, as Server-Sent Events.

One loop per open admin page, on the request's greenlet: every stats interval
it reads the worker reports, Redis's INFO and the first page of online users
(three round trips), sends a ``stats`` event, and a ``presence`` event when who
is online changed. It holds no Redis connection between reads and subscribes
to nothing, so an idle console costs nothing and an open one costs three short
calls a second. It ends when the client goes away, when the worker stops, and
when the session stops being an admin's (checked every heartbeat interval).
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import redis
from flask import Flask, Response, current_app, request
from flask_login import current_user

from notifier.admin.console import stream_view
from notifier.admin.stats import RateTracker, presence_payload, stats_payload
from notifier.backend import Backend, backend
from notifier.live import sse
from notifier.live.sse_view import HEADERS
from notifier.live.stream import client_gone

log = logging.getLogger(__name__)

_STOP = "notifier.admin_streams_stop"


@dataclass(frozen=True)
class AdminStreamSettings:
    """Timings of an admin stream."""

    #: Seconds between two reads (the workers report this often).
    interval: float = 1.0
    #: Longest silence (a ``: ping`` fills it) and the time between checks that
    #: the session is still an admin's.
    heartbeat: float = 15.0
    retry_ms: int = 3000


class AdminStream:
    """The events of one admin page, as an iterator of SSE bytes."""

    def __init__(self, *, state: Backend, session_id: str, settings: AdminStreamSettings,
                 stop: threading.Event, client_socket: socket.socket | None = None):
        self.state = state
        self.session_id = session_id
        self.settings = settings
        self.stop = stop
        self.client_socket = client_socket

    def __iter__(self) -> Iterator[bytes]:
        settings = self.settings
        tracker = RateTracker()
        last_presence = None
        read_at = time.monotonic()
        recheck_at = read_at + settings.heartbeat
        try:
            yield sse.frame(retry=settings.retry_ms) + sse.comment("connected")
            while True:
                if time.monotonic() >= read_at:
                    read_at = time.monotonic() + settings.interval
                    frames = [sse.json_frame("stats", stats_payload(
                        self.state.worker_reports, self.state.redis, tracker))]
                    presence = presence_payload(self.state.presence)
                    if presence != last_presence:
                        frames.append(sse.json_frame("presence", presence))
                        last_presence = presence
                    yield b"".join(frames)
                else:  # an interval longer than the heartbeat: keep proxies from cutting us
                    yield sse.comment("ping")
                wait = min(settings.heartbeat, max(0.0, read_at - time.monotonic()))
                # An Event, not a sleep: the worker's shutdown wakes every stream at once.
                if self.stop.wait(wait):
                    yield sse.frame(retry=random.randint(500, 5000))
                    return
                if client_gone(self.client_socket):
                    return
                if time.monotonic() >= recheck_at:
                    if not self._still_admin():
                        return  # the reconnect gets 403, which ends the EventSource
                    recheck_at = time.monotonic() + settings.heartbeat
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.info("admin stream ends during an outage: %s", exc)
            yield sse.frame(retry=settings.retry_ms + random.randint(0, 2000))

    def _still_admin(self) -> bool:
        account = self.state.accounts.load_session(self.session_id)
        return account is not None and account.is_admin


def _stop_event(app: Flask) -> threading.Event:
    # Made on first use, in the worker (after gevent's monkey-patching, when served).
    return app.extensions.setdefault(_STOP, threading.Event())


def close_streams(app: Flask) -> None:
    """End every admin stream of this worker (it is shutting down)."""
    _stop_event(app).set()


@stream_view
def overview_events():
    """Stream the overview's figures: ``stats`` every interval, ``presence`` on change."""
    config = current_app.config
    stream = AdminStream(
        state=backend(), session_id=current_user.get_id(),
        settings=AdminStreamSettings(interval=float(config["STATS_INTERVAL"]),
                                     heartbeat=float(config["SSE_HEARTBEAT"]),
                                     retry_ms=config["SSE_RETRY_MS"]),
        stop=_stop_event(current_app._get_current_object()),
        client_socket=(request.environ.get("gunicorn.socket")
                       or request.environ.get("gunicorn.sock")),
    )
    return Response(iter(stream), mimetype="text/event-stream", headers=HEADERS,
                    direct_passthrough=True)
