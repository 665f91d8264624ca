"""Admin console, Overview: who is online, each worker's streams and rates, Redis.

The page is complete without JavaScript (rates need two reads, so they show as
unknown); ``static/admin-overview.js`` then keeps it current from
``GET /admin/events`` (:mod:`notifier.admin.events`) and draws the chart.
"""

from __future__ import annotations

from flask import current_app, render_template

from notifier.admin.stats import (
    PRESENCE_LIST,
    RateTracker,
    presence_payload,
    stats_payload,
)
from notifier.backend import backend

#: Seconds of history the chart shows (kept in the browser, not on the server).
CHART_SECONDS = 300


def overview():
    """Who is online, open streams and send rates per worker, and Redis, at a glance."""
    state = backend()
    return render_template(
        "admin/overview.html",
        stats=stats_payload(state.worker_reports, state.redis, RateTracker()),
        presence=presence_payload(state.presence), presence_list=PRESENCE_LIST,
        chart_seconds=CHART_SECONDS, interval=current_app.config["STATS_INTERVAL"])
