"""A small blocking SSE client for tests, reading a real HTTP stream."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Event:
    event: str
    data: str
    id: str | None
    retry: int | None

    def json(self):
        return json.loads(self.data)

    @property
    def nid(self) -> str | None:
        """The inbox part of the id (``<inbox position>_<broadcast position>``)."""
        return None if self.id is None else self.id.partition("_")[0]

    @property
    def bpos(self) -> str | None:
        """The broadcast-log part of the id."""
        return None if self.id is None else self.id.partition("_")[2]


class SSEStream:
    """One open event stream over a raw socket (so tests control every byte)."""

    def __init__(self, base_url: str, path: str, headers: dict[str, str] | None = None,
                 timeout: float = 10.0, *, version: str = "1.1", receive_buffer: int = 0,
                 tls: ssl.SSLContext | None = None):
        parts = urlsplit(base_url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:  # set before connecting, so the window stays small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(timeout)
        self.sock.connect((parts.hostname, parts.port))
        if tls is not None:  # an https URL: the context trusts the test's certificate
            self.sock = tls.wrap_socket(self.sock, server_hostname=parts.hostname)
        lines = [f"GET {path} HTTP/{version}", f"Host: {parts.netloc}",
                 "Accept: text/event-stream"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.reader = self.sock.makefile("rb")
        status_line = self.reader.readline().decode()
        self.status = int(status_line.split()[1])
        self.headers: dict[str, str] = {}
        while (line := self.reader.readline().decode().rstrip("\r\n")):
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self._buffer = b""
        self.closed = False

    def _more(self) -> bool:
        if self.chunked:
            size_line = self.reader.readline()
            if not size_line:
                return False
            size = int(size_line.strip() or b"0", 16)
            if size == 0:
                return False
            self._buffer += self.reader.read(size)
            trailer = self.reader.readline()
            assert trailer == b"\r\n", f"a chunk of {size} bytes ended with {trailer!r}"
            return True
        data = self.reader.read1(65536)
        self._buffer += data
        return bool(data)

    def next_event(self, *, include_comments: bool = False, within: float = 10.0) -> Event | None:
        """The next event (None when the server closed the stream).

        Heartbeats keep the socket busy, so a deadline (not the socket timeout)
        ends the wait for an event that never comes.
        """
        deadline = time.monotonic() + within
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no event within {within} s")
            while b"\n\n" not in self._buffer:
                if not self._more():
                    self.closed = True
                    return None
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            fields: dict[str, list[str]] = {}
            comment = None
            for line in block.decode().split("\n"):
                if line.startswith(":"):
                    comment = line[1:].strip()
                    continue
                name, _, value = line.partition(": ")
                assert name in ("id", "event", "data", "retry"), f"not an SSE line: {line!r}"
                fields.setdefault(name, []).append(value)
            if not fields:
                if include_comments and comment is not None:
                    return Event("comment", comment, None, None)
                continue
            if "data" not in fields and "retry" in fields and "event" not in fields:
                if include_comments:
                    return Event("retry", "", None, int(fields["retry"][0]))
                continue
            return Event(fields.get("event", ["message"])[0], "\n".join(fields.get("data", [])),
                         fields.get("id", [None])[0],
                         int(fields["retry"][0]) if "retry" in fields else None)

    def next_of(self, kind: str, within: float = 10.0) -> Event:
        """The next event named ``kind``, skipping others."""
        deadline = time.monotonic() + within
        while True:
            event = self.next_event(within=max(0.0, deadline - time.monotonic()))
            assert event is not None, f"stream closed before a {kind!r} event"
            if event.event == kind:
                return event

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Follower(threading.Thread):
    """A browser's EventSource for one user: reads notification ids and reconnects
    with Last-Event-ID whenever its stream ends, until told to stop."""

    def __init__(self, servers: list, user: str):
        super().__init__(daemon=True)
        self.servers, self.user = servers, user
        self.ids: list[str] = []
        self.last_event_id: str | None = None
        self.ready = threading.Event()
        self.done = threading.Event()
        self.connections = 0

    def run(self) -> None:
        from notifier.core import widget_tokens

        while not self.done.is_set():
            server = self.servers[self.connections % len(self.servers)]
            self.connections += 1
            token = widget_tokens.mint("test-secret", self.user, 300)[0]
            headers = {"Last-Event-ID": self.last_event_id} if self.last_event_id else {}
            try:
                with SSEStream(server.url, f"/events?token={token}", headers,
                               timeout=5) as stream:
                    if stream.status != 200:
                        time.sleep(0.2)
                        continue
                    while not self.done.is_set():
                        try:
                            event = stream.next_event(include_comments=True, within=0.5)
                        except TimeoutError:
                            continue
                        if event is None:
                            break  # the server ended the stream: reconnect
                        self.ready.set()
                        if event.id:
                            self.last_event_id = event.id
                        if event.event == "notification":
                            self.ids.append(event.nid)
            except (OSError, ConnectionError, ValueError):
                time.sleep(0.2)
