"""A small threaded HTTP/1.1 server whose answers a peer decides, optionally over TLS."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .tls import TlsFiles


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HttpPeer:
    """Subclasses implement ``answer(request)``; ``script()`` queues canned answers."""

    def __init__(self, tls: TlsFiles | None = None):
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, as real servers

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path,
                                  {k.lower(): v for k, v in self.headers.items()},
                                  self.rfile.read(length) if length else b"")
                answer = peer._next(request)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_POST = do_GET = do_DELETE = _serve

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.server_context().wrap_socket(
                self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.requests: list[Request] = []
        self._scripted: collections.deque[Answer] = collections.deque()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    def script(self, *answers: Answer) -> None:
        """Answer the next requests with these, in order, before the peer's own answers."""
        self._scripted.extend(answers)

    def _next(self, request: Request) -> Answer:
        with self._lock:
            self.requests.append(request)
            scripted = self._scripted.popleft() \
                if self._scripted and self.scriptable(request) else None
        return scripted or self.answer(request)

    def scriptable(self, request: Request) -> bool:
        """Whether a scripted answer may answer this request."""
        return True

    def answer(self, request: Request) -> Answer:
        raise NotImplementedError

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
