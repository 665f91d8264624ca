"""A local Redis Cluster of 3 masters and 3 replicas, for trying the cluster mode
and for the test suite's cluster pass.

``python -m notifier.stores.local_cluster start <folder>`` starts six
redis-servers on consecutive free ports, each in ``<folder>/<port>/`` with its
pid file, joins them with ``redis-cli --cluster create`` and prints the
``REDIS_URL``; ``stop <folder>`` stops them by pid. ``make cluster`` runs it on
``instance/cluster``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

from notifier.stores.embedded_redis import find_redis_server

#: Masters, and replicas per master.
MASTERS = 3
REPLICAS = 1
#: Seconds a node may be unreachable before its replica takes over.
NODE_TIMEOUT_MS = 1000


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0 and _bindable(port)


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        # The cluster bus listens on port + 10000.
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port + 10000))
        except OSError:
            return False
    return True


class PortTaken(RuntimeError):
    """A node's port was taken by another process before the node could listen."""


def free_ports(count: int, after: int | None = None) -> list[int]:
    """``count`` ports whose cluster-bus ports (+10000) are free too."""
    ports: list[int] = []
    port = after or 20000 + (os.getpid() * 7) % 20000
    while len(ports) < count:
        if port > 45000:
            port = 20000
        if _port_free(port):
            ports.append(port)
        port += 1
    return ports


class LocalCluster:
    """Six redis-servers in ``folder`` joined as one cluster."""

    def __init__(self, folder: str | os.PathLike, ports: list[int] | None = None):
        self.folder = Path(folder).resolve()
        self.ports = ports or free_ports(MASTERS * (1 + REPLICAS))

    @property
    def url(self) -> str:
        """The ``REDIS_URL`` naming every node."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def node_args(self, port: int) -> list[str]:
        """The command line of the node on ``port``."""
        node = self.folder / str(port)
        return [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1",
                "--cluster-enabled", "yes", "--cluster-config-file", str(node / "nodes.conf"),
                "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                "--cluster-require-full-coverage", "no", "--repl-diskless-sync-delay", "0",
                "--appendonly", "no", "--save", "", "--dir", str(node),
                "--logfile", str(node / "redis.log"), "--pidfile", str(node / "redis.pid"),
                "--daemonize", "no"]

    def start_node(self, port: int) -> subprocess.Popen:
        """Start (or restart) the node on ``port`` and wait until it answers."""
        (self.folder / str(port)).mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(self.node_args(port), start_new_session=True,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        # Ours must answer: another process may have taken the port since it was free.
        while b"process_id:%d\r\n" % process.pid not in self._ask(port, b"INFO", b"server"):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise PortTaken(f"redis-server on {port} did not start; see "
                                f"{self.folder / str(port) / 'redis.log'}")
            time.sleep(0.02)
        return process

    def start(self) -> LocalCluster:
        """Start every node, create the cluster and wait for ``cluster_state:ok``."""
        for attempt in range(3):
            if self.folder.exists():
                shutil.rmtree(self.folder)
            self.folder.mkdir(parents=True)
            (self.folder / "ports").write_text(" ".join(map(str, self.ports)))
            try:
                for port in self.ports:
                    self.start_node(port)
                break
            except PortTaken:
                self.stop()
                if attempt == 2:
                    raise
                self.ports = free_ports(len(self.ports), after=max(self.ports) + 1)
        subprocess.run(
            [_redis_cli(), "--cluster", "create",
             *(f"127.0.0.1:{port}" for port in self.ports),
             "--cluster-replicas", str(REPLICAS), "--cluster-yes"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.wait_ok()
        return self

    def wait_ok(self, timeout: float = 30) -> None:
        """Wait until every node reports ``cluster_state:ok`` and sees every replica."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._state_ok(port) for port in self.ports):
                return
            time.sleep(0.05)
        raise RuntimeError("the cluster did not reach cluster_state:ok")

    def stop(self) -> None:
        """Stop every node by the pid in its pid file."""
        for port in self.ports:
            self.stop_node(port, signal.SIGTERM)

    def stop_node(self, port: int, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the node on ``port`` and wait for it to be gone."""
        pid_file = self.folder / str(port) / "redis.pid"
        try:
            pid = int(pid_file.read_text())
        except (OSError, ValueError):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.02)
        pid_file.unlink(missing_ok=True)

    def _answers(self, port: int) -> bool:
        return self._ask(port, b"PING").startswith(b"+PONG")

    def _state_ok(self, port: int) -> bool:
        info = self._ask(port, b"CLUSTER", b"INFO")
        return b"cluster_state:ok" in info and b"cluster_known_nodes:%d" % len(self.ports) in info

    @staticmethod
    def _ask(port: int, *words: bytes) -> bytes:
        command = b"*%d\r\n" % len(words) + b"".join(
            b"$%d\r\n%s\r\n" % (len(word), word) for word in words)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                conn.sendall(command)
                return conn.recv(65536)
        except OSError:
            return b""


def _redis_cli() -> str:
    found = shutil.which("redis-cli") or str(Path(find_redis_server()).with_name("redis-cli"))
    if not os.access(found, os.X_OK):
        raise RuntimeError("redis-cli is needed to create a cluster")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="local_cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("folder")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    if args.action == "start":
        cluster = LocalCluster(folder).start()
        click.echo(f"REDIS_URL={cluster.url}")
        click.echo(f"stop it with: {sys.executable} -m notifier.stores.local_cluster stop "
                   f"{folder}")
    else:
        ports_file = folder / "ports"
        if not ports_file.exists():
            click.echo(f"no cluster in {folder}", err=True)
            return 1
        LocalCluster(folder, [int(p) for p in ports_file.read_text().split()]).stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
