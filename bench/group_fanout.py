"""Cost of a group send (fan-out on write) by group size, and of reading an inbox after.

Runs Groups.send against a fresh redis-server (AOF everysec, like the embedded
default) on this machine: time per send, Redis memory per member copy, and the
time to read a member's first inbox page (which does not depend on group size).
Median of --runs sends per size (min-max). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime

import redis
from common import Servers

from notifier.core.keys import Keys
from notifier.model.requests import GroupSendRequest
from notifier.stores.broadcasts import Broadcasts
from notifier.stores.feed import Feed
from notifier.stores.groups import Groups
from notifier.stores.inbox import Inbox


def measure(client: redis.Redis, size: int, runs: int) -> dict:
    keys = Keys("notifier")
    client.flushdb()
    inbox = Inbox(client, keys, cap=1000, idempotency_ttl=60)
    groups = Groups(client, keys, inbox, max_members=size)
    feed = Feed(client, keys, inbox, Broadcasts(client, keys, cap=1000, idempotency_ttl=60))
    groups.create("g")
    client.zadd(keys.group_members("g"), {f"u{i}": 1 for i in range(size)})
    content = GroupSendRequest(title="Deploy finished", body="Build 4812 is live.",
                               type="ci", data={"build": 4812})
    groups.send("g", content)  # warm: scripts loaded, streams created
    send_ms, read_ms = [], []
    for _ in range(runs):
        started = time.perf_counter()
        groups.send("g", content)
        send_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        feed.page(f"u{size // 2}", limit=50)
        read_ms.append((time.perf_counter() - started) * 1000)
    # What one copy costs: a member's inbox and unread set over the entries they hold.
    member = f"u{size // 2}"
    stored = client.memory_usage(keys.inbox(member)) + client.memory_usage(keys.unread(member))
    return {"members": size, "send_ms": spread(send_ms),
            "per_member_us": round(statistics.median(send_ms) * 1000 / size, 1),
            "bytes_per_copy": round(stored / client.xlen(keys.inbox(member))),
            "read_page_ms": spread(read_ms)}


def spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    servers = Servers(workers=1)
    try:
        client = redis.Redis.from_url(servers.redis_url)
        results = [measure(client, size, args.runs) for size in (100, 1000, 10_000)]
    finally:
        servers.stop()
    print(json.dumps({
        "benchmark": "group_fanout", "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "runs": args.runs, "sizes": results}))


if __name__ == "__main__":
    main()
