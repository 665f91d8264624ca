"""A small WebSocket client for tests of ``/ws`` (websocket-client, read on a thread).

A thread reads the socket all the time, as a browser does: it answers the
server's pings (the server closes a socket that answers none), and sorts what
arrives into events (``{"event": ...}``) and replies (``{"type": ...}``).
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import websocket
from websocket import ABNF


@dataclass
class WsEvent:
    event: str
    id: str | None
    data: Any

    @property
    def nid(self) -> str | None:
        """The inbox part of the id (``<inbox position>_<broadcast position>``)."""
        return None if self.id is None else self.id.partition("_")[0]


class Refused(Exception):
    """The server answered the handshake with an HTTP error."""

    def __init__(self, status: int, body: bytes | None):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.json = json.loads(body) if body else None


def ws_url(base_url: str, path: str) -> str:
    return "ws" + base_url.removeprefix("http") + path


class WSClient:
    """One open ``/ws`` socket."""

    def __init__(self, base_url: str, path: str, *, origin: str | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 10.0,
                 sslopt: dict | None = None):
        options = {"origin": origin} if origin else {"suppress_origin": True}
        if sslopt:  # a wss URL: e.g. {"ca_certs": path} for the test's certificate
            options["sslopt"] = sslopt
        try:
            self.ws = websocket.create_connection(
                ws_url(base_url, path), timeout=timeout,
                header=[f"{name}: {value}" for name, value in (headers or {}).items()],
                **options)
        except websocket.WebSocketBadStatusException as exc:
            raise Refused(exc.status_code, exc.resp_body) from None
        self.events: queue.Queue = queue.Queue()
        self.replies: queue.Queue = queue.Queue()
        self.pings = 0
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                opcode, frame = self.ws.recv_data_frame(control_frame=True)
                if opcode == ABNF.OPCODE_PING:
                    self.pings += 1
                elif opcode == ABNF.OPCODE_CLOSE:
                    if len(frame.data) >= 2:
                        self.close_code = int.from_bytes(frame.data[:2], "big")
                        self.close_reason = frame.data[2:].decode()
                    return
                elif opcode == ABNF.OPCODE_TEXT:
                    message = json.loads(frame.data)
                    if "event" in message:
                        self.events.put(WsEvent(message["event"], message["id"],
                                                message["data"]))
                    else:
                        self.replies.put(message)
        except (websocket.WebSocketException, OSError):
            return
        finally:
            self.closed.set()
            self.events.put(None)
            self.replies.put(None)

    def next_event(self, within: float = 10.0) -> WsEvent | None:
        """The next event (None once the server closed the socket)."""
        try:
            return self.events.get(timeout=within)
        except queue.Empty:
            raise TimeoutError(f"no event within {within} s") from None

    def next_of(self, kind: str, within: float = 10.0) -> WsEvent:
        """The next event named ``kind``, skipping others."""
        deadline = time.monotonic() + within
        while True:
            event = self.next_event(within=max(0.0, deadline - time.monotonic()))
            assert event is not None, f"socket closed before a {kind!r} event"
            if event.event == kind:
                return event

    def send(self, message: Any) -> None:
        """Send ``message`` as JSON text (a str as it is)."""
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def ask(self, message: Any, within: float = 10.0) -> dict:
        """Send ``message``; the server's reply."""
        self.send(message)
        try:
            reply = self.replies.get(timeout=within)
        except queue.Empty:
            raise TimeoutError(f"no reply within {within} s") from None
        assert reply is not None, "socket closed before the reply"
        return reply

    def wait_closed(self, within: float = 10.0) -> int | None:
        """The server's close code, once it has closed the socket."""
        assert self.closed.wait(within), f"still open after {within} s"
        return self.close_code

    def close(self) -> None:
        """Close as a browser does: a close frame, the server's answer, then the socket."""
        if not self.closed.is_set():
            with contextlib.suppress(websocket.WebSocketException, OSError):
                self.ws.send_close()
            self.closed.wait(5)
        self.ws.shutdown()

    def drop(self) -> None:
        """Go away without a word (a killed tab): the TCP connection ends, no close frame."""
        with contextlib.suppress(OSError):
            self.ws.sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread too
        self.ws.shutdown()
        self.closed.wait(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
