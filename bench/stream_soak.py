"""Worker memory over repeated bursts of event streams: does it plateau? One JSON line.

notifier runs under gunicorn.conf.py (2 gevent workers) on its own redis-server.
Each burst opens --streams concurrent event streams (widget tokens, one user
each) from one asyncio client, waits until every stream is ready (its first
``unread`` frame), optionally sends one notification to every user and waits
until each stream has it, closes them all, waits until the workers hold no more
descriptors than before the burst (they have let go of every stream) plus
--settle seconds, then records each worker's VmRSS. After --bursts bursts it
prints one JSON line and a table: RSS after each burst, what the first burst
added, and the growth from burst 1 to 10 and over the last 10 bursts. Every wait
is bounded; a burst that times out is reported (``ready``, ``delivered``,
``released``), never waited on forever.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import resource
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from common import Servers
from sse_load import (
    SECRET,
    Notifier,
    Tally,
    in_background,
    open_streams,
    send_function,
    until,
    wait_done,
)


def vm_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def burst(servers: Servers, target: Notifier, pids: list[int], baseline_fds: dict,
                *, streams_count: int, deliver: bool, settle: float) -> dict:
    """One burst; what it left behind."""
    started = time.monotonic()
    tally = Tally()
    streams = await open_streams(servers.port, [target.request(f"u{i}")
                                                for i in range(streams_count)], tally)
    ready = await target.ready(streams, timeout=120)
    delivered = 0
    if deliver:
        done = in_background(send_function, "notifier", servers.redis_url,
                             [[f"u{i}" for i in range(streams_count)]], 0)
        await wait_done(done, 60)
        await until(lambda: tally.notifications >= streams_count, 30)
        delivered = tally.notifications
    peak_rss = {pid: vm_rss_kb(pid) for pid in pids}
    for stream in streams:
        stream.drop()
    released = await until(lambda: all(open_fds(pid) <= baseline_fds[pid] + 2 for pid in pids),
                           60, step=0.2)
    await asyncio.sleep(settle)
    return {"ready": ready, "delivered": delivered, "released": released,
            "peak_rss_kb": peak_rss, "rss_kb": {pid: vm_rss_kb(pid) for pid in pids},
            "s": round(time.monotonic() - started, 1)}


async def soak(args) -> dict:
    env = {"SECRET_KEY": SECRET, "NOTIFIER_SSE_HEARTBEAT": str(args.heartbeat),
           "NOTIFIER_SCHEDULER": "false"}
    if args.malloc_arena_max:
        env["MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)
    servers = Servers(workers=2, env=env, app=Notifier.app)
    try:
        target = Notifier(servers)
        pids = sorted(servers.worker_pids())
        await asyncio.sleep(2)
        start_rss = {pid: vm_rss_kb(pid) for pid in pids}
        baseline_fds = {pid: open_fds(pid) for pid in pids}
        bursts = []
        deadline = time.monotonic() + args.max_seconds
        for number in range(args.bursts):
            if time.monotonic() > deadline:
                break
            result = await burst(servers, target, pids, baseline_fds,
                                 streams_count=args.streams, deliver=args.deliver,
                                 settle=args.settle)
            bursts.append(result)
            total = sum(result["rss_kb"].values())
            print(f"# burst {number + 1:>2}: {total / 1024:6.1f} MB "
                  f"({', '.join(f'{v / 1024:.1f}' for v in result['rss_kb'].values())}) "
                  f"ready={result['ready']} released={result['released']} "
                  f"{result['s']} s", flush=True)
    finally:
        servers.stop()
    return {"start_rss_kb": start_rss, "bursts": bursts}


def mb(kb: float) -> float:
    return round(kb / 1024, 1)


def report(args, outcome: dict) -> dict:
    bursts = outcome["bursts"]
    totals = [sum(b["rss_kb"].values()) for b in bursts]
    start = sum(outcome["start_rss_kb"].values())
    # The first burst lifts RSS to what 1,000 open streams need; growth counts from there.
    first = totals[min(9, len(totals) - 1)] - totals[0] if totals else 0
    last = totals[-1] - totals[-11] if len(totals) > 10 else None
    # Burst-to-burst steps over the last 10: a plateau has a median step near 0.
    tail = totals[-11:]
    steps = [b - a for a, b in itertools.pairwise(tail)]
    return {
        "benchmark": "stream_soak", "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "workers": 2, "bursts": len(bursts), "streams": args.streams, "deliver": args.deliver,
        "malloc_arena_max": args.malloc_arena_max or None,
        "start_rss_mb": mb(start),
        "first_burst_mb": mb(totals[0] - start) if totals else None,
        "rss_mb_after_burst": [mb(t) for t in totals],
        "peak_rss_mb": [mb(sum(b["peak_rss_kb"].values())) for b in bursts],
        "growth_first_10_mb": mb(first),
        "growth_last_10_mb": mb(last) if last is not None else None,
        "median_step_last_10_mb": mb(statistics.median(steps)) if steps else None,
        "all_ready": all(b["ready"] for b in bursts),
        "all_delivered": all(b["delivered"] >= args.streams for b in bursts)
        if args.deliver else None,
        "all_released": all(b["released"] for b in bursts),
    }


def table(result: dict) -> str:
    rows = ["burst  rss_mb  peak_mb"]
    for number, (rss, peak) in enumerate(zip(result["rss_mb_after_burst"],
                                             result["peak_rss_mb"], strict=True), 1):
        rows.append(f"{number:>5}  {rss:6.1f}  {peak:7.1f}")
    rows.append(f"start {result['start_rss_mb']} MB, burst 1 +{result['first_burst_mb']} MB; "
                f"growth from burst 1 to 10 "
                f"{result['growth_first_10_mb']} MB, over the last 10 "
                f"{result['growth_last_10_mb']} MB")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bursts", type=int, default=30)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--deliver", action=argparse.BooleanOptionalAction, default=True,
                        help="send one notification to each stream before closing")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds to wait after the workers let go of the streams")
    parser.add_argument("--heartbeat", type=float, default=2.0,
                        help="NOTIFIER_SSE_HEARTBEAT: how soon a closed stream is noticed")
    parser.add_argument("--malloc-arena-max", type=int, default=0,
                        help="MALLOC_ARENA_MAX for the workers (0: glibc's default)")
    parser.add_argument("--max-seconds", type=float, default=1800,
                        help="stop starting bursts after this long")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    result = report(args, asyncio.run(soak(args)))
    print(table(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
