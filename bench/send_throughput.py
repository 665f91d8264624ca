"""Send throughput of the HTTP API on this machine, printed as one JSON line.

Starts a redis-server and gunicorn (2 gevent workers) on free ports, then
drives them with an asyncio HTTP/1.1 keep-alive client light enough not to be
the bottleneck (it reports its own CPU). Two loads, each repeated --runs times:

* single: POST /api/v1/notifications, one notification per request, from
  --connections concurrent connections;
* batch: POST /api/v1/notifications/batch with 1000 notifications per request.

Beside notifier it runs the floor (bench/floor_app.py: one Flask route doing one
XADD + PUBLISH under the same gunicorn settings), alternating the two on fresh servers,
and reports notifier's single-send throughput as a ratio of the floor's. Reports median
and spread over the runs, and the workers' CPU per send.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from datetime import UTC, datetime

from common import Servers, cpu_seconds, percentile, summary


def request_bytes(path: str, key: str, body: bytes, port: int) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def one_connection(port: int, make_request, seconds: float, latencies: list[float],
                         statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    deadline = time.perf_counter() + seconds
    sent = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        writer.write(make_request(sent))
        sent += 1
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1
    writer.close()


async def load(port: int, make_request, connections: int, seconds: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    cpu_before, wall_before = cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(one_connection(port, make_request, seconds, latencies, statuses)
                           for _ in range(connections)))
    wall = time.perf_counter() - wall_before
    return {"requests": len(latencies), "per_s": len(latencies) / wall,
            "p50_ms": percentile(latencies, 0.5) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
            "client_cpu_share": (cpu_seconds() - cpu_before) / wall, "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batch-connections", type=int, default=4)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--targets", default="notifier,floor",
                        help="notifier, and/or floor: bench/floor_app.py (one XADD + PUBLISH "
                             "per request under the same gunicorn settings)")
    parser.add_argument("--api-rate-limit", default="100000000 per hour",
                        help="NOTIFIER_API_RATE_LIMIT of the server: checked on every call, "
                             "high enough never to refuse one; '' turns the check off")
    args = parser.parse_args()
    targets = args.targets.split(",")
    servers = {
        "notifier": lambda: Servers(workers=2,
                                    env={"NOTIFIER_API_RATE_LIMIT": args.api_rate_limit}),
        "floor": lambda: Servers(workers=2, app="floor_app:app"),
    }
    single_runs: dict[str, list] = {t: [] for t in targets}
    batch_runs: list[dict] = []
    for _ in range(args.runs):  # the targets alternate, each on fresh servers
        for target in targets:
            running = servers[target]()
            try:
                single, batch = one_run(running, target, args)
            finally:
                running.stop()
            single_runs[target].append(single)
            if batch is not None:
                batch_runs.append(batch)
    every = [r for runs in single_runs.values() for r in runs] + batch_runs
    bad = [r["statuses"] for r in every if set(r["statuses"]) != {201}]
    result = {
        "benchmark": "send_throughput",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "workers": 2, "connections": args.connections, "runs": args.runs,
        "api_rate_limit": args.api_rate_limit,
    }
    for target, runs in single_runs.items():
        result[target] = {
            "single_sends_per_s": summary([r["per_s"] for r in runs]),
            "single_p50_ms": summary([r["p50_ms"] for r in runs]),
            "single_p99_ms": summary([r["p99_ms"] for r in runs]),
            "worker_cpu_ms_per_send": summary([r["worker_cpu_ms"] for r in runs]),
            "client_cpu_share": summary([r["client_cpu_share"] for r in runs]),
        }
    if batch_runs:
        result["notifier"]["batch_notifications_per_s"] = summary(
            [r["per_s"] * 1000 for r in batch_runs])
        result["notifier"]["batch_request_p50_ms"] = summary([r["p50_ms"] for r in batch_runs])
    if {"notifier", "floor"} <= set(targets):
        ratios = [n["per_s"] / f["per_s"]
                  for n, f in zip(single_runs["notifier"], single_runs["floor"], strict=True)]
        result["single_ratio_to_floor"] = summary(ratios)
    result["non_201_responses"] = bad
    print(json.dumps(result))


def one_run(servers: Servers, target: str, args) -> tuple[dict, dict | None]:
    """One timed single-send load (and, for notifier, one batch load) on fresh servers."""
    port = servers.port
    warm_key = servers.api_key()
    asyncio.run(load(port, lambda i: request_bytes(  # warm every worker up first
        "/api/v1/notifications", warm_key,
        b'{"user_id":"warm","title":"warm-up"}', port), args.connections, 2))
    servers.settle()
    key = servers.api_key()

    def single(i: int) -> bytes:
        body = json.dumps({"user_id": f"user{i % args.users}", "title": "Build passed",
                           "body": "main is green", "type": "ci"}).encode()
        return request_bytes("/api/v1/notifications", key, body, port)

    cpu = servers.worker_cpu_s()
    single_run = asyncio.run(load(port, single, args.connections, args.seconds))
    single_run["worker_cpu_ms"] = ((servers.worker_cpu_s() - cpu) * 1000
                                   / max(1, single_run["requests"]))
    if target != "notifier":
        return single_run, None
    servers.settle()
    key = servers.api_key()
    batches = [request_bytes("/api/v1/notifications/batch", key, json.dumps({
        "notifications": [{"user_id": f"user{(b * 1000 + i) % args.users}",
                           "title": f"Batch item {i}", "type": "digest"}
                          for i in range(1000)]}).encode(), port) for b in range(10)]
    batch_run = asyncio.run(load(port, lambda i: batches[i % len(batches)],
                                 args.batch_connections, args.seconds))
    return single_run, batch_run


if __name__ == "__main__":
    main()
