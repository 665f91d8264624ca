"""One worker's long-lived greenlets, owned in one place: the hub, the heartbeat and the
scheduler.

gunicorn's worker hooks call :meth:`WorkerRuntime.start` once the worker runs and
:meth:`WorkerRuntime.stop` when it is told to stop (``gunicorn.conf.py``); nothing
starts at import time or in ``create_app``. The hub also starts by itself when a
stream opens first (under ``flask run``, or in tests that serve the app otherwise).
"""

from __future__ import annotations

from collections.abc import Callable

import gevent
from flask import Flask, current_app

from notifier.backend import Backend
from notifier.live.caps import CapsRecorder
from notifier.live.heartbeat import Heartbeat
from notifier.live.hub import Hub
from notifier.scheduling.scheduler import start_in_worker
from notifier.stores.preference_cache import PreferenceCache


class WorkerRuntime:
    """The hub, heartbeat and scheduler greenlets of one worker process's app."""

    def __init__(self, app: Flask, state: Backend):
        self.app = app
        self.state = state
        self._hub: Hub | None = None
        self._caps: CapsRecorder | None = None
        self.heartbeat: Heartbeat | None = None
        self.scheduler: gevent.Greenlet | None = None
        #: Called by :meth:`stop`, after the streams are told to end (e.g. the admin
        #: console's own streams); each must not block.
        self.on_stop: list[Callable[[], None]] = []

    @property
    def started(self) -> bool:
        """Whether :meth:`start` ran."""
        return self.heartbeat is not None

    @property
    def hub(self) -> Hub:
        """The worker's hub: its one Pub/Sub connection, started on first use."""
        if self._hub is None:
            config = self.app.config
            self._hub = Hub(self.state.redis_url, self.state.keys,
                            queue_size=config["SSE_QUEUE_SIZE"],
                            ping_interval=config["SSE_HUB_PING"],
                            setup_concurrency=config["SSE_SETUP_CONCURRENCY"],
                            wake_interval=min(1.0, config["SSE_HEARTBEAT"] / 4),
                            streams_per_address=config["STREAMS_PER_ADDRESS"])
            self._hub.control_listeners.append(self.state.api_keys.on_control)
            self._hub.control_listeners.append(self.state.types.on_control)
            self._hub.control_state_listeners.append(self.state.types.on_control_state)
            size = config["PREFERENCES_CACHE_SIZE"]
            if size > 0:  # the hub keeps the worker's copy of preferences true
                cache = self.state.preferences.cache = PreferenceCache(size)
                self._hub.control_listeners.append(cache.on_control)
                self._hub.control_state_listeners.append(
                    lambda heard: cache.start() if heard else cache.stop())
        return self._hub

    @property
    def caps(self) -> CapsRecorder:
        """Where the worker's streams note their opens and closes for the per-user cap."""
        if self._caps is None:
            self._caps = CapsRecorder(self.state.stream_caps)
        return self._caps

    def start(self, stopping: Callable[[], bool]) -> None:
        """Start the hub and heartbeat, and the scheduler unless ``SCHEDULER`` is false;
        ``stopping()`` tells the scheduler when to finish."""
        if self.started:
            return
        self.heartbeat = Heartbeat(hub=self.hub, presence=self.state.presence,
                                   reports=self.state.worker_reports,
                                   stats_interval=self.app.config["STATS_INTERVAL"])
        self.heartbeat.start()
        if self.app.config["SCHEDULER"]:
            self.scheduler = start_in_worker(self.app, stopping)

    def stop(self) -> None:
        """Stop the heartbeat and end every open stream (each gets a ``retry:`` and its
        browser reconnects to another worker)."""
        if self.heartbeat is not None:
            self.heartbeat.stop()
        if self._hub is not None:
            self._hub.close_streams()
        for callback in self.on_stop:
            callback()


def runtime(app: Flask | None = None) -> WorkerRuntime:
    """The runtime of ``app`` (default: the current app)."""
    return (app or current_app).extensions["notifier.live"]
