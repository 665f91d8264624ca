"""``/livez`` and ``/readyz``: what a load balancer, an orchestrator or an operator asks a
server process before sending it traffic."""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, current_app, jsonify
from redis.exceptions import RedisClusterException

from notifier.backend import backend
from notifier.stores.nodes import ping_masters

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/livez")
def livez():
    """200 while the process answers requests at all."""
    return _no_store(jsonify(status="ok"))


def hub_state() -> str:
    """``ok`` when this worker's hub holds its Pub/Sub connection and heard from Redis
    recently; otherwise what is wrong."""
    runtime = current_app.extensions["notifier.live"]
    if not runtime.started:
        return "not started"
    return "ok" if runtime.hub.connected else "disconnected"


@bp.route("/readyz")
def readyz():
    """200 when Redis (every master of a cluster) answers and this worker's hub is
    connected; 503 naming what failed otherwise. The live delivery workers and schedulers
    are counted, never required: a server streams and takes sends without them."""
    state = backend()
    checks = {"redis": "ok", "hub": hub_state()}
    body = {"checks": checks}
    try:
        ping_masters(state.redis)
        body["delivery_workers"] = len(state.delivery_workers.read_workers())
        body["schedulers"] = len(state.schedulers.read_workers())
    except (redis.RedisError, RedisClusterException, OSError) as exc:
        log.warning("not ready: Redis did not answer: %s", exc)
        checks["redis"] = "unreachable"
        body.pop("delivery_workers", None)
    ready = all(value == "ok" for value in checks.values())
    body["status"] = "ok" if ready else "unavailable"
    return _no_store(jsonify(body)), 200 if ready else 503
