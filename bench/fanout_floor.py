"""What one broadcast costs per stream at the bottom of the stack, without notifier.

One gevent process, N loopback TCP connections, N greenlets each waiting on a
gevent Queue (as a stream waits on its hub mailbox). One message is handed to
every queue; the time until every greenlet has run is divided by N. Modes:

* ``wake``: the greenlet wakes and does nothing;
* ``send``: no greenlets, one loop writes a 360-byte frame to every socket;
* ``both``: the greenlet wakes and writes its frame (sendall);
* ``pywsgi``: each connection is an HTTP/1.1 request to a bare WSGI app served by
  gevent.pywsgi whose body generator yields the frame (the server's write path).

Clients are only read after each round, so the figure is the server side's.
Usage: ``python bench/fanout_floor.py [N]``; one JSON line, median and spread of 5 rounds.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
import gevent.queue  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

FRAME = b"id: 1795275114152-0_1795275114100-3\nevent: broadcast\ndata: " + b"x" * 300 + b"\n\n"


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def drain(clients: list[socket.socket]) -> None:
    for client in clients:
        try:
            while client.recv(65536):
                pass
        except BlockingIOError:
            pass


def connect_pairs(n: int) -> tuple[list[socket.socket], list[socket.socket]]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(n)
    clients, servers = [], []
    for _ in range(n):
        clients.append(socket.create_connection(listener.getsockname()))
        servers.append(listener.accept()[0])
    return clients, servers


def measure(n: int, mode: str, rounds: int = 5) -> list[float]:
    """CPU microseconds per stream of each round."""
    queues: list[gevent.queue.Queue] = []
    greenlets: list[gevent.Greenlet] = []
    servers: list[socket.socket] = []
    server = None
    pending = [0]
    finished = gevent.event.Event()

    def done_one() -> None:
        pending[0] -= 1
        if pending[0] == 0:
            finished.set()

    if mode == "pywsgi":
        def app(environ, start_response):
            mailbox = gevent.queue.Queue(256)
            queues.append(mailbox)
            start_response("200 OK", [("Content-Type", "text/event-stream")])

            def body():
                yield b": connected\n\n"
                while True:
                    mailbox.get()
                    yield FRAME
                    done_one()
            return body()

        server = WSGIServer(("127.0.0.1", 0), app, log=None, backlog=n)
        server.start()
        clients = []
        for _ in range(n):
            client = socket.create_connection(("127.0.0.1", server.server_port))
            client.sendall(b"GET /events HTTP/1.1\r\nHost: bench\r\n\r\n")
            clients.append(client)
        while len(queues) < n:
            gevent.sleep(0.05)
    else:
        clients, servers = connect_pairs(n)

        def stream(mailbox: gevent.queue.Queue, sock: socket.socket) -> None:
            while True:
                mailbox.get()
                if mode == "both":
                    sock.sendall(FRAME)
                done_one()

        if mode != "send":
            for sock in servers:
                queues.append(gevent.queue.Queue(256))
                greenlets.append(gevent.spawn(stream, queues[-1], sock))
    for client in clients:
        client.setblocking(False)
    gevent.sleep(0.5)
    drain(clients)
    results = []
    for _ in range(rounds):
        pending[0] = n
        finished.clear()
        started = cpu()
        if mode == "send":
            for sock in servers:
                sock.sendall(FRAME)
        else:
            for mailbox in queues:
                mailbox.put_nowait(1)
            finished.wait()
        results.append((cpu() - started) / n * 1e6)
        drain(clients)
        gevent.sleep(0.2)
    gevent.killall(greenlets)
    if server is not None:
        server.stop(timeout=1)
    for sock in clients + servers:
        sock.close()
    return results


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    out = {"benchmark": "fanout_floor", "streams": n, "unit": "CPU us per stream"}
    for mode in ("wake", "send", "both", "pywsgi"):
        values = sorted(measure(n, mode))
        out[mode] = {"median": round(values[len(values) // 2], 1),
                     "min": round(values[0], 1), "max": round(values[-1], 1)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
