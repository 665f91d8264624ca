"""Which greenlets block a worker's event loop under the single-send load, one JSON line.

Serves notifier (2 gevent workers) with gevent's monitor thread on
(``GEVENT_MONITOR_THREAD_ENABLE``), which prints the stack of any greenlet that keeps
the loop for longer than ``--max-blocking-ms``; drives the single-send load of
bench/send_throughput.py for ``--seconds``; counts the reports by the deepest frame of
the project (or of its libraries) in each stack. A send's latency tail is time spent
waiting for such greenlets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections import Counter

from common import ROOT, Servers
from send_throughput import load, request_bytes


def blockers(log: str) -> Counter:
    """The reports in a gunicorn log, by the innermost project frame of each."""
    found: Counter = Counter()
    for report in log.split("=" * 20)[1:]:
        frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', report)
        ours = [f for f in frames if "/notifier/" in f[0]] or frames
        if ours:
            path, line, name = ours[-1]
            short = path.split("/site-packages/")[-1].removeprefix(f"{ROOT}/")
            found[f"{short}:{line} {name}"] += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--max-blocking-ms", type=float, default=20)
    args = parser.parse_args()
    servers = Servers(workers=2, env={
        "GEVENT_MONITOR_THREAD_ENABLE": "1",
        "GEVENT_MAX_BLOCKING_TIME": str(args.max_blocking_ms / 1000)})
    try:
        key = servers.api_key()
        port = servers.port

        def single(i: int) -> bytes:
            body = json.dumps({"user_id": f"user{i % 10_000}", "title": "Build passed",
                               "type": "ci"}).encode()
            return request_bytes("/api/v1/notifications", key, body, port)

        run = asyncio.run(load(port, single, 32, args.seconds))
        log = (servers.tmp / "gunicorn.log").read_text()
    finally:
        servers.stop()
    found = blockers(log)
    print(json.dumps({"benchmark": "blocking_report", "sends_per_s": round(run["per_s"]),
                      "p99_ms": run.get("p99_ms"), "reports": sum(found.values()),
                      "by_frame": dict(found.most_common(15))}))


if __name__ == "__main__":
    main()
