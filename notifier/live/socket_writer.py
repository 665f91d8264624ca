"""Writing an idle event stream's frames straight to its socket, from the hub greenlet.

Handing every live event to its stream's greenlet costs a greenlet switch and a
pass through the server's write path per stream; at a 10,000-stream broadcast
that is most of the fan-out's CPU. A stream that is idle (its greenlet parked
on an empty queue, so the server is not writing to its socket) can instead be
written to by the hub without blocking: ``send`` once, framed as gunicorn
frames it, and whatever does not fit is left to the stream's greenlet.

Only gunicorn's gevent worker over plain HTTP/1.x qualifies: there the
response is the socket's bytes, raw (HTTP/1.0) or in HTTP/1.1 chunks. TLS,
HTTP/2 and other servers frame bytes themselves; their streams take the usual
path.
"""

from __future__ import annotations

import socket
import ssl

import gevent.socket
import gevent.ssl


class SocketWriter:
    """A stream's client socket, written to without blocking."""

    __slots__ = ("chunked", "sock")

    def __init__(self, sock: socket.socket, *, chunked: bool):
        self.sock = sock
        self.chunked = chunked

    @classmethod
    def for_request(cls, environ: dict) -> SocketWriter | None:
        """A writer for this request's socket, or None when its bytes are framed elsewhere."""
        sock = environ.get("gunicorn.socket")  # gunicorn's gevent worker only
        protocol = environ.get("SERVER_PROTOCOL")
        if (not isinstance(sock, gevent.socket.socket)
                or isinstance(sock, ssl.SSLSocket | gevent.ssl.SSLSocket)
                or environ.get("REQUEST_METHOD") != "GET"
                or protocol not in ("HTTP/1.0", "HTTP/1.1")):
            return None
        # gunicorn chunks a body of unknown length for HTTP/1.1 (util.write_chunk).
        return cls(sock, chunked=protocol == "HTTP/1.1")

    def send(self, frames: bytes) -> bytes:
        """Write what the socket takes now; return the rest of the framed bytes."""
        wire = b"%X\r\n%s\r\n" % (len(frames), frames) if self.chunked else frames
        try:
            sent = self.sock.send(wire, 0, 0.0)  # gevent's send: raise rather than wait
        except OSError:  # full (EAGAIN) or closed: the stream's greenlet finds out which
            return wire
        return wire[sent:]

    def send_rest(self, wire: bytes) -> None:
        """Write, blocking this greenlet, the framed bytes :meth:`send` left."""
        self.sock.sendall(wire)
