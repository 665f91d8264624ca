"""One Redis Pub/Sub connection per worker (per master on a cluster), fanned out to the
worker's live streams.

Each :class:`Link` owns one Pub/Sub connection and the greenlet reading it: on one
Redis there is one link; on a Redis Cluster there is one per master, and each
user's channel is SSUBSCRIBEd (sharded Pub/Sub) on the master that owns its slot.
A user's channel is subscribed when that user's first stream on this worker opens
and unsubscribed when the last one closes. Each message is decoded and encoded as
SSE frames once, then written straight to each idle interested stream's socket
(:mod:`notifier.live.socket_writer`) or handed to its bounded queue.

When a link drops, it reconnects with capped, jittered backoff, resubscribes, and
tells the streams of its channels to replay from their last sent id: the durable
streams make the outage lossless. On a cluster the hub also refreshes the topology
(a failover promotes a replica; a migrated slot moves channels, which Redis tells
with an unrequested ``sunsubscribe``) and moves the affected channels to the link of
their new owner, and each link publishes to a probe channel of its own shard to
catch a subscription that went silently dead. A stream whose queue overflows (its
client stopped reading) is ended; its client reconnects and replays.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import gevent
import gevent.event
import gevent.lock
import gevent.queue
import redis
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.retry import Retry

from notifier.core import metrics
from notifier.core.backoff import Backoff
from notifier.core.ids import is_user_id, parse_notification_id
from notifier.core.keys import Keys
from notifier.core.runtime import require_gevent
from notifier.live import sse
from notifier.model.notification import Notification
from notifier.stores.connection import cluster_nodes, is_cluster_url
from notifier.stores.revocation import Credential

log = logging.getLogger(__name__)

PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


class HubPubSub(redis.client.PubSub):
    """redis-py's PubSub, minus its own reconnect.

    After a failed read or write redis-py reconnects and resubscribes by itself.
    Done in the middle of the hub's work, that reconnect can race a stream's
    SUBSCRIBE on the same connection (two greenlets reading its handshake
    replies), and it replays nothing to the streams. Here a failure only
    disconnects; the hub then reconnects in order and has its streams replay.
    """

    def _reconnect(self, conn, *args, **kwargs) -> None:
        conn.disconnect()


class HubUnavailable(Exception):
    """The hub has no working Redis connection right now."""


class TooManyStreams(Exception):
    """The client's address holds as many streams on this worker as it may."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for streams, already encoded (without the stream's own event id)."""

    # notification | broadcast | read | deleted | resync | shutdown | wake | wire | revoked
    # | evicted
    kind: str
    frames: bytes = b""
    id: str | None = None  # notification id, or the broadcast's log position
    position: tuple[int, int] | None = None  # ``id`` parsed, once for every stream
    type: str | None = None
    priority: int = 0
    own_unread: int = 0  # the user's unread notifications (broadcasts are counted per stream)
    ids: tuple[str, ...] = ()  # read/deleted: the ids
    broadcast: str | None = None  # broadcast: its Redis id (== id when it was just created)
    broadcast_position: tuple[int, int] | None = None  # ``broadcast`` parsed
    expiry: float = float("inf")  # broadcast: when it disappears (epoch ms)


RESYNC = Delivery("resync")
SHUTDOWN = Delivery("shutdown")
WAKE = Delivery("wake")  # nothing arrived before the stream's wake_at
REVOKED = Delivery("revoked")  # its session or token was taken back
EVICTED = Delivery("evicted")  # newer streams of the same user took its place


def wire(rest: bytes) -> Delivery:
    """Bytes the hub began writing to a stream's socket; the stream writes the rest."""
    return Delivery("wire", rest)


@dataclass(eq=False, slots=True)
class Subscriber:
    """One open stream's mailbox."""

    channel: str
    queue: gevent.queue.Queue
    greenlet: gevent.Greenlet = field(default_factory=gevent.getcurrent)
    overflowed: bool = False
    #: When (time.monotonic()) the hub's waker hands the stream a WAKE if nothing
    #: else came: one greenlet's scan instead of a timer per waiting stream.
    wake_at: float = float("inf")
    #: True while the stream's greenlet waits on its queue: nothing is writing to
    #: its socket, so ``direct`` may (notifier.live.socket_writer).
    parked: bool = False
    #: Writes a delivery to the idle stream's socket from the hub greenlet, without
    #: blocking; False when the delivery must go through the queue instead.
    direct: Callable[[Delivery], bool] | None = None
    #: The session or token that opened the stream, for revocations.
    credential: Credential | None = None
    #: The stream's id in the user's open streams (notifier.stores.stream_caps).
    stream_id: str = ""
    #: The client's address, counted against the per-address cap.
    address: str | None = None


def encode(data: bytes, user_id: str) -> Delivery | None:
    """A Pub/Sub message of a user's channel as a ready-to-send delivery."""
    message = json.loads(data)
    kind = message.get("kind")
    own_unread = message.get("unread", 0)
    if kind == "notification":
        notification = Notification.from_document(
            user_id, message["id"], message["notification"], read=False).to_dict()
        # The recipient's preferences, as the send decided them (notifier.model.delivery_rules).
        if message.get("quiet"):
            notification["quiet"] = True
        if message.get("live") is False:
            notification["live"] = False
        return Delivery(
            "notification", sse.json_frame("notification", notification),
            id=message["id"], position=parse_notification_id(message["id"]),
            type=notification["type"],
            priority=PRIORITY_RANK.get(notification["priority"], 1), own_unread=own_unread,
        )
    if kind in ("read", "deleted", "archived", "restored", "snoozed"):
        return Delivery(kind, sse.json_frame(kind, {"ids": message["ids"]}),
                        own_unread=own_unread, ids=tuple(message["ids"]))
    log.warning("ignoring a message of unknown kind %r", kind)
    return None


def encode_broadcast(data: bytes) -> Delivery:
    """A message of the broadcast channel, encoded once for every stream."""
    message = json.loads(data)
    broadcast = {**message["broadcast"], "source": "broadcast", "read": False, "actions": []}
    expires_at = broadcast.get("expires_at")
    expiry = (datetime.fromisoformat(expires_at).timestamp() * 1000 if expires_at
              else float("inf"))
    return Delivery(
        "broadcast", sse.json_frame("broadcast", broadcast), id=message["pos"],
        position=parse_notification_id(message["pos"]), type=broadcast["type"],
        priority=PRIORITY_RANK.get(broadcast["priority"], 1), broadcast=broadcast["id"][1:],
        broadcast_position=parse_notification_id(broadcast["id"][1:]), expiry=expiry,
    )


def _by_slot(channels: list[str]) -> list[list[str]]:
    """``channels`` grouped by hash slot."""
    groups: dict[int, list[str]] = {}
    for channel in channels:
        groups.setdefault(key_slot(channel.encode()), []).append(channel)
    return list(groups.values())


class Link:
    """One Pub/Sub connection to one Redis (a master of a cluster) and the greenlet
    reading it. The hub decides which channels each link carries."""

    def __init__(self, hub: Hub, node: tuple[str, int] | None):
        self.hub = hub
        #: The master this link speaks to; None: the one Redis of the hub's URL.
        self.node = node
        self.name = f"{node[0]}:{node[1]}" if node else "redis"
        self.pubsub: redis.client.PubSub | None = None
        self.broken = False
        self.heard = False
        #: ``time.monotonic()`` when Redis last sent anything on this connection.
        self.last_heard = 0.0
        #: Cluster only: a channel of this master's own slots that the link publishes
        #: to and must hear back, and when it last did.
        self.probe_channel: str | None = None
        self.probe_heard = 0.0
        self._publisher: redis.Redis | None = None
        self.stopped = False
        self._greenlet = gevent.spawn(self._run)

    @property
    def connected(self) -> bool:
        """Whether Redis answered on this link within three ping intervals."""
        return (self.pubsub is not None
                and time.monotonic() - self.last_heard <= 3 * self.hub.ping_interval)

    def stop(self) -> None:
        """End the link (its master is no longer one); the hub moves its channels."""
        self.stopped = True
        self._greenlet.kill(block=False)
        self.drop()

    def drop(self) -> None:
        """Close the connection (call with the hub's write lock held)."""
        pubsub, self.pubsub = self.pubsub, None
        if pubsub is not None:
            try:
                pubsub.reset()
            except (redis.RedisError, OSError):
                log.debug("error while dropping the Pub/Sub connection", exc_info=True)

    def _run(self) -> None:
        backoff = Backoff(0.25, self.hub.backoff_cap, jitter=(0.5, 1.5))
        while not self.stopped:
            self.heard = False
            try:
                self._connect()
                self._listen()
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError,
                    OSError) as exc:
                wait = self._next_wait(backoff)
                log.warning("hub lost Redis %s (%s); reconnecting in %.1fs", self.name, exc,
                            backoff.delay)
            except Exception:
                wait = self._next_wait(backoff)
                log.exception("hub failed on %s; reconnecting in %.1fs", self.name,
                              backoff.delay)
            self.hub._lost(self)
            gevent.sleep(wait)

    def _next_wait(self, backoff: Backoff) -> float:
        """A connection that worked (Redis answered on it) starts the backoff over."""
        if self.heard:
            backoff.reset()
        return backoff.next()

    def _connect(self) -> None:
        hub = self.hub
        options = dict(socket_connect_timeout=5, socket_timeout=10,
                       client_name=f"notifier-hub:{os.getpid()}",
                       retry=Retry(NoBackoff(), 0), health_check_interval=0)
        if self.node is None:
            client = redis.Redis.from_url(hub.redis_url, **options)
        else:
            client = redis.Redis(host=self.node[0], port=self.node[1],
                                 **hub.node_options, **options)
        pubsub = HubPubSub(client.connection_pool, ignore_subscribe_messages=False)
        if self.node is None:
            # Connects (a failure raises here). Always subscribed to the broadcast
            # channel, so replies such as PONGs are always read, too.
            pubsub.subscribe(hub._broadcast_channel, hub._control_channel)
            first = {hub._broadcast_channel, hub._control_channel}
        else:
            self.probe_channel = hub.probe_channel(self)
            pubsub.ssubscribe(self.probe_channel)
            self._publisher = client
            first = set()
        with hub._write_lock:
            self.pubsub = pubsub
            self.broken = False
            channels = [c for c, link in hub._link_of.items() if link is self and c not in first]
            for channel in channels:
                hub._inflight.pop(channel, None)
                if channel in hub._subscribers:
                    hub._pending.setdefault(channel, gevent.event.Event())
            for start in range(0, len(channels), 1000):
                hub._write_subscribe(self, channels[start:start + 1000])
        log.info("hub connected to %s; subscribing %d channels", self.name, len(channels))

    def _listen(self) -> None:
        hub = self.hub
        interval = hub.ping_interval
        pubsub = self.pubsub
        self.last_heard = self.probe_heard = last_ping = time.monotonic()
        while True:
            message = pubsub.get_message(timeout=interval)
            now = time.monotonic()
            if message is not None:
                self.last_heard = now
                self.heard = True
                hub._dispatch(message, self)
            if now - last_ping >= interval:
                with hub._write_lock:
                    self.write("ping", [])
                if self._publisher is not None:  # MOVED (the probe's slot moved) raises
                    self._publisher.execute_command("SPUBLISH", self.probe_channel, b"probe")
                last_ping = now
            if self.broken:
                raise redis.ConnectionError("a write on the Pub/Sub connection failed")
            if now - self.last_heard > 3 * interval:
                raise redis.ConnectionError("no reply to PING from Redis")
            if self.probe_channel is not None and now - self.probe_heard > 3 * interval:
                raise redis.ConnectionError("the probe channel stopped delivering")

    def write(self, command: str, channels: list[str]) -> None:
        """Write a command on the connection (call with the hub's write lock held).

        The link's greenlet reads the reply. A failed write marks the connection
        broken: redis-py would reconnect and resubscribe by itself, silently,
        and the streams would never replay what the gap cost them, so the link
        drops the connection and reconnects (with RESYNC) instead.
        """
        pubsub = self.pubsub
        if pubsub is None or self.broken:
            return  # sent on (re)connect instead
        try:
            if command == "ping":
                pubsub.ping()
            else:
                getattr(pubsub, command)(*channels)
        except (redis.RedisError, OSError) as exc:
            log.info("a write on the Pub/Sub connection to %s failed (%s); reconnecting",
                     self.name, exc)
            self.broken = True


class Hub:
    """The worker's Pub/Sub links and their subscribers."""

    def __init__(self, redis_url: str, keys: Keys, *, queue_size: int = 256,
                 subscribe_timeout: float = 15.0, ping_interval: float = 5.0,
                 backoff_cap: float = 30.0, setup_concurrency: int = 64,
                 wake_interval: float = 1.0, streams_per_address: int = 0):
        require_gevent("live streams need it", "Serve through wsgi.py (gunicorn) or app.py, "
                       "whose first statement is monkey.patch_all().")
        self.redis_url = redis_url
        self.keys = keys
        self.queue_size = queue_size
        self.subscribe_timeout = subscribe_timeout
        self.ping_interval = ping_interval
        self.backoff_cap = backoff_cap
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._confirmed: set[str] = set()
        self._pending: dict[str, gevent.event.Event] = {}
        # SUBSCRIBEs sent and not yet acknowledged per channel: a channel is live
        # only when the latest one is (an UNSUBSCRIBE may lie between two).
        self._inflight: dict[str, int] = {}
        # UNSUBSCRIBEs sent and not yet acknowledged per channel: any other
        # ``sunsubscribe`` is Redis saying the channel's slot moved.
        self._unsubscribing: dict[str, int] = {}
        self._write_lock = gevent.lock.RLock()
        self.reconnects = 0
        #: Streams setting up (subscribe and replay) at once on this worker. In a
        #: reconnect storm the rest wait here, so the run queue stays short and
        #: the hub greenlet keeps reading confirmations promptly.
        self.admission = gevent.lock.BoundedSemaphore(setup_concurrency)
        self._broadcast_channel = keys.broadcast_channel()
        self._control_channel = keys.control_channel()
        #: Streams per client address on this worker, and the most allowed (0: no cap).
        self._per_address: dict[str, int] = {}
        self.streams_per_address = streams_per_address
        #: Called with every control message (notifier.stores.revocation) after the hub has
        #: acted on it, e.g. to forget a revoked API key; must not block.
        self.control_listeners: list[Callable[[dict], None]] = []
        #: Called with True once the control channel's subscription is confirmed (from
        #: then on no control message is missed) and with False when the connection is
        #: lost (some may be); must not block.
        self.control_state_listeners: list[Callable[[bool], None]] = []
        #: Called as (user_id, True) when a user's first stream on this worker opens
        #: and (user_id, False) when the last closes (presence); must not block.
        self.presence_listener: Callable[[str, bool], None] | None = None
        #: How often the waker looks for streams whose wake_at has passed.
        self.wake_interval = wake_interval
        #: Whether a lost broadcast subscription must make every stream replay.
        self._broadcast_resync = False
        #: Channel -> the link carrying it (the broadcast and control channels too).
        self._link_of: dict[str, Link] = {}
        self._links: dict[str, Link] = {}
        self.sharded = is_cluster_url(redis_url)
        self._cluster: redis.RedisCluster | None = None
        self._rebalancer: gevent.Greenlet | None = None
        self._rebalance_again = False
        if self.sharded:
            self._startup_nodes, self.node_options = cluster_nodes(redis_url)
            self._rebalance_soon()
        else:
            self.node_options = {}
            link = self._links["redis"] = Link(self, None)
            self._link_of[self._broadcast_channel] = self._link_of[self._control_channel] = link
        self._waker = gevent.spawn(self._wake_due)

    def users(self) -> list[str]:
        """Ids of the users with at least one open stream on this worker."""
        return [self._user_of(channel) for channel in self._subscribers]

    def stream_count(self) -> int:
        """Open streams on this worker."""
        return sum(len(subscribers) for subscribers in self._subscribers.values())

    @property
    def connected(self) -> bool:
        """Whether every link holds its Pub/Sub connection and Redis answered on it (its
        PINGs at least) within the three ping intervals after which it reconnects."""
        links = list(self._links.values())
        return bool(links) and all(link.connected for link in links)

    @property
    def last_heard(self) -> float:
        """``time.monotonic()`` when the stalest link last heard from Redis."""
        return min((link.last_heard for link in self._links.values()), default=0.0)

    @property
    def _pubsub(self) -> redis.client.PubSub | None:
        """The Pub/Sub connection of a hub on one Redis."""
        link = self._links.get("redis")
        return link.pubsub if link is not None else None

    # -- for streams ------------------------------------------------------
    def subscribe(self, user_id: str, *, credential: Credential | None = None,
                  stream_id: str = "", address: str | None = None) -> Subscriber:
        """A mailbox for ``user_id``'s events, once Redis has confirmed the subscription.

        Raises :class:`HubUnavailable` when that takes longer than the timeout,
        and :class:`TooManyStreams` when ``address`` holds its share of streams.
        While the hub is reconnecting, a channel it had confirmed counts as
        confirmed: its streams replay (RESYNC) once the hub is back.
        """
        channel = self.keys.user_channel(user_id)
        subscriber = Subscriber(channel, gevent.queue.Queue(self.queue_size),
                                credential=credential, stream_id=stream_id)
        # State and the command change together under the write lock, so the
        # order of SUBSCRIBE/UNSUBSCRIBE on the wire is the order of the state.
        with self._write_lock:
            if address is not None and self.streams_per_address > 0:
                held = self._per_address.get(address, 0)
                if held >= self.streams_per_address:
                    raise TooManyStreams(address)
                self._per_address[address] = held + 1
                subscriber.address = address
            subscribers = self._subscribers.setdefault(channel, set())
            if not subscribers:
                metrics.hub_subscriptions.inc()
                if self.presence_listener is not None:
                    self.presence_listener(user_id, True)
            subscribers.add(subscriber)
            metrics.open_streams.inc()
            if channel in self._confirmed:
                return subscriber
            confirmed = self._pending.get(channel)
            if confirmed is None:
                confirmed = self._pending[channel] = gevent.event.Event()
                link = self._assign(channel)
                if link is not None:
                    self._write_subscribe(link, [channel])
        try:
            if not confirmed.wait(self.subscribe_timeout):
                raise HubUnavailable("subscription not confirmed in time")
        except BaseException:  # timed out, or the stream's greenlet was killed
            self.unsubscribe(subscriber)
            raise
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a closed stream; the last one of a user unsubscribes the channel."""
        channel = subscriber.channel
        with self._write_lock:
            address, subscriber.address = subscriber.address, None
            if address is not None:
                held = self._per_address.pop(address, 1) - 1
                if held > 0:
                    self._per_address[address] = held
            subscribers = self._subscribers.get(channel)
            if subscribers is None or subscriber not in subscribers:
                return
            subscribers.discard(subscriber)
            metrics.open_streams.dec()
            if not subscribers:
                del self._subscribers[channel]
                metrics.hub_subscriptions.dec()
                if self.presence_listener is not None:
                    self.presence_listener(self._user_of(channel), False)
                self._confirmed.discard(channel)
                self._pending.pop(channel, None)
                link = self._link_of.pop(channel, None)
                if link is not None:
                    self._write_unsubscribe(link, [channel])

    def close_streams(self) -> None:
        """Ask every open stream to end (the worker is shutting down)."""
        for subscribers in list(self._subscribers.values()):
            for subscriber in list(subscribers):
                self._offer(subscriber, SHUTDOWN)

    # -- the waker greenlet -----------------------------------------------
    def _wake_due(self) -> None:
        """Hand WAKE to every stream whose wake_at has passed, every wake_interval.

        Streams wait on their queue without a timeout: a timed wait costs a timer
        armed and cancelled on every delivery, which at a 10,000-stream broadcast
        is a fifth of the fan-out's CPU. A stream is woken up to one interval late.
        """
        while True:
            gevent.sleep(self.wake_interval)
            now = time.monotonic()
            for subscribers in list(self._subscribers.values()):
                for subscriber in subscribers:
                    if subscriber.wake_at <= now:
                        subscriber.wake_at = float("inf")
                        with contextlib.suppress(gevent.queue.Full):  # plenty to read already
                            subscriber.queue.put_nowait(WAKE)

    # -- links and the cluster's topology ----------------------------------
    def _assign(self, channel: str) -> Link | None:
        """The link that carries ``channel`` (call with the write lock held); None on a
        cluster whose topology is not known yet (the rebalancer assigns it)."""
        link = self._link_of.get(channel)
        if link is None:
            link = self._owner(channel)
            if link is not None:
                self._link_of[channel] = link
        return link

    def _owner(self, channel: str) -> Link | None:
        """The link of the master owning ``channel``'s slot, made when new."""
        if not self.sharded:
            return self._links["redis"]
        if self._cluster is None:
            return None
        nodes = self._cluster.nodes_manager.slots_cache.get(key_slot(channel.encode()))
        if not nodes:
            return None
        node = nodes[0]
        link = self._links.get(node.name)
        if link is None:
            link = self._links[node.name] = Link(self, (node.host, node.port))
        return link

    def probe_channel(self, link: Link) -> str:
        """A channel in a slot ``link``'s master owns, to publish probes on."""
        for number in range(10_000):
            channel = self.keys.probe_channel(number)
            if self._owner(channel) is link:
                return channel
        raise redis.ConnectionError(f"{link.name} owns no slot")

    def _rebalance_soon(self) -> None:
        """Refresh the cluster's topology and move channels to their owners' links, in a
        greenlet of its own (once more if asked again meanwhile)."""
        if self._rebalancer is not None and not self._rebalancer.dead:
            self._rebalance_again = True
            return
        self._rebalancer = gevent.spawn(self._rebalance)

    def _rebalance(self) -> None:
        backoff = Backoff(0.1, self.backoff_cap, jitter=(0.5, 1.5))
        self._rebalance_again = True
        while self._rebalance_again:
            self._rebalance_again = False
            try:
                self._refresh_topology()
            except (redis.RedisError, OSError) as exc:
                log.warning("hub could not read the cluster's topology (%s)", exc)
                self._rebalance_again = True
                gevent.sleep(backoff.next())
                continue
            backoff.reset()
            with self._write_lock:
                self._move_channels()

    def _refresh_topology(self) -> None:
        if self._cluster is None:
            self._cluster = redis.RedisCluster(
                startup_nodes=self._startup_nodes, socket_connect_timeout=2,
                socket_timeout=5, **self.node_options)
        else:
            self._cluster.nodes_manager.initialize()

    def _move_channels(self) -> None:
        """Stop the links of nodes that are no longer masters and (re)subscribe every
        channel whose owner changed, or that is waiting for a link (write lock held)."""
        masters = {node.name for node in self._cluster.get_primaries()}
        for name, link in list(self._links.items()):
            if name not in masters:
                del self._links[name]
                link.stop()
                self._forget(link)
        moving: dict[Link, list[str]] = {}
        wanted = [self._broadcast_channel, self._control_channel, *self._subscribers]
        for channel in wanted:
            owner = self._owner(channel)
            if owner is None:
                continue
            current = self._link_of.get(channel)
            if current is owner and (channel in self._confirmed or channel in self._inflight):
                continue
            if current is not None and current is not owner:
                self._write_unsubscribe(current, [channel])
                self._unconfirm(channel)
            self._link_of[channel] = owner
            if channel in self._subscribers:
                self._pending.setdefault(channel, gevent.event.Event())
            moving.setdefault(owner, []).append(channel)
        for link, channels in moving.items():
            for start in range(0, len(channels), 1000):
                self._write_subscribe(link, channels[start:start + 1000])

    def _forget(self, link: Link) -> None:
        """The channels ``link`` carried must be subscribed again and replayed."""
        for channel, owner in list(self._link_of.items()):
            if owner is link:
                del self._link_of[channel]
                self._inflight.pop(channel, None)
                self._unsubscribing.pop(channel, None)
                self._unconfirm(channel)

    def _unconfirm(self, channel: str) -> None:
        """``channel`` may have missed messages: its streams replay once it is back."""
        if channel == self._broadcast_channel:
            # On one Redis the user channels share its connection and replay anyway.
            self._broadcast_resync = self.sharded
        elif channel == self._control_channel:
            for listener in self.control_state_listeners:
                listener(False)
        elif channel in self._confirmed:
            self._confirmed.discard(channel)
            event = gevent.event.Event()
            event.set()  # marks "was confirmed": its streams must resync
            self._pending[channel] = event

    def _lost(self, link: Link) -> None:
        """``link`` lost its connection: its channels replay once resubscribed."""
        with self._write_lock:
            link.drop()
            for channel, owner in self._link_of.items():
                if owner is link:
                    self._inflight.pop(channel, None)
                    self._unsubscribing.pop(channel, None)
                    self._unconfirm(channel)
        self.reconnects += 1
        metrics.hub_reconnects.inc()
        if self.sharded:
            self._rebalance_soon()  # a failover: its master may be another node now

    # -- reading (each link's greenlet) -------------------------------------
    def _dispatch(self, message: dict, link: Link) -> None:
        kind = message["type"]
        if kind in ("message", "smessage"):
            channel = message["channel"].decode()
            if channel == self._broadcast_channel:
                self._fan_out(message["data"])
                return
            if channel == self._control_channel:
                self._on_control(message["data"])
                return
            if channel == link.probe_channel:
                link.probe_heard = time.monotonic()
                return
            subscribers = self._subscribers.get(channel)
            if not subscribers:
                return
            try:
                delivery = encode(message["data"], self._user_of(channel))
            except (ValueError, KeyError, TypeError, AttributeError):
                log.exception("undecodable message on %s", channel)
                return
            if delivery is None:
                return
            if delivery.position is not None:
                metrics.send_to_event.observe(max(0.0, time.time() - delivery.position[0] / 1000))
            for subscriber in list(subscribers):
                self._offer(subscriber, delivery)
        elif kind in ("subscribe", "ssubscribe"):
            self._on_subscribed(message["channel"].decode(), link)
        elif kind in ("unsubscribe", "sunsubscribe") and message["channel"] is not None:
            channel = message["channel"].decode()
            sent = self._unsubscribing.get(channel, 0)
            if sent > 1:
                self._unsubscribing[channel] = sent - 1
            elif sent == 1:
                del self._unsubscribing[channel]
            elif kind == "sunsubscribe" and (channel == link.probe_channel
                                             or self._link_of.get(channel) is link):
                # Unrequested: the channel's slot moved to another master.
                log.info("Redis moved %s off %s; following it", channel, link.name)
                with self._write_lock:
                    if channel == link.probe_channel:
                        link.broken = True
                    elif channel in self._link_of:
                        del self._link_of[channel]
                        self._inflight.pop(channel, None)
                        self._unconfirm(channel)
                self._rebalance_soon()

    def _on_subscribed(self, channel: str, link: Link) -> None:
        if channel == self._control_channel:
            for listener in self.control_state_listeners:
                listener(True)
            return
        if channel == self._broadcast_channel:
            if self._broadcast_resync:
                self._broadcast_resync = False
                for subscribers in self._subscribers.values():
                    for subscriber in subscribers:
                        self._offer(subscriber, RESYNC)
            return
        if self._link_of.get(channel) is not link:
            return  # an answer from a link the channel has left since
        inflight = self._inflight.get(channel, 0) - 1
        if inflight > 0:
            self._inflight[channel] = inflight
            return  # a later SUBSCRIBE of the same channel is still on its way
        self._inflight.pop(channel, None)
        confirmed = self._pending.pop(channel, None)
        if confirmed is None or channel not in self._subscribers:
            return
        resubscribed = confirmed.is_set()  # set before: this is a reconnect
        self._confirmed.add(channel)
        confirmed.set()
        if resubscribed:
            for subscriber in list(self._subscribers[channel]):
                self._offer(subscriber, RESYNC)

    def _fan_out(self, data: bytes) -> None:
        """Hand a broadcast, encoded once, to every stream of this worker."""
        try:
            delivery = encode_broadcast(data)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.exception("undecodable broadcast")
            return
        # No copies: nothing here switches greenlets, so no stream can (un)subscribe
        # meanwhile (a full queue only schedules its stream's end).
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                self._offer(subscriber, delivery)

    def _on_control(self, data: bytes) -> None:
        """Close the streams a revocation or an eviction names, then tell the listeners."""
        try:
            message = json.loads(data)
            user_id = message.get("u")
            if user_id is not None and not is_user_id(user_id):
                raise ValueError("not a user id")
        except (ValueError, AttributeError):
            log.warning("ignoring a malformed control message")
            return
        if user_id is not None:
            streams = list(self._subscribers.get(self.keys.user_channel(user_id), ()))
        else:  # an API key's tokens may open streams of any user
            streams = [s for subscribers in self._subscribers.values() for s in subscribers]
        if message.get("k") == "evict":
            ids = set(message.get("ids") or ())
            for subscriber in streams:
                if subscriber.stream_id in ids:
                    self._offer(subscriber, EVICTED)
        else:
            for subscriber in streams:
                if subscriber.credential is not None and \
                        subscriber.credential.revoked_by(message):
                    self._offer(subscriber, REVOKED)
        for listener in self.control_listeners:
            listener(message)

    def _offer(self, subscriber: Subscriber, delivery: Delivery) -> None:
        if subscriber.overflowed:
            return
        # An idle stream with nothing queued (a queued delivery must go first) is
        # written to right here: no greenlet switch, no pass through the server.
        if (subscriber.parked and subscriber.direct is not None and subscriber.queue.empty()
                and subscriber.direct(delivery)):
            return
        try:
            subscriber.queue.put_nowait(delivery)
        except gevent.queue.Full:
            # The client stopped reading: end its stream (it will reconnect and
            # replay) rather than buffer without bound.
            subscriber.overflowed = True
            metrics.slow_consumer_drops.inc()
            log.info("stream on %s fell behind; closing it", subscriber.channel)
            subscriber.greenlet.kill(block=False)

    # -- writing (under the write lock) -------------------------------------
    def _write_subscribe(self, link: Link, channels: list[str]) -> None:
        """(S)SUBSCRIBE on ``link``, counting it in flight (write lock held)."""
        if link.pubsub is None:
            return  # subscribed on (re)connect instead
        plain = [c for c in channels if c == self._control_channel or not self.sharded]
        sharded = [c for c in channels if c not in plain]
        for channel in channels:
            if channel in self._subscribers:
                self._inflight[channel] = self._inflight.get(channel, 0) + 1
        if plain:
            link.write("subscribe", plain)
        for same_slot in _by_slot(sharded):  # SSUBSCRIBE takes channels of one slot
            link.write("ssubscribe", same_slot)

    def _write_unsubscribe(self, link: Link, channels: list[str]) -> None:
        """(S)UNSUBSCRIBE on ``link``, counting it so its answer is not taken for a moved
        slot (write lock held)."""
        if link.pubsub is None or link.broken:
            return
        for channel in channels:
            self._unsubscribing[channel] = self._unsubscribing.get(channel, 0) + 1
        if not self.sharded:
            link.write("unsubscribe", channels)
            return
        for same_slot in _by_slot(channels):
            link.write("sunsubscribe", same_slot)

    def _user_of(self, channel: str) -> str:
        return self.keys.user_of_channel(channel)
