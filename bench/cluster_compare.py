"""One Redis against a 3-master Redis Cluster on this machine, one JSON line.

The same server (2 gevent workers) and the same clients as bench/send_throughput.py
and bench/sse_load.py, on a single redis-server and on a local cluster of 3 masters
and 3 replicas, alternating on fresh servers --runs times. Neither uses AOF (the
local cluster has none), so the comparison is of the topology alone:

* single sends/s at 32 connections (and p99), batch notifications/s;
* Redis CPU and commands per 1,000 single sends, per master: how the load divides
  over the shards, which is what scales on machines with a core per shard;
* unicast HTTP API -> event latency at 2,000 streams and 1,000 sends/s;
* one broadcast to 10,000 open streams.

This machine has 2 cores for everything (the cluster's six redis-servers, the
workers and the clients), so absolute figures on the cluster are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
from datetime import UTC, datetime
from types import SimpleNamespace

import send_throughput
import sse_load
from common import Servers, summary


def shard_load(before: dict, after: dict, sends: int) -> dict:
    """Per master: Redis CPU (ms) and commands per 1,000 sends."""
    return {name: {"cpu_ms_per_1000": round((after[name][0] - before[name][0]) * 1e6 / sends, 1),
                   "commands_per_1000": round((after[name][1] - before[name][1]) * 1000 / sends)}
            for name in after}


def one_run(cluster: bool, args) -> dict:
    servers = Servers(workers=2, cluster=cluster, aof=False,
                      env={"SECRET_KEY": sse_load.SECRET, "NOTIFIER_SSE_HEARTBEAT": "5"})
    try:
        options = SimpleNamespace(connections=32, users=10_000, seconds=args.seconds,
                                  batch_connections=4)
        usage = servers.redis_usage()
        single, batch = send_throughput.one_run(servers, "notifier", options)
        result = {
            "single_sends_per_s": single["per_s"], "single_p99_ms": single["p99_ms"],
            "batch_notifications_per_s": batch["per_s"] * 1000,
            "statuses": sorted({*single["statuses"], *batch["statuses"]}),
        }
        # The shard figures over the single sends and the batches together.
        sends = single["requests"] + batch["requests"] * 1000
        result["per_master"] = shard_load(usage, servers.redis_usage(), sends)
        servers.wait_idle()
        servers.settle()
        target = sse_load.Notifier(servers)
        unicast = asyncio.run(sse_load.unicast(target, via="http", streams_count=2000,
                                               rate=1000, seconds=args.seconds))
        result.update(unicast_p99_ms=unicast["p99_ms"], unicast_lost=unicast["lost"],
                      unicast_duplicated=unicast["duplicated"])
        servers.wait_idle()
        servers.settle()
        broadcast = asyncio.run(sse_load.broadcast(target, streams_count=args.streams))
        result.update(broadcast_all_delivered_ms=broadcast["all_delivered_ms"],
                      broadcast_delivered=broadcast["delivered"])
        return result
    finally:
        servers.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--streams", type=int, default=10_000)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    runs: dict[str, list[dict]] = {"single_redis": [], "cluster_3_masters": []}
    for _ in range(args.runs):
        for name in runs:
            runs[name].append(one_run(name.startswith("cluster"), args))
    out = {"benchmark": "cluster_compare", "date": datetime.now(UTC).strftime("%Y-%m-%d"),
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                      f"{platform.python_version()}", "runs": args.runs}
    for name, results in runs.items():
        figures = {key: summary([r[key] for r in results]) for key in results[0]
                   if isinstance(results[0][key], int | float)}
        figures["statuses"] = sorted({s for r in results for s in r["statuses"]})
        figures["per_master"] = [r["per_master"] for r in results]
        out[name] = figures
    print(json.dumps(out))


if __name__ == "__main__":
    main()
