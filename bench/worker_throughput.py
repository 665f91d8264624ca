"""Delivery worker throughput: jobs/s with 1 and 2 ``notifier worker`` processes.

A fresh redis-server (AOF everysec, as the embedded default) and the local SMS
provider of the tests (tests/peers/sms_provider.py, a process of its own that
accepts every message at once). Each run queues --jobs SMS jobs, one per user
(each user has a phone number; the default budgets apply), while the workers
are paused (SIGSTOP), then resumes them and times until every job is
acknowledged; the provider must have accepted every one. Median of --runs
runs (min-max) per worker count. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import redis
from common import ROOT, free_port, wait_for_port

from notifier.core.keys import Keys
from notifier.delivery.queue import DeliveryQueue
from notifier.stores.embedded_redis import find_redis_server

KEYS = Keys("notifier")
SID, TOKEN = "AC" + "0" * 32, "bench-token"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peer_stats(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats", timeout=5) as reply:
        return json.loads(reply.read())


class Rig:
    """redis-server, the provider and N paused workers."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            [find_redis_server(), "--port", str(self.redis_port), "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(tmp),
             "--logfile", str(tmp / "redis.log")])
        wait_for_port(self.redis_port)
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.peer_port = free_port()
        self.peer = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "peers" / "sms_provider.py"), "--port",
             str(self.peer_port), "--sid", SID, "--token", TOKEN])
        wait_for_port(self.peer_port)
        self.client = redis.Redis.from_url(self.redis_url)
        self.queue = DeliveryQueue(self.client, KEYS)

    def start_workers(self, count: int) -> list[subprocess.Popen]:
        env = {**os.environ, "REDIS_URL": self.redis_url, "SECRET_KEY": "bench",
               "NOTIFIER_BOOTSTRAP_ADMIN": "false",
               "NOTIFIER_INSTANCE_PATH": str(self.tmp / "instance"),
               "NOTIFIER_SMS_ACCOUNT_SID": SID, "NOTIFIER_SMS_AUTH_TOKEN": TOKEN,
               "NOTIFIER_SMS_FROM": "+15550000000",
               "NOTIFIER_SMS_BASE_URL": f"http://127.0.0.1:{self.peer_port}"}
        workers = []
        for i in range(count):
            log = (self.tmp / f"worker-{i}.log").open("w")
            workers.append(subprocess.Popen(
                [str(Path(sys.executable).parent / "notifier"), "worker"], env=env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            logs = [(self.tmp / f"worker-{i}.log").read_text() for i in range(count)]
            if all("delivery worker" in text for text in logs):
                break
            time.sleep(0.1)
        else:
            for worker in workers:
                worker.kill()
                worker.wait()
            raise RuntimeError("workers did not start: " + "".join(logs)[-2000:])
        return workers

    def one_run(self, workers: int, jobs: int) -> dict:
        self.client.flushdb()
        self.queue.ensure_group()
        processes = self.start_workers(workers)
        try:
            for process in processes:
                process.send_signal(signal.SIGSTOP)
            pipe = self.client.pipeline(transaction=False)
            for i in range(jobs):
                user = f"user{i}"
                pipe.hset(KEYS.preferences(user), "phone", f"+1555{i:07d}")
                self.queue.enqueue(user, {"id": f"{1_700_000_000_000 + i}-0", "user_id": user,
                                          "type": "ci", "title": f"Build {i} passed",
                                          "body": "All 812 tests green.", "priority": "normal",
                                          "link": None}, "sms", pipeline=pipe)
                if i % 1000 == 999:
                    pipe.execute()
            pipe.execute()
            accepted_before = peer_stats(self.peer_port)["accepted"]
            cpu_before = {p.pid: cpu_seconds(p.pid) for p in processes}
            peer_cpu, redis_cpu = cpu_seconds(self.peer.pid), cpu_seconds(self.redis.pid)
            started = time.perf_counter()
            for process in processes:
                process.send_signal(signal.SIGCONT)
            while True:
                counts = self.queue.counts()
                if counts["queued"] == counts["pending"] == 0:
                    break
                time.sleep(0.005)
            took = time.perf_counter() - started
            accepted = peer_stats(self.peer_port)["accepted"] - accepted_before
            worker_cpu = sum(cpu_seconds(p.pid) - cpu_before[p.pid] for p in processes)
            return {"jobs_per_s": jobs / took, "seconds": took, "accepted": accepted,
                    "worker_cpu_s": worker_cpu,
                    "peer_cpu_s": cpu_seconds(self.peer.pid) - peer_cpu,
                    "redis_cpu_s": cpu_seconds(self.redis.pid) - redis_cpu}
        finally:
            for process in processes:
                process.send_signal(signal.SIGCONT)
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=30)

    def stop(self) -> None:
        self.peer.terminate()
        self.peer.wait(timeout=10)
        self.redis.terminate()
        self.redis.wait(timeout=10)


def spread(values: list[float], digits: int = 0) -> dict:
    return {"median": round(statistics.median(values), digits),
            "min": round(min(values), digits), "max": round(max(values), digits)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rig = Rig(Path(tempfile.mkdtemp(prefix="notifier-bench-")))
    results = []
    try:
        for workers in args.workers:
            runs = [rig.one_run(workers, args.jobs) for _ in range(args.runs)]
            lost = [r for r in runs if r["accepted"] != args.jobs]
            if lost:
                raise SystemExit(f"provider accepted {lost[0]['accepted']} of {args.jobs}")
            results.append({
                "workers": workers,
                "jobs_per_s": spread([r["jobs_per_s"] for r in runs]),
                "cpu_per_job_us": {
                    name: round(statistics.median(r[f"{name}_cpu_s"] for r in runs)
                                * 1e6 / args.jobs)
                    for name in ("worker", "peer", "redis")},
            })
    finally:
        rig.stop()
    print(json.dumps({
        "benchmark": "worker_throughput", "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "runs": args.runs, "jobs": args.jobs, "results": results}))


if __name__ == "__main__":
    main()
