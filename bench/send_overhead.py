"""What preferences and the per-API-key limit add to each send, printed as one JSON line.

In one process (no HTTP server; Flask's test client and a fresh redis-server on a
free port), alternating so both sides see the same machine load:

* the API-key limit: the same single send with ``API_RATE_LIMIT`` on (never
  reached) and off, per call;
* routing: ``Inbox.route`` alone (the pipelined read of the recipients'
  preferences, the type record, and one decision per recipient) for 1 and for
  1000 recipients, without and with saved preferences (quiet hours in a zone).

Median of --runs rounds of --calls calls each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from datetime import time as clock_time

from common import free_port, wait_for_port

from notifier import create_app
from notifier.backend import backend
from notifier.model.preferences import Preferences
from notifier.model.requests import SendRequest
from notifier.stores.embedded_redis import find_redis_server


def summary(values: list[float]) -> dict[str, float]:
    """Median and spread, in ms to the microsecond."""
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}


def app_for(redis_url: str, limit: str, instance: str):
    os.environ["NOTIFIER_INSTANCE_PATH"] = instance
    return create_app({"REDIS_URL": redis_url, "SECRET_KEY": "bench", "BOOTSTRAP_ADMIN": False,
                       "API_RATE_LIMIT": limit})


def per_call_ms(client, headers, calls: int) -> float:
    body = json.dumps({"user_id": "u1", "title": "Build passed", "type": "ci"})
    started = time.perf_counter()
    for _ in range(calls):
        response = client.post("/api/v1/notifications", data=body, headers=headers)
        assert response.status_code == 201, response.text
    return (time.perf_counter() - started) / calls * 1000


def route_ms(store, users: list[str], calls: int) -> float:
    content = [SendRequest(user_id="x", title="t", type="ci", priority="high")]
    deliveries = [(u, 0) for u in users]
    started = time.perf_counter()
    for _ in range(calls):
        store.inbox.route(content, deliveries, datetime.now(UTC))
    return (time.perf_counter() - started) / calls * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="notifier-bench-")
    port = free_port()
    server = subprocess.Popen([find_redis_server(), "--port", str(port), "--save", "",
                               "--appendonly", "no", "--dir", tmp])
    try:
        wait_for_port(port)
        url = f"redis://127.0.0.1:{port}/0"
        limited, unlimited = (app_for(url, "100000000 per hour", tmp), app_for(url, "", tmp))
        with limited.app_context():
            store = backend()
            headers = {"Authorization": "Bearer " + store.api_keys.create("bench")[1]}
        clients = {"on": limited.test_client(), "off": unlimited.test_client()}
        for client in clients.values():
            per_call_ms(client, headers, 200)  # warm up
        limit = {"on": [], "off": []}
        routing = {"1 recipient, no preferences": [], "1000 recipients, no preferences": [],
                   "1000 recipients, all with preferences": []}
        plain = [f"plain{i}" for i in range(1000)]
        saved = [f"saved{i}" for i in range(1000)]
        prefs = Preferences(timezone="Europe/Berlin", quiet_start=clock_time(22),
                            quiet_end=clock_time(7), switches={("ci", "email"): False})
        for user in saved:
            store.preferences.save(user, prefs)
        for _ in range(args.runs):
            for side, client in clients.items():
                limit[side].append(per_call_ms(client, headers, args.calls))
            routing["1 recipient, no preferences"].append(route_ms(store, plain[:1], args.calls))
            routing["1000 recipients, no preferences"].append(route_ms(store, plain, 20))
            routing["1000 recipients, all with preferences"].append(route_ms(store, saved, 20))
        print(json.dumps({
            "benchmark": "send_overhead",
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                       f"{platform.python_version()}",
            "runs": args.runs,
            "send_ms_limit_on": summary(limit["on"]),
            "send_ms_limit_off": summary(limit["off"]),
            "limit_cost_ms": round(statistics.median(limit["on"])
                                   - statistics.median(limit["off"]), 3),
            "route_ms": {k: summary(v) for k, v in routing.items()},
        }))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
