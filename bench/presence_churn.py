"""Presence accuracy under churn: streams connecting and disconnecting fast, one JSON line.

Fresh redis-server and gunicorn (2 gevent workers, presence interval --interval,
stream heartbeat 1 s so a dropped client is noticed within a second) per run.
An asyncio client holds --long-lived streams of their own users for the whole
run, then opens --rate streams a second for --seconds, each to a random user
of a pool (one in ten to a long-lived user, as a second tab) and drops each
after a random 0.1-1 s. When the churn stops, the streams still open stay open:
they and the long-lived ones are the ground truth.

After two presence intervals (plus the 1 s stream heartbeat) it compares
Redis's presence (``Presence.online_page``, what the API serves) with the
truth: ghosts (online in Redis, no open stream) and missing (open stream, not
online). It also reports how soon after the churn presence first matched, the
offline transitions published for long-lived users (flaps: should be 0), the
stream setup latency under churn, and the workers' CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import threading
import time
from datetime import UTC, datetime

import redis
from common import Servers, cpu_seconds, percentile, summary

from notifier.core import widget_tokens as tokens
from notifier.core.keys import Keys
from notifier.stores.presence import Presence

SECRET = "bench-secret"
KEYS = Keys("notifier")


class Stream(asyncio.Protocol):
    """One event stream; notes when it is set up (its first ``unread`` frame)."""

    def __init__(self, request: bytes, user: str, setups: list[float]):
        self.request = request
        self.user = user
        self.setups = setups
        self.started = time.monotonic()
        self.buffer = b""
        self.ready = False
        self.closed = False
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if self.ready:
            return
        self.buffer += data
        if b"event: unread" in self.buffer:
            self.ready = True
            self.setups.append(time.monotonic() - self.started)
            self.buffer = b""

    def connection_lost(self, exc) -> None:
        self.closed = True

    def drop(self) -> None:
        self.transport.abort()


class Transitions:
    """The presence channel's messages, collected in a thread."""

    def __init__(self, client: redis.Redis):
        self.client = client  # held: a collected client closes its pool, pubsub and all
        self.pubsub = client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(*KEYS.presence_channels())  # one Redis: all partitions
        self.online: dict[str, int] = {}
        self.offline: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop.is_set():
            message = self.pubsub.get_message(timeout=0.1)
            if message is not None:
                event = json.loads(message["data"])
                tally = self.online if event["online"] else self.offline
                tally[event["user_id"]] = tally.get(event["user_id"], 0) + 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.pubsub.close()


def request_for(user: str) -> bytes:
    token = tokens.mint(SECRET, user, 3600)[0]
    return f"GET /events?token={token} HTTP/1.0\r\n\r\n".encode()


def redis_online(presence: Presence) -> set[str]:
    users, cursor = set(), None
    while True:
        page = presence.online_page(1000, cursor)
        users.update(u for u, _ in page.users)
        if page.next is None:
            return users
        cursor = page.next


async def one_run(args) -> dict:
    servers = Servers(workers=2, env={"SECRET_KEY": SECRET, "NOTIFIER_SSE_HEARTBEAT": "1",
                                      "NOTIFIER_PRESENCE_INTERVAL": str(args.interval)})
    loop = asyncio.get_running_loop()
    presence = Presence(servers.client(), KEYS, interval=args.interval)
    transitions = Transitions(servers.client())
    setups: list[float] = []
    stay_users = [f"stay{i}" for i in range(args.long_lived)]
    pool = [f"churn{i}" for i in range(args.pool)]
    requests = {user: request_for(user) for user in stay_users + pool}

    async def connect(user: str) -> Stream:
        _, stream = await loop.create_connection(
            lambda: Stream(requests[user], user, setups), "127.0.0.1", servers.port)
        return stream

    try:
        long_lived = await asyncio.gather(*(connect(u) for u in stay_users))
        deadline = time.monotonic() + 30
        while not all(s.ready for s in long_lived) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        setups.clear()
        open_churn: set[Stream] = set()
        tasks: set[asyncio.Task] = set()
        connects = failed = 0

        async def churn_one(user: str) -> None:
            nonlocal connects, failed
            try:
                stream = await connect(user)
            except OSError:
                failed += 1
                return
            connects += 1
            open_churn.add(stream)
            await asyncio.sleep(random.uniform(0.1, 1.0))
            if not stopping:
                stream.drop()
                open_churn.discard(stream)

        stopping = False
        cpu_before, client_cpu = servers.worker_cpu_s(), cpu_seconds()
        started = time.monotonic()
        total = int(args.rate * args.seconds)
        for i in range(total):
            delay = started + i / args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            user = random.choice(stay_users if random.random() < 0.1 else pool)
            task = loop.create_task(churn_one(user))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elapsed = time.monotonic() - started
        stopping = True  # streams open now stay open: part of the truth
        await asyncio.gather(*tasks)
        churn_end = time.monotonic()
        server_cpu = servers.worker_cpu_s() - cpu_before
        client_cpu = cpu_seconds() - client_cpu

        truth = {s.user for s in long_lived if not s.closed}
        truth |= {s.user for s in open_churn if not s.closed}
        converged = None
        settle = 2 * args.interval + 1.0
        while time.monotonic() - churn_end < settle:
            if converged is None and redis_online(presence) == truth:
                converged = time.monotonic() - churn_end
            await asyncio.sleep(0.25)
        seen = redis_online(presence)
        result = {
            "connects": connects, "failed_connects": failed,
            "connects_per_s": round(connects / elapsed),
            "long_lived": len(long_lived), "open_at_end": len(truth),
            "ghosts": len(seen - truth), "missing": len(truth - seen),
            "count_matches": presence.online_count() == len(truth),
            "first_match_s": round(converged, 2) if converged is not None else None,
            "flaps_of_long_lived": sum(transitions.offline.get(u, 0) for u in stay_users),
            "transitions": sum(transitions.online.values()) + sum(transitions.offline.values()),
            "setup_p50_ms": round(percentile(setups, 0.5) * 1000, 1) if setups else None,
            "setup_p99_ms": round(percentile(setups, 0.99) * 1000, 1) if setups else None,
            "server_cpu_s_per_s": round(server_cpu / elapsed, 2),
            "client_cpu_s_per_s": round(client_cpu / elapsed, 2),
            "streams_closed_by_server": sum(1 for s in long_lived if s.closed),
        }
        for stream in [*long_lived, *open_churn]:
            stream.drop()
        return result
    finally:
        transitions.close()
        servers.stop()


def aggregate(results: list[dict]) -> dict:
    out = {}
    for key in results[0]:
        values = [r[key] for r in results]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        out[key] = summary(numbers) if len(numbers) == len(values) else values
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=1000, help="connects per second")
    parser.add_argument("--long-lived", type=int, default=300)
    parser.add_argument("--pool", type=int, default=2000, help="users the churn picks from")
    parser.add_argument("--interval", type=float, default=2, help="NOTIFIER_PRESENCE_INTERVAL")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results = [asyncio.run(one_run(args)) for _ in range(args.runs)]
    print(json.dumps({
        "benchmark": "presence_churn", "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "runs": args.runs, "workers": 2, "seconds": args.seconds, "rate": args.rate,
        "interval": args.interval, "pool": args.pool, **aggregate(results),
    }))


if __name__ == "__main__":
    main()
