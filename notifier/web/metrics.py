"""``GET /metrics``: every server process's Prometheus metrics, added up, for a scraper
that presents the ``METRICS_TOKEN``; unknown (404) while no token is configured."""

from __future__ import annotations

import hmac
import logging
import time

import redis
from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily

from notifier.backend import backend
from notifier.core import metrics
from notifier.core.errors import error_response

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)


class QueueCollector:
    """The delivery queue's depth and the age of its oldest job, read from Redis when
    scraped (nothing on the send or delivery path counts them)."""

    def __init__(self, queue):
        self.queue = queue

    def collect(self):
        """Gauges of the queue as it is now; none when Redis does not answer."""
        try:
            counts = self.queue.counts()
            oldest_ms = self.queue.oldest_job_ms()
        except (redis.RedisError, OSError) as exc:
            log.warning("metrics: the delivery queue could not be read: %s", exc)
            return
        depth = GaugeMetricFamily(f"{metrics.PREFIX}_delivery_queue_jobs",
                                  "Delivery jobs by state (queued counts pending ones too).",
                                  labels=["state"])
        for state, count in sorted(counts.items()):
            depth.add_metric([state], count)
        yield depth
        age = 0.0 if oldest_ms is None else max(0.0, time.time() - oldest_ms / 1000)
        yield GaugeMetricFamily(f"{metrics.PREFIX}_delivery_oldest_job_age_seconds",
                                "Seconds since the oldest job in the delivery queue was "
                                "queued (0 when it is empty).", value=age)


@bp.route("/metrics")
def scrape():
    """The Prometheus text exposition of the server, its delivery workers and schedulers."""
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        return error_response(404, "not_found", "No such page.")
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), str(token).encode()):
        response = error_response(401, "unauthorized",
                                  "Send the metrics token as 'Authorization: Bearer <token>'.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = metrics.exposition(QueueCollector(backend().delivery_queue))
    return Response(body, content_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})
