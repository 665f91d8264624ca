"""One Redis Pub/Sub connection per worker, fanned out to the worker's live streams.

The hub greenlet owns the worker's only Pub/Sub connection. A user's channel is
SUBSCRIBEd when that user's first stream on this worker opens and
UNSUBSCRIBEd when the last one closes. Each message is decoded and encoded as
SSE frames once, then written straight to each idle interested stream's socket
(:mod:`notifier.live.socket_writer`) or handed to its bounded queue.

When the connection drops, the hub reconnects with capped, jittered backoff,
resubscribes, and tells every stream to replay from its last sent id: the
durable streams make the outage lossless. A stream whose queue overflows (its
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
from redis.retry import Retry

from notifier.core import metrics
from notifier.core.backoff import Backoff
from notifier.core.ids import is_user_id, parse_notification_id
from notifier.core.keys import Keys
from notifier.core.runtime import require_gevent
from notifier.live import sse
from notifier.model.notification import Notification
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
    if kind in ("read", "deleted"):
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


class Hub:
    """The worker's Pub/Sub connection and its subscribers."""

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
        self._pubsub: redis.client.PubSub | None = None
        self._write_lock = gevent.lock.RLock()
        self._broken = False
        self._heard = False
        #: ``time.monotonic()`` when Redis last sent anything on the hub's connection.
        self.last_heard = 0.0
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
        self._greenlet = gevent.spawn(self._run)
        self._waker = gevent.spawn(self._wake_due)

    def users(self) -> list[str]:
        """Ids of the users with at least one open stream on this worker."""
        return [self._user_of(channel) for channel in self._subscribers]

    def stream_count(self) -> int:
        """Open streams on this worker."""
        return sum(len(subscribers) for subscribers in self._subscribers.values())

    @property
    def connected(self) -> bool:
        """Whether the hub holds its Pub/Sub connection and Redis answered on it (its
        PINGs at least) within the three ping intervals after which it reconnects."""
        return (self._pubsub is not None
                and time.monotonic() - self.last_heard <= 3 * self.ping_interval)

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
                self._write_subscribe([channel])
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
                self._write("unsubscribe", [channel])

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

    # -- the hub greenlet -------------------------------------------------
    def _run(self) -> None:
        backoff = Backoff(0.25, self.backoff_cap, jitter=(0.5, 1.5))
        while True:  # the hub lives as long as its worker
            self._heard = False
            try:
                self._connect()
                self._listen()
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                wait = self._next_wait(backoff)
                log.warning("hub lost Redis (%s); reconnecting in %.1fs", exc, backoff.delay)
            except Exception:
                wait = self._next_wait(backoff)
                log.exception("hub failed; reconnecting in %.1fs", backoff.delay)
            self._lost_connection()
            gevent.sleep(wait)

    def _next_wait(self, backoff: Backoff) -> float:
        """A connection that worked (Redis answered on it) starts the backoff over."""
        if self._heard:
            backoff.reset()
        return backoff.next()

    def _connect(self) -> None:
        client = redis.Redis.from_url(
            self.redis_url, socket_connect_timeout=5, socket_timeout=10,
            client_name=f"notifier-hub:{os.getpid()}",
            retry=Retry(NoBackoff(), 0), health_check_interval=0,
        )
        pubsub = HubPubSub(client.connection_pool, ignore_subscribe_messages=False)
        # Always subscribed to the broadcast channel (so replies such as PONGs are
        # always read, too).
        # connects; a failure raises here
        pubsub.subscribe(self._broadcast_channel, self._control_channel)
        with self._write_lock:
            self._pubsub = pubsub
            self._broken = False
            self._inflight.clear()
            channels = list(self._subscribers)
            for channel in channels:
                self._pending.setdefault(channel, gevent.event.Event())
            for start in range(0, len(channels), 1000):
                self._write_subscribe(channels[start:start + 1000])
        log.info("hub connected; subscribing %d channels", len(channels))

    def _listen(self) -> None:
        pubsub = self._pubsub
        last_heard = last_ping = time.monotonic()
        while True:
            message = pubsub.get_message(timeout=self.ping_interval)
            now = time.monotonic()
            if message is not None:
                self.last_heard = last_heard = now
                self._heard = True
                self._dispatch(message)
            if now - last_ping >= self.ping_interval:
                with self._write_lock:
                    self._write("ping", [])
                last_ping = now
            if self._broken:
                raise redis.ConnectionError("a write on the Pub/Sub connection failed")
            if now - last_heard > 3 * self.ping_interval:
                raise redis.ConnectionError("no reply to PING from Redis")

    def _dispatch(self, message: dict) -> None:
        kind = message["type"]
        if kind == "message":
            channel = message["channel"].decode()
            if channel == self._broadcast_channel:
                self._fan_out(message["data"])
                return
            if channel == self._control_channel:
                self._on_control(message["data"])
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
        elif kind == "subscribe":
            channel = message["channel"].decode()
            if channel == self._control_channel:
                for listener in self.control_state_listeners:
                    listener(True)
                return
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

    def _lost_connection(self) -> None:
        with self._write_lock:
            self._drop_connection()
        self.reconnects += 1
        metrics.hub_reconnects.inc()
        for listener in self.control_state_listeners:
            listener(False)
        # Streams keep their subscriptions; once the hub is back, each channel is
        # resubscribed and its streams told to replay what they may have missed.
        for channel in self._confirmed:
            event = gevent.event.Event()
            event.set()  # marks "was confirmed": its streams must resync
            self._pending[channel] = event
        self._confirmed.clear()

    def _drop_connection(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                pubsub.reset()
            except (redis.RedisError, OSError):
                log.debug("error while dropping the Pub/Sub connection", exc_info=True)

    def _write_subscribe(self, channels: list[str]) -> None:
        """SUBSCRIBE, counting it in flight (call with the write lock held)."""
        if self._pubsub is None:
            return  # subscribed on (re)connect instead
        for channel in channels:
            self._inflight[channel] = self._inflight.get(channel, 0) + 1
        self._write("subscribe", channels)

    def _write(self, command: str, channels: list[str]) -> None:
        """Write a command on the Pub/Sub connection (call with the write lock held).

        The hub greenlet reads the reply. A failed write marks the connection
        broken: redis-py would reconnect and resubscribe by itself, silently,
        and the streams would never replay what the gap cost them, so the hub
        drops the connection and reconnects (with RESYNC) instead.
        """
        pubsub = self._pubsub
        if pubsub is None or self._broken:
            return  # sent on (re)connect instead
        try:
            if command == "ping":
                pubsub.ping()
            elif command == "subscribe":
                pubsub.subscribe(*channels)
            else:
                pubsub.unsubscribe(*channels)
        except (redis.RedisError, OSError) as exc:
            log.info("a write on the Pub/Sub connection failed (%s); reconnecting the hub", exc)
            self._broken = True

    def _user_of(self, channel: str) -> str:
        return self.keys.user_of_channel(channel)
