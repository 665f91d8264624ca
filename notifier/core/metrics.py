"""Every Prometheus metric of notifier, defined in one place.

Counters and gauges live in this process. When ``PROMETHEUS_MULTIPROC_DIR`` is set
(gunicorn.conf.py sets it for the server; set the same folder for ``notifier worker`` and
``notifier scheduler`` on the same host), prometheus_client writes them to files there and
``/metrics`` adds up every process's files. Labels take a handful of fixed values only
(routes, outcomes, channels), never a user id.
"""

from __future__ import annotations

import functools
import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

PREFIX = "notifier"

#: Environment variable naming the folder shared by every process's metric files.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

if os.environ.get(MULTIPROC_ENV):  # each metric below opens its file there at once
    os.makedirs(os.environ[MULTIPROC_ENV], mode=0o700, exist_ok=True)

#: This process's metrics (not prometheus_client's global registry, so that importing this
#: module again, as a test of imports does, defines them afresh).
REGISTRY = CollectorRegistry()

#: The answers a send route counts: a stored send, an idempotent replay, a scheduled
#: send, or a refusal by status class.
SEND_OUTCOMES = ("created", "duplicate", "scheduled", "4xx", "5xx")

sends = Counter(f"{PREFIX}_sends", "API send requests answered, by route and outcome.",
                ["route", "outcome"], registry=REGISTRY)
open_streams = Gauge(f"{PREFIX}_open_streams", "Event streams (/events) and sockets (/ws) open.",
                     multiprocess_mode="livesum", registry=REGISTRY)
hub_subscriptions = Gauge(f"{PREFIX}_hub_subscriptions",
                          "Users' channels the workers' hubs are subscribed to.",
                          multiprocess_mode="livesum", registry=REGISTRY)
hub_reconnects = Counter(f"{PREFIX}_hub_reconnects",
                         "Times a worker's hub lost its Redis Pub/Sub connection.",
                         registry=REGISTRY)
slow_consumer_drops = Counter(f"{PREFIX}_slow_consumer_drops",
                              "Streams ended because their client stopped reading.",
                              registry=REGISTRY)
delivery_jobs = Counter(f"{PREFIX}_delivery_jobs",
                        "Delivery jobs finished by delivery workers, by channel and outcome "
                        "(ack, retry, dead, hold).", ["channel", "outcome"], registry=REGISTRY)
delivery_attempts = Counter(f"{PREFIX}_delivery_attempts",
                            "Sends to a provider, by channel and status "
                            "(accepted, gone, retry, failed).", ["channel", "status"],
                            registry=REGISTRY)
send_to_event = Histogram(f"{PREFIX}_send_to_event_seconds",
                          "Seconds from a notification's storing (its id's time, Redis's "
                          "clock) to its arrival at a worker's hub, once per worker.",
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                   1, 2.5, 5), registry=REGISTRY)
redis_latency = Histogram(f"{PREFIX}_redis_report_seconds",
                          "Round trip of each web worker's once-a-second report to Redis "
                          "(one script call): Redis's command latency as a worker sees it.",
                          buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                   0.25, 0.5, 1), registry=REGISTRY)
scheduler_lag = Histogram(f"{PREFIX}_scheduler_lag_seconds",
                          "Seconds between a scheduled send's time and when it ran.",
                          buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
                          registry=REGISTRY)


@functools.cache
def delivery_job(channel: str, outcome: str) -> Counter:
    """The ``delivery_jobs`` child of ``channel`` and ``outcome``, made once."""
    return delivery_jobs.labels(channel, outcome)


@functools.cache
def delivery_attempt(channel: str, status: str) -> Counter:
    """The ``delivery_attempts`` child of ``channel`` and ``status``, made once."""
    return delivery_attempts.labels(channel, status)


def multiprocess_dir() -> str | None:
    """The shared folder of every process's metric files, when multiprocess mode is on."""
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(*extra_collectors) -> bytes:
    """The text exposition of every process's metrics (or of this process's alone when
    multiprocess mode is off), with ``extra_collectors`` (read at scrape time) added."""
    extra = CollectorRegistry()
    for collector in extra_collectors:
        extra.register(collector)
    if multiprocess_dir():
        own = CollectorRegistry()
        multiprocess.MultiProcessCollector(own)
    else:
        own = REGISTRY
    return generate_latest(own) + generate_latest(extra)
