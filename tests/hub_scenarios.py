"""Hub and stream races, run in a gevent-patched process by test_hub.py.

Usage: python hub_scenarios.py REDIS_URL SCENARIO; prints one JSON object.
Each scenario forces a race at a chosen point and reports what the stream got.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import gevent.socket  # noqa: E402
import redis  # noqa: E402

from notifier.core.keys import Keys  # noqa: E402
from notifier.live.hub import Hub  # noqa: E402
from notifier.live.socket_writer import SocketWriter  # noqa: E402
from notifier.live.stream import LiveStream, StreamFilter, StreamSettings  # noqa: E402
from notifier.model.requests import NotificationContent  # noqa: E402
from notifier.stores.broadcasts import Broadcasts  # noqa: E402
from notifier.stores.connection import connect, is_cluster  # noqa: E402
from notifier.stores.feed import Feed  # noqa: E402
from notifier.stores.inbox import Inbox  # noqa: E402
from notifier.stores.worker_stats import COUNTERS  # noqa: E402

URL, SCENARIO = sys.argv[1], sys.argv[2]
client = connect(URL, pool_size=8, client_name="scenarios")
keys = Keys("t")
inbox = Inbox(client, keys, cap=5 if SCENARIO == "trimmed_during_outage" else 1000,
              idempotency_ttl=60)
inbox.TRIM_SLACK = 2
feed = Feed(client, keys, inbox, Broadcasts(client, keys, cap=100, idempotency_ttl=60))


def send(user: str, title: str = "x", body: str = "") -> str:
    return inbox.send([NotificationContent(title=title, body=body)], [(user, 0)]).ids[0]


class Collector:
    """Runs a LiveStream in a greenlet and keeps its frames."""

    def __init__(self, hub: Hub, user: str, cursor: str | None = None):
        self.frames: list[str] = []
        self.stream = LiveStream(user_id=user, feed=feed, hub=hub,
                                 settings=StreamSettings(heartbeat=0.5, retry_ms=100),
                                 cursor=cursor, stream_filter=StreamFilter())
        self.greenlet = gevent.spawn(self._run)

    def _run(self):
        for frame in self.stream:
            self.frames.append(frame.decode())

    def lines(self, prefix: str) -> list[str]:
        return [line[len(prefix):] for frame in self.frames for line in frame.splitlines()
                if line.startswith(prefix)]

    def notification_ids(self) -> list[str]:
        ids, event_id = [], None
        for frame in self.frames:
            for block in frame.split("\n\n"):
                fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
                event_id = fields.get("id")
                if fields.get("event") == "notification":
                    ids.append(event_id.partition("_")[0])
        return ids


def fresh_window():
    """A send between a fresh stream's start position and its subscription arrives."""
    hub = Hub(URL, keys, ping_interval=1.0)
    gevent.sleep(0.3)
    real_subscribe, sent = hub.subscribe, []

    def racing_subscribe(user_id, **options):
        sent.append(send(user_id, "between position and subscribe"))
        return real_subscribe(user_id, **options)

    hub.subscribe = racing_subscribe
    stream = Collector(hub, "fresh")
    gevent.sleep(0.4)
    hub.subscribe = real_subscribe
    sent.append(send("fresh", "later"))
    gevent.sleep(0.3)
    return {"sent": sent, "got": stream.notification_ids()}


def write_failure_resync():
    """A failed write makes the hub reconnect and the stream replay the gap."""
    hub = Hub(URL, keys, ping_interval=0.5)
    gevent.sleep(0.3)
    stream = Collector(hub, "broken")
    gevent.sleep(0.3)
    connection = hub._link_of[keys.user_channel("broken")].pubsub.connection
    real_send, sent = connection.send_command, []

    def dying_send(*args, **kwargs):
        if args[0] == "PING" and not sent:
            sent.append(send("broken", "in flight when the connection died"))
            gevent.sleep(0.05)
            raise redis.ConnectionError("Connection reset by peer")
        return real_send(*args, **kwargs)

    connection.send_command = dying_send
    gevent.sleep(1.5)
    sent.append(send("broken", "after"))
    gevent.sleep(0.3)
    return {"sent": sent, "got": stream.notification_ids(), "reconnects": hub.reconnects}


def ordered_commands():
    """A stream closing while another opens leaves the channel subscribed."""
    hub = Hub(URL, keys, ping_interval=1.0)
    gevent.sleep(0.3)
    first = Collector(hub, "z")
    gevent.sleep(0.3)
    hub._write_lock.acquire()  # a write in progress elsewhere
    first.greenlet.kill(block=False)
    gevent.sleep(0.05)
    second = Collector(hub, "z")
    hub._write_lock.release()
    gevent.sleep(0.5)
    channel = keys.user_channel("z")
    sent = [send("z", "live")]
    gevent.sleep(0.3)
    return {"numsub": subscribers_of(channel), "sent": sent, "got": second.notification_ids()}


def subscribers_of(channel: str) -> int:
    """Subscriptions to ``channel``: sharded ones on the master owning it, on a cluster."""
    if not is_cluster(client):
        return client.pubsub_numsub(channel)[0][1]
    node = client.get_node_from_key(channel)
    reply = client.get_redis_connection(node).execute_command("PUBSUB", "SHARDNUMSUB", channel)
    return int(reply[1])


def trimmed_during_outage():
    """More sent during a hub outage than the inbox keeps: the stream gets a reset."""
    hub = Hub(URL, keys, ping_interval=0.5)
    gevent.sleep(0.3)
    stream = Collector(hub, "trim")
    gevent.sleep(0.3)
    send("trim", "seen")
    gevent.sleep(0.2)
    if is_cluster(client):
        for node in client.get_primaries():
            client.get_redis_connection(node).client_kill_filter(_type="pubsub")
    else:
        client.client_kill_filter(_type="pubsub")
    for i in range(10):
        send("trim", f"during the outage {i}")
    gevent.sleep(2.5)
    return {"events": stream.lines("event: "), "reconnects": hub.reconnects}


def silent_subscription():
    """Cluster: a shard stops delivering to the hub while its connection still answers
    PING (a subscription silently dead after a failover): the probe notices, the link
    reconnects, and the stream replays what the silence cost it."""
    hub = Hub(URL, keys, ping_interval=0.5)
    gevent.sleep(0.3)
    stream = Collector(hub, "quiet")
    gevent.sleep(0.5)
    link = hub._link_of[keys.user_channel("quiet")]
    dead, real = link.pubsub, hub._dispatch

    def deaf(message, on):
        if on is link and link.pubsub is dead and message["type"] == "smessage":
            return  # delivered by Redis, never heard
        real(message, on)

    hub._dispatch = deaf
    sent = [send("quiet", "sent into the silence")]
    gevent.sleep(2.5)
    sent.append(send("quiet", "after"))
    gevent.sleep(0.5)
    return {"sent": sent, "got": stream.notification_ids(), "reconnects": hub.reconnects}


class CountingWriter(SocketWriter):
    """The stream's socket writer, noting each time the socket did not take all."""

    left = 0

    def send(self, frames: bytes) -> bytes:
        rest = super().send(frames)
        CountingWriter.left += bool(rest)
        return rest


def direct_backpressure():
    """A client that stops reading: the hub's direct writes fill its socket, the rest
    goes through the stream's greenlet, and the client later reads all, in order."""
    ours, theirs = gevent.socket.socketpair()
    ours.setsockopt(gevent.socket.SOL_SOCKET, gevent.socket.SO_SNDBUF, 8192)
    hub = Hub(URL, keys, ping_interval=1.0)
    gevent.sleep(0.3)
    stream = LiveStream(user_id="slow", feed=feed, hub=hub,
                        settings=StreamSettings(heartbeat=30, retry_ms=100), cursor=None,
                        stream_filter=StreamFilter(), writer=CountingWriter(ours, chunked=False))

    def serve():  # what gunicorn does with the response
        for frame in stream:
            ours.sendall(frame)

    gevent.spawn(serve)
    gevent.sleep(0.3)
    sent = [send("slow", f"n{i}", "x" * 1000) for i in range(120)]
    gevent.sleep(0.5)  # nothing read yet
    received = b""
    theirs.settimeout(5)
    while received.count(b"event: notification") < len(sent):
        received += theirs.recv(65536)
    ids = [block.split(b"\n")[0][4:].split(b"_")[0].decode()
           for block in received.split(b"\n\n") if b"event: notification" in block]
    return {"sent": sent, "got": ids, "left_to_the_greenlet": CountingWriter.left,
            "direct_writes": COUNTERS.direct_writes}


def closed_streams_leave_no_garbage():
    """Streams served as gunicorn serves them (a socket writer, the client's socket)
    open, get a live event each, and close; with the cyclic collector off, nothing of
    them may stay behind: what lingers in a cycle is kept until a full collection."""
    import gc

    gc.collect()
    gc.disable()
    hub = Hub(URL, keys, ping_interval=1.0)
    gevent.sleep(0.3)
    clients, served = [], []

    def serve(user: str, ours) -> None:  # what gunicorn does with the response
        stream = LiveStream(user_id=user, feed=feed, hub=hub,
                            settings=StreamSettings(heartbeat=0.2, retry_ms=100), cursor=None,
                            stream_filter=StreamFilter(), client_socket=ours,
                            writer=SocketWriter(ours, chunked=False))
        try:
            for frame in stream:
                ours.sendall(frame)
        finally:
            ours.close()

    for i in range(20):
        ours, theirs = gevent.socket.socketpair()
        clients.append(theirs)
        served.append(gevent.spawn(serve, f"gc{i}", ours))
    gevent.sleep(0.5)
    for i in range(20):
        send(f"gc{i}", "live")
    received = 0
    for theirs in clients:
        theirs.settimeout(5)
        data = b""
        while b"event: notification" not in data:
            data += theirs.recv(65536)
        received += 1
        theirs.close()
    gevent.joinall(served, timeout=5)
    ended = sum(greenlet.dead for greenlet in served)
    del served, clients
    lingering = [type(o).__name__ for o in gc.get_objects()
                 if type(o).__name__ in ("LiveStream", "SocketWriter")]
    gc.set_debug(gc.DEBUG_SAVEALL)  # what only a collection would free
    gc.collect()
    gc.set_debug(0)
    garbage = sorted({type(o).__name__ for o in gc.garbage} & {
        "LiveStream", "Subscriber", "SocketWriter", "Greenlet", "socket", "Queue"})
    gc.garbage.clear()
    hub_state = {name: len(getattr(hub, name))
                 for name in ("_subscribers", "_pending", "_confirmed", "_inflight")}
    gc.enable()
    return {"received": received, "ended": ended, "lingering": lingering, "garbage": garbage,
            "hub": hub_state}


print(json.dumps(globals()[SCENARIO]()))
