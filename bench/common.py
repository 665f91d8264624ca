"""Shared pieces of the benchmarks: a redis-server and a gunicorn server on free ports."""

from __future__ import annotations

import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notifier.stores.connection import connect  # noqa: E402
from notifier.stores.embedded_redis import find_redis_server  # noqa: E402
from notifier.stores.local_cluster import LocalCluster  # noqa: E402
from notifier.stores.nodes import masters  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


class Servers:
    """redis-server (AOF everysec, as the embedded default has it; ``aof=False`` for
    none) or a local Redis Cluster (``cluster=True``: 3 masters, 3 replicas, no AOF),
    and gunicorn."""

    def __init__(self, workers: int = 2, env: dict[str, str] | None = None,
                 app: str = "wsgi:app", *, cluster: bool = False, aof: bool = True):
        self.tmp = Path(tempfile.mkdtemp(prefix="notifier-bench-"))
        self.cluster = None
        if cluster:
            self.cluster = LocalCluster(self.tmp / "cluster").start()
            self.redis = None
            self.redis_url = self.cluster.url
        else:
            self.redis_port = free_port()
            self.redis = subprocess.Popen(
                [find_redis_server(), "--port", str(self.redis_port), "--save", "",
                 "--appendonly", "yes" if aof else "no", "--appendfsync", "everysec",
                 "--dir", str(self.tmp), "--logfile", str(self.tmp / "redis.log"),
                 "--pidfile", str(self.tmp / "redis.pid")])
            wait_for_port(self.redis_port)
            self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, "REDIS_URL": self.redis_url, "SECRET_KEY": "bench",
                    "NOTIFIER_BOOTSTRAP_ADMIN": "false", "NOTIFIER_ACCESS_LOG": "",
                    "NOTIFIER_INSTANCE_PATH": str(self.tmp / "instance"),
                    "NOTIFIER_BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(workers),
                    # Checked on every API call like the default, never reached by a load.
                    "NOTIFIER_API_RATE_LIMIT": "100000000 per hour",
                    # Every stream comes from loopback: the per-address cap is off.
                    "NOTIFIER_STREAMS_PER_ADDRESS": "0",
                    **(env or {})}
        self.gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
             "--pythonpath", str(ROOT / "bench"), app],
            cwd=ROOT, env=full_env, stdout=(self.tmp / "gunicorn.log").open("w"),
            stderr=subprocess.STDOUT)
        wait_for_port(self.port)
        time.sleep(1.5)  # let every worker boot before measuring

    def redis_pids(self) -> dict[str, int]:
        """The redis-server pid of each master (``redis`` on one Redis)."""
        if self.cluster is None:
            return {"redis": self.redis.pid}
        client = self.client()
        return {node.name: int((self.cluster.folder / str(node.port) / "redis.pid")
                               .read_text()) for node in client.get_primaries()}

    def redis_usage(self) -> dict[str, tuple[float, int]]:
        """CPU seconds and commands processed so far, per master."""
        ticks = os.sysconf("SC_CLK_TCK")
        client = self.client()
        nodes = ({"redis": client} if self.cluster is None else
                 {n.name: client.get_redis_connection(n) for n in client.get_primaries()})
        usage = {}
        for name, pid in self.redis_pids().items():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            commands = nodes[name].info("stats")["total_commands_processed"]
            usage[name] = ((int(fields[11]) + int(fields[12])) / ticks, commands)
        return usage

    def client(self) -> redis.Redis | redis.RedisCluster:
        return connect(self.redis_url, pool_size=16, client_name="bench")

    def worker_rss_kb(self) -> int:
        """Resident memory of all workers together, in KiB."""
        total = 0
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total

    def worker_cpu_s(self) -> float:
        """CPU seconds the workers have used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / ticks

    def open_client_connections(self) -> int:
        """TCP connections clients hold to the server right now."""
        out = subprocess.run(["ss", "-tnH", "state", "established", f"( sport = :{self.port} )"],
                             capture_output=True, text=True).stdout
        return len(out.splitlines())

    def wait_idle(self, timeout: float = 60) -> None:
        """Wait until the server has let go of every client connection.

        Dropped streams are noticed at their next heartbeat; a scenario that
        starts before then would share the workers' connection limit with them.
        """
        deadline = time.monotonic() + timeout
        while self.open_client_connections() and time.monotonic() < deadline:
            time.sleep(0.2)

    def server_connections(self) -> int:
        """Redis connections the servers hold (the benchmark's own excluded)."""
        return sum(1 for node in masters(self.client()) for c in node.client_list()
                   if c["name"] != "bench")

    def api_key(self) -> str:
        from notifier.core.keys import Keys
        from notifier.stores.api_keys import ApiKeys

        return ApiKeys(self.client(), Keys("notifier")).create("bench")[1]

    def settle(self) -> None:
        """Empty Redis and wait until no AOF rewrite runs, so runs do not overlap."""
        for client in masters(self.client()):
            client.flushdb()
            if client.config_get("appendonly")["appendonly"] != "yes":
                continue
            client.bgrewriteaof()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                info = client.info("persistence")
                if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
                    break
                time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.gunicorn.pid)], capture_output=True,
                             text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self) -> None:
        self.gunicorn.send_signal(signal.SIGTERM)
        self.gunicorn.wait(timeout=30)
        if self.cluster is not None:
            self.cluster.stop()
            return
        self.redis.terminate()
        self.redis.wait(timeout=10)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def summary(values: list[float]) -> dict[str, float]:
    """Median and spread (min, max) of repeated runs."""
    digits = 2 if max(abs(v) for v in values) < 10 else 1  # CPU seconds need the 2nd
    return {"median": round(statistics.median(values), digits),
            "min": round(min(values), digits), "max": round(max(values), digits)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
