"""Live delivery under load: notifier against flask-sse on this machine, one JSON line.

Each target runs under the same gunicorn.conf.py (2 gevent workers) on its own
redis-server. An asyncio client (one process, asyncio.Protocol, HTTP/1.0 so
frames arrive unchunked; it reports its own CPU) holds the streams; a second
process sends, stamping each notification with CLOCK_MONOTONIC in ``data.t``,
so latency is arrival minus stamp on the same clock. Scenarios:

* hold: as many idle streams as asked (notifier 20,000; flask-sse 9,000, since
  it needs one Redis connection per stream and Redis allows 10,000 clients):
  worker RSS per stream and the servers' Redis connections;
* unicast: 2,000 streams, 1,000 sends/s to random users for --seconds, through
  the send function (notifier's Inbox.send, flask-sse's sse.publish) and, for
  notifier, through the HTTP API: latency p50/p99/max, lost, duplicated;
* fanout: one send to 5,000 connected users (flask-sse: 5,000 sse.publish
  calls, as it has no multi-user send): time until every stream has it;
* broadcast (notifier only): one broadcast (stored once, every hub fans it
  out encoded once) to 10,000 open streams: time until every stream has it;
* storm: 5,000 streams dropped at once, 3 notifications sent to each user,
  all reconnecting with Last-Event-ID: time until every stream caught up,
  lost, duplicated.

Every scenario runs --runs times; the JSON holds median and min-max spread.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import resource
import time
from datetime import UTC, datetime

from common import Servers, cpu_seconds, percentile, summary

SECRET = "bench-secret"


# -- the streams ------------------------------------------------------------------


class Tally:
    """What all streams of one scenario received."""

    def __init__(self):
        self.latencies_ns: list[int] = []
        self.notifications = 0
        self.duplicates = 0
        self.last_arrival_ns = 0


class Stream(asyncio.Protocol):
    """One event stream; parses just enough of each frame to time it."""

    def __init__(self, request: bytes, tally: Tally):
        self.request = request
        self.tally = tally
        self.buffer = b""
        self.headers_done = False
        self.status = 0
        self.ready = False
        self.closed = False
        self.last_id: bytes | None = None
        self.seen: set[bytes] = set()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        buffer = self.buffer + data
        if not self.headers_done:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            self.status = int(buffer[9:12])
            self.headers_done = True
            buffer = buffer[end + 4:]
        while (end := buffer.find(b"\n\n")) >= 0:
            frame, buffer = buffer[:end], buffer[end + 2:]
            stamp = frame.find(b'"t":')
            if stamp >= 0:
                self._notification(frame, stamp, now)
            elif frame.startswith(b"event: unread") or b"\nevent: unread" in frame:
                self.ready = True
        self.buffer = buffer

    def _notification(self, frame: bytes, stamp: int, now: int) -> None:
        at = 0 if frame.startswith(b"id:") else frame.find(b"\nid:") + 1
        line_end = frame.find(b"\n", at)
        event_id = frame[at + 3:line_end if line_end > 0 else None].strip()
        if event_id in self.seen:
            self.tally.duplicates += 1
            return
        self.seen.add(event_id)
        self.last_id = event_id
        digits = frame[stamp + 4:frame.find(b"}", stamp)].split(b",")[0]
        self.tally.latencies_ns.append(now - int(digits))
        self.tally.notifications += 1
        self.tally.last_arrival_ns = max(self.tally.last_arrival_ns, now)

    def connection_lost(self, exc) -> None:
        self.closed = True

    def drop(self) -> None:
        self.transport.abort()


async def open_streams(port: int, requests: list[bytes], tally: Tally) -> list[Stream]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(200)

    async def one(request: bytes) -> Stream:
        async with gate:
            _, protocol = await loop.create_connection(
                lambda: Stream(request, tally), "127.0.0.1", port)
            return protocol

    return await asyncio.gather(*(one(r) for r in requests))


async def until(predicate, timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


# -- the targets ------------------------------------------------------------------


class Notifier:
    name = "notifier"
    app = os.environ.get("BENCH_NOTIFIER_APP", "wsgi:app")

    def __init__(self, servers: Servers):
        self.servers = servers

    def request(self, user: str, cursor: bytes | None = None) -> bytes:
        from notifier.core import widget_tokens as tokens

        token = tokens.mint(SECRET, user, 3600)[0]
        last = f"Last-Event-ID: {cursor.decode()}\r\n" if cursor else ""
        return f"GET /events?token={token} HTTP/1.0\r\n{last}\r\n".encode()

    async def ready(self, streams: list[Stream], timeout: float) -> bool:
        return await until(lambda: all(s.ready for s in streams), timeout)


class FlaskSSE:
    name = "flask-sse"
    app = "flask_sse_app:app"

    def __init__(self, servers: Servers):
        self.servers = servers

    def request(self, user: str, cursor: bytes | None = None) -> bytes:
        last = f"Last-Event-ID: {cursor.decode()}\r\n" if cursor else ""
        return f"GET /stream?channel={user} HTTP/1.0\r\n{last}\r\n".encode()

    async def ready(self, streams: list[Stream], timeout: float) -> bool:
        client = self.servers.client()
        # flask-sse sends nothing until the first event: watch its subscriptions.
        return await until(lambda: len(client.pubsub_channels("u*")) >= len(streams), timeout,
                           step=0.2)


# -- the senders (a process of their own) --------------------------------------------


def send_function(target: str, redis_url: str, plan: list[list[str]], rate: float,
                  done) -> None:
    """Send ``plan`` (a list of recipient lists) at ``rate`` sends per second."""

    if target == "notifier":
        from notifier.core.keys import Keys
        from notifier.model.requests import NotificationContent
        from notifier.stores.connection import connect
        from notifier.stores.inbox import Inbox

        inbox = Inbox(connect(redis_url, pool_size=4, client_name="bench"), Keys("notifier"),
                      cap=1000, idempotency_ttl=60)

        def send(users: list[str]) -> None:
            content = NotificationContent(title="Build passed", type="ci",
                                          data={"t": time.monotonic_ns()})
            inbox.send([content], [(u, 0) for u in users])
    else:
        os.environ["REDIS_URL"] = redis_url  # read by the flask-sse app at import
        from flask_sse_app import app, sse

        context = app.app_context()
        context.push()
        counter = iter(range(1, 10**9))

        def send(users: list[str]) -> None:
            stamp = time.monotonic_ns()
            for user in users:  # flask-sse publishes one channel at a time
                sse.publish({"title": "Build passed", "t": stamp}, type="notification",
                            id=str(next(counter)), channel=user)

    started = time.monotonic()
    for i, users in enumerate(plan):
        if rate:
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        send(users)
    done.set()


def send_broadcast(redis_url: str, done) -> None:
    """Create one broadcast stamped with the time of the call."""

    from notifier.core.keys import Keys
    from notifier.model.requests import BroadcastRequest
    from notifier.stores.broadcasts import Broadcasts
    from notifier.stores.connection import connect

    broadcasts = Broadcasts(connect(redis_url, pool_size=4, client_name="bench"),
                            Keys("notifier"), cap=1000, idempotency_ttl=60)
    broadcasts.create(BroadcastRequest(title="Maintenance tonight", type="system",
                                       data={"t": time.monotonic_ns()}))
    done.set()


def send_http(port: int, key: str, plan: list[list[str]], rate: float,
              done) -> None:
    """Send ``plan`` through POST /api/v1/notifications at ``rate`` per second."""

    async def run():
        connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(8)]
        free: asyncio.Queue = asyncio.Queue()
        for connection in connections:
            free.put_nowait(connection)

        async def post(users: list[str]):
            reader, writer = await free.get()
            body = json.dumps({"user_id": users[0], "title": "Build passed", "type": "ci",
                               "data": {"t": time.monotonic_ns()}}).encode()
            writer.write(f"POST /api/v1/notifications HTTP/1.1\r\nHost: b\r\n"
                         f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n"
                         .encode() + body)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            free.put_nowait((reader, writer))

        started = time.monotonic()
        tasks = []
        for i, users in enumerate(plan):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(users)))
        await asyncio.gather(*tasks)

    asyncio.run(run())
    done.set()


SPAWN = multiprocessing.get_context("spawn")  # never fork a process running an event loop


def in_background(function, *args):
    done = SPAWN.Event()
    SPAWN.Process(target=function, args=(*args, done), daemon=True).start()
    return done


async def wait_done(done, timeout: float) -> None:
    await until(done.is_set, timeout, step=0.01)


# -- the scenarios ------------------------------------------------------------------


async def flush_dead_subscribers(servers: Servers, users: int) -> None:
    """flask-sse notices a dropped client only when a message arrives on its channel
    (flask-sse #6): publish one to each, so the next scenario starts clean."""
    client = servers.client()
    pipe = client.pipeline(transaction=False)
    for i in range(users):
        pipe.publish(f"u{i}", json.dumps({"data": "flush"}))
    pipe.execute()
    await until(lambda: servers.server_connections() <= 8, 60, step=0.5)


def hold_part(target_name: str, first: int, last: int, port: int, report, stop) -> None:
    """Hold streams for users ``first..last-1`` in this process until told to stop.

    A process may not open more than the hard descriptor limit (20,000 here),
    so 20,000 streams are held by two of these.
    """
    target = TARGETS[target_name](None)

    async def run():
        tally = Tally()
        streams = await open_streams(port, [target.request(f"u{i}")
                                            for i in range(first, last)], tally)
        if target_name == "notifier":
            await until(lambda: all(s.ready for s in streams), 180)
        else:  # flask-sse sends nothing until the first event
            await asyncio.sleep(5)
        report.put(("ready", sum(1 for s in streams if not s.closed)))
        await until(stop.is_set, 600, step=0.1)
        report.put(("held", sum(1 for s in streams if not s.closed)))
        for stream in streams:
            stream.drop()

    asyncio.run(run())


async def hold(target, count: int) -> dict:
    servers = target.servers
    before_rss = servers.worker_rss_kb()
    parts = 2 if count > 10_000 else 1
    report, stop = SPAWN.Queue(), SPAWN.Event()
    started = time.monotonic()
    for part in range(parts):
        SPAWN.Process(target=hold_part, daemon=True, args=(
            target.name, part * count // parts, (part + 1) * count // parts,
            servers.port, report, stop)).start()
    loop = asyncio.get_running_loop()
    ready = sum([(await loop.run_in_executor(None, report.get, True, 300))[1]
                 for _ in range(parts)])
    opened_s = time.monotonic() - started
    if target.name == "flask-sse":  # its only sign of a live stream is a subscription
        client = servers.client()
        await until(lambda: len(client.pubsub_channels("u*")) >= count, 60, step=0.5)
    await asyncio.sleep(2)
    after_rss = servers.worker_rss_kb()
    connections = servers.server_connections()
    stop.set()
    held = sum([(await loop.run_in_executor(None, report.get, True, 60))[1]
                for _ in range(parts)])
    cleaned = await until(lambda: servers.server_connections() <= 8, 10, step=0.5)
    left_behind = servers.server_connections()
    if not cleaned:
        await flush_dead_subscribers(servers, count)
    return {"streams": held, "ready": ready, "open_s": round(opened_s, 1),
            "rss_per_stream_kb": round((after_rss - before_rss) / max(held, 1), 1),
            "redis_connections": connections,
            "redis_connections_10s_after_clients_left": left_behind}


async def unicast(target, *, via: str, streams_count: int, rate: float, seconds: float) -> dict:
    servers = target.servers
    tally = Tally()
    streams = await open_streams(servers.port, [target.request(f"u{i}")
                                                for i in range(streams_count)], tally)
    ready = await target.ready(streams, timeout=60)
    plan = [[f"u{random.randrange(streams_count)}"] for _ in range(int(rate * seconds))]
    cpu = servers.worker_cpu_s()
    if via == "http":
        done = in_background(send_http, servers.port, servers.api_key(), plan, rate)
    else:
        done = in_background(send_function, target.name, servers.redis_url, plan, rate)
    await wait_done(done, seconds * 3 + 30)
    await until(lambda: tally.notifications >= len(plan), 5)
    cpu = servers.worker_cpu_s() - cpu
    for stream in streams:
        stream.drop()
    latencies = tally.latencies_ns or [0]
    return {"all_ready": ready, "expected": len(plan), "delivered": tally.notifications,
            "worker_cpu_ms_per_send": round(cpu * 1000 / len(plan), 3),
            "lost": len(plan) - tally.notifications, "duplicated": tally.duplicates,
            "p50_ms": round(percentile(latencies, 0.5) / 1e6, 2),
            "p99_ms": round(percentile(latencies, 0.99) / 1e6, 2),
            "max_ms": round(max(latencies) / 1e6, 2)}


async def fanout(target, *, users: int) -> dict:
    servers = target.servers
    tally = Tally()
    streams = await open_streams(servers.port, [target.request(f"u{i}") for i in range(users)],
                                 tally)
    ready = await target.ready(streams, timeout=60)
    done = in_background(send_function, target.name, servers.redis_url,
                         [[f"u{i}" for i in range(users)]], 0)
    await until(lambda: tally.notifications >= users, 20, step=0.005)
    await wait_done(done, 30)
    for stream in streams:
        stream.drop()
    # Each notification carries the time of the send call: the largest latency
    # is the time from the call until the last stream had it.
    return {"all_ready": ready, "users": users, "delivered": tally.notifications,
            "all_delivered_s": round(max(tally.latencies_ns) / 1e9, 3)
            if tally.notifications >= users else None}


def broadcast_part(first: int, last: int, port: int, report, go) -> None:
    """Hold streams ``first..last-1``, then time one broadcast's arrival on each.

    A bare epoll loop rather than asyncio: it costs the shared CPUs about a quarter
    as much per event, so the figure is the server's more than the client's.
    """
    import select
    import socket

    target = Notifier(None)
    epoll = select.epoll()
    socks: dict[int, socket.socket] = {}
    buffers: dict[int, bytes] = {}
    for i in range(first, last):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(target.request(f"u{i}"))
        sock.setblocking(False)
        socks[sock.fileno()] = sock
        buffers[sock.fileno()] = b""
        epoll.register(sock.fileno(), select.EPOLLIN)

    def pump(done, deadline: float) -> None:
        while not done() and time.monotonic() < deadline:
            for fd, _ in epoll.poll(0.05):
                try:
                    data = socks[fd].recv(65536)
                except BlockingIOError:
                    continue
                on_data(fd, data, time.monotonic_ns())

    waiting_ready = set(socks)
    latencies: list[int] = []
    arrived: set[int] = set()
    duplicates = [0]

    def on_data(fd: int, data: bytes, now: int) -> None:
        buffer = buffers[fd] + data
        if fd in waiting_ready and b"event: unread" in buffer:
            waiting_ready.discard(fd)
            buffer = b""
        elif fd in arrived and b"event: broadcast" in data:
            duplicates[0] += 1
        elif (at := buffer.find(b"event: broadcast")) >= 0 and fd not in arrived:
            stamp = buffer.find(b'"t":', at)
            end = buffer.find(b"}", stamp)
            if stamp >= 0 and end >= 0:
                arrived.add(fd)
                latencies.append(now - int(buffer[stamp + 4:end]))
                buffer = b""
        buffers[fd] = buffer[-4096:]

    pump(lambda: not waiting_ready, time.monotonic() + 180)
    report.put(("ready", len(socks) - len(waiting_ready), not waiting_ready))
    while not go.is_set():
        pump(go.is_set, time.monotonic() + 0.05)
    cpu_before = time.process_time()
    pump(lambda: len(arrived) >= len(socks), time.monotonic() + 20)
    report.put(("got", latencies, duplicates[0], 0, time.process_time() - cpu_before))
    for sock in socks.values():
        sock.close()


async def broadcast(target, *, streams_count: int, parts: int = 2) -> dict:
    """One broadcast to ``streams_count`` streams held by ``parts`` client processes."""
    servers = target.servers
    report, go = SPAWN.Queue(), SPAWN.Event()
    for part in range(parts):
        SPAWN.Process(target=broadcast_part, daemon=True, args=(
            part * streams_count // parts, (part + 1) * streams_count // parts,
            servers.port, report, go)).start()
    loop = asyncio.get_running_loop()
    readies = [await loop.run_in_executor(None, report.get, True, 300) for _ in range(parts)]
    await asyncio.sleep(2)
    server_cpu = servers.worker_cpu_s()
    go.set()
    done = in_background(send_broadcast, servers.redis_url)
    results = [await loop.run_in_executor(None, report.get, True, 60) for _ in range(parts)]
    await wait_done(done, 30)
    server_cpu = servers.worker_cpu_s() - server_cpu
    latencies = [ns for r in results for ns in r[1]]
    return {"streams": streams_count, "ready": sum(r[1] for r in readies),
            "delivered": len(latencies), "duplicated": sum(r[2] for r in results),
            "closed": sum(r[3] for r in results),
            "all_delivered_s": round(max(latencies) / 1e9, 3)
            if len(latencies) >= streams_count else None,
            "first_ms": round(min(latencies or [0]) / 1e6, 1),
            "p50_ms": round(percentile(latencies or [0], 0.5) / 1e6, 1),
            "all_delivered_ms": round(max(latencies or [0]) / 1e6, 1),
            "server_cpu_s": round(server_cpu, 2),
            # The client processes share the 2 cores: what they spent reading the broadcast.
            "client_cpu_s": round(sum(r[4] for r in results), 2)}


async def storm(target, *, users: int, missed: int) -> dict:
    servers = target.servers
    tally = Tally()
    streams = await open_streams(servers.port, [target.request(f"u{i}") for i in range(users)],
                                 tally)
    await target.ready(streams, timeout=60)
    done = in_background(send_function, target.name, servers.redis_url,
                         [[f"u{i}" for i in range(users)]], 0)
    await wait_done(done, 30)
    await until(lambda: tally.notifications >= users, 10)
    cursors = [s.last_id for s in streams]
    for stream in streams:
        stream.drop()
    await asyncio.sleep(0.5)
    done = in_background(send_function, target.name, servers.redis_url,
                         [[f"u{i}" for i in range(users)] for _ in range(missed)], 0)
    await wait_done(done, 60)
    caught = Tally()
    server_cpu, client_cpu = servers.worker_cpu_s(), cpu_seconds()
    started = time.monotonic()
    again = await open_streams(servers.port, [target.request(f"u{i}", cursors[i])
                                              for i in range(users)], caught)
    expected = users * missed
    complete = await until(lambda: caught.notifications >= expected, 15, step=0.01)
    elapsed = time.monotonic() - started
    incomplete = [i for i, s in enumerate(again) if len(s.seen) < missed]
    server_cpu, client_cpu = servers.worker_cpu_s() - server_cpu, cpu_seconds() - client_cpu
    await asyncio.sleep(0.5)
    for stream in again:
        stream.drop()
    closed_by_server = sum(1 for s in again if s.closed)
    return {"streams": users, "expected": expected, "delivered": caught.notifications,
            "closed_by_server": closed_by_server, "incomplete_streams": len(incomplete),
            "lost": expected - caught.notifications, "duplicated": caught.duplicates,
            "caught_up_s": round(elapsed, 2) if complete else None,
            "server_cpu_s": round(server_cpu, 2), "client_cpu_s": round(client_cpu, 2)}


async def run_target(target_class, args) -> dict:
    runs: dict[str, list[dict]] = {}
    for _ in range(args.runs):
        # Fresh servers each run: memory per stream is only meaningful on new
        # workers (Python keeps what it freed), and runs must not share state.
        servers = Servers(workers=2, app=target_class.app,
                          env={"SECRET_KEY": SECRET, "NOTIFIER_SSE_HEARTBEAT": "5"})
        target = target_class(servers)

        async def between(servers=servers) -> None:
            if target_class.name == "flask-sse":
                await flush_dead_subscribers(servers, max(args.flask_sse_streams, 5000))
            servers.wait_idle()
            servers.settle()

        try:
            cpu = cpu_seconds()
            if "hold" in args.scenarios:
                runs.setdefault("hold", []).append(await hold(
                    target, args.streams if target.name == "notifier" else args.flask_sse_streams))
                await between()
            if "unicast" in args.scenarios:
                runs.setdefault("unicast_send_function", []).append(await unicast(
                    target, via="function", streams_count=2000, rate=1000, seconds=args.seconds))
                await between()
            if "unicast" in args.scenarios and target.name == "notifier":
                runs.setdefault("unicast_http", []).append(await unicast(
                    target, via="http", streams_count=2000, rate=1000, seconds=args.seconds))
                await between()
            if "fanout" in args.scenarios:
                runs.setdefault("fanout_5000", []).append(await fanout(target, users=5000))
                await between()
            if "broadcast" in args.scenarios and target.name == "notifier":
                runs.setdefault("broadcast_10000", []).append(await broadcast(
                    target, streams_count=10_000))
                await between()
            if "storm" in args.scenarios:
                runs.setdefault("storm_5000", []).append(await storm(target, users=5000,
                                                                      missed=3))
            runs.setdefault("client_cpu_s", []).append({"s": round(cpu_seconds() - cpu, 1)})
        finally:
            servers.stop()
    return {scenario: aggregate(results) for scenario, results in runs.items()}


def aggregate(results: list[dict]) -> dict:
    """Median and spread of each numeric figure over the runs."""
    out = {}
    for key in results[0]:
        values = [r[key] for r in results]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        out[key] = summary(numbers) if len(numbers) == len(values) else values
    return out


TARGETS = {"notifier": Notifier, "flask-sse": FlaskSSE}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--streams", type=int, default=20_000)
    parser.add_argument("--flask-sse-streams", type=int, default=9_000)
    parser.add_argument("--targets", default="notifier,flask-sse")
    parser.add_argument("--scenarios", default="hold,unicast,fanout,broadcast,storm")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results = {name: asyncio.run(run_target(TARGETS[name], args))
               for name in args.targets.split(",")}
    print(json.dumps({
        "benchmark": "sse_load", "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "runs": args.runs, "workers": 2, **results,
    }))


if __name__ == "__main__":
    main()
