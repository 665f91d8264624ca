"""Where a worker's CPU goes on the single-send path, printed as one JSON line.

Starts a redis-server and gunicorn (2 gevent workers) like send_throughput.py,
drives POST /api/v1/notifications from 32 keep-alive connections, and samples
both workers with py-spy (--seconds at --rate samples/s, --nonblocking). Each
sample is given to one part of the path, by the first rule below that its stack
matches (so the parts add up to 100 % of the samples where the worker was busy):
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from common import Servers
from send_throughput import load, request_bytes

#: (part, substrings of a frame any of which puts a sample there), first match wins.
PARTS = [
    ("API key check", ("authenticated_key (",)),
    ("rate limit (Flask-Limiter's before-request)", ("flask_limiter/",)),
    ("pydantic validation", ("model_validate_json", "pydantic/")),
    ("preferences read", ("for_routing (",)),
    ("dispatch to other channels", ("Inbox._dispatch (",)),
    ("send script: arguments and the Redis round trip", ("Inbox.send (",)),
    ("JSON encoding of the answer", ("jsonify (", "json/encoder.py", "json/provider.py")),
    ("gunicorn's write of the answer", ("send_headers (", "gunicorn/http/wsgi.py:4",
                                        "gunicorn/http/wsgi.py:5")),
    ("gunicorn's request parsing", ("gunicorn/http/message.py", "gunicorn/http/parser.py",
                                    "gunicorn/http/unreader.py", "gunicorn/http/body.py")),
    ("Flask routing", ("werkzeug/routing/",)),
    ("Flask and Werkzeug, the rest", ("flask/", "werkzeug/")),
    ("gunicorn, the rest", ("gunicorn/",)),
    ("the worker's own greenlets (hub, heartbeat, GC policy)", ("notifier/",)),
]
__doc__ += "\n".join(f"* {part}" for part, _ in PARTS) + "\n* everything else\n"

IDLE_LEAVES = ("Hub.run (gevent/hub.py", "wait (gevent/", "_wait (gevent/")


def part_of(stack: list[str]) -> str | None:
    """The part a sample's frames (root first) belong to; None when the worker idled."""
    if any(stack[-1].startswith(leaf) for leaf in IDLE_LEAVES):
        return None
    for part, patterns in PARTS:
        if any(p in frame for frame in stack for p in patterns):
            return part
    return "everything else"


def breakdown(files: list[Path]) -> tuple[Counter, int]:
    parts: Counter = Counter()
    idle = 0
    for path in files:
        for line in path.read_text().splitlines():
            frames, _, count = line.rpartition(" ")
            part = part_of(frames.split(";"))
            if part is None:
                idle += int(count)
            else:
                parts[part] += int(count)
    return parts, idle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--app", default="wsgi:app",
                        help="floor_app:app profiles the floor (one XADD + PUBLISH)")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    servers = Servers(workers=2, app=args.app)
    out = Path(tempfile.mkdtemp(prefix="send-profile-"))
    try:
        port = servers.port
        warm = servers.api_key()
        asyncio.run(load(port, lambda i: request_bytes(
            "/api/v1/notifications", warm, b'{"user_id":"warm","title":"warm-up"}', port),
            args.connections, 2))
        servers.settle()
        key = servers.api_key()

        def single(i: int) -> bytes:
            body = json.dumps({"user_id": f"user{i % 10_000}", "title": "Build passed",
                               "body": "main is green", "type": "ci"}).encode()
            return request_bytes("/api/v1/notifications", key, body, port)

        spies = [subprocess.Popen(
            [py_spy, "record", "--pid", str(pid), "--duration", str(int(args.seconds)),
             "--rate", str(args.rate), "--format", "raw", "--nonblocking",
             "--output", str(out / f"worker{n}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for n, pid in enumerate(servers.worker_pids())]
        time.sleep(0.5)  # py-spy attaches
        cpu = servers.worker_cpu_s()
        run = asyncio.run(load(port, single, args.connections, args.seconds - 1))
        cpu_ms = (servers.worker_cpu_s() - cpu) * 1000 / max(1, run["requests"])
        for spy in spies:
            spy.wait()
    finally:
        servers.stop()
    parts, idle = breakdown(sorted(out.glob("worker*.txt")))
    busy = sum(parts.values())
    print(json.dumps({
        "benchmark": "send_profile", "app": args.app,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "sends_per_s": round(run["per_s"]), "statuses": run["statuses"],
        "worker_cpu_ms_per_send": round(cpu_ms, 3),
        "busy_samples": busy, "idle_share": round(idle / max(1, busy + idle), 3),
        "share_of_busy": {part: round(n / max(1, busy), 3) for part, n in parts.most_common()},
    }))


if __name__ == "__main__":
    main()
