"""Counting the send routes' answers for ``/metrics``, by route and outcome."""

from __future__ import annotations

from flask import Response, request

from notifier.core import metrics

#: The routes that send notifications, by endpoint.
SEND_ENDPOINTS = ("api.send_notification", "api.send_batch", "api.send_to_group",
                  "api.create_broadcast")

# One child per (route, outcome), made once: nothing is created per request.
_COUNTERS = {(endpoint, outcome): metrics.sends.labels(endpoint.removeprefix("api."), outcome)
             for endpoint in SEND_ENDPOINTS for outcome in metrics.SEND_OUTCOMES}


def send_outcome(status: int, replayed: bool) -> str | None:
    """The outcome label of a send answered with ``status``; None for a status a send
    route does not count (1xx, 3xx)."""
    if status == 201:
        return "duplicate" if replayed else "created"
    if status == 202:
        return "scheduled"
    if 400 <= status < 500:
        return "4xx"
    if status >= 500:
        return "5xx"
    return None


def count_send(response: Response) -> Response:
    """Count the answer of a send route (an ``after_request`` hook of the API)."""
    counter = None
    outcome = send_outcome(response.status_code, "Idempotent-Replayed" in response.headers)
    if outcome is not None:
        counter = _COUNTERS.get((request.endpoint, outcome))
    if counter is not None:
        counter.inc()
    return response
