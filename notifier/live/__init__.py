"""Live delivery to browsers: the per-worker hub, streams, their wire protocols and views.

:func:`init_app` serves ``/events`` and ``/ws`` and gives the app its
:class:`~notifier.live.runtime.WorkerRuntime`, the owner of every per-worker greenlet.
"""

from __future__ import annotations

from flask import Flask

from notifier.backend import backend
from notifier.live import sse_view, ws_view
from notifier.live.runtime import WorkerRuntime


def init_app(app: Flask) -> None:
    """Serve the event stream and the WebSocket on ``app``, with the worker's runtime."""
    with app.app_context():
        app.extensions["notifier.live"] = WorkerRuntime(app, backend())
    app.register_blueprint(sse_view.bp)
    ws_view.init_app(app)
