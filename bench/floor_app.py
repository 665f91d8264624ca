"""The floor the send benchmark compares notifier with: one Flask route, served under the
same ``gunicorn.conf.py``, that stores the posted JSON in a Redis Stream and publishes it
(one pipelined XADD + PUBLISH) and answers 201 with the new id. No authentication, no
validation, no limits, no preferences: what the stack itself costs per send."""

from __future__ import annotations

import os

import redis
from flask import Flask, jsonify, request

app = Flask(__name__)
_pool: list[redis.Redis] = []


def _redis() -> redis.Redis:
    if not _pool:
        _pool.append(redis.Redis.from_url(os.environ["REDIS_URL"]))
    return _pool[0]


@app.post("/api/v1/notifications")
def send():
    """Store and publish the body for its ``user_id``."""
    body = request.get_json()
    user = body["user_id"]
    pipe = _redis().pipeline(transaction=False)
    pipe.xadd(f"floor:{{{user}}}:inbox", {"n": request.get_data()})
    pipe.publish(f"floor:{{{user}}}:events", request.get_data())
    stream_id, _ = pipe.execute()
    response = jsonify(notifications=[{"user_id": user, "id": stream_id.decode()}])
    response.status_code = 201
    return response
