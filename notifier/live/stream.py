"""One browser's event stream: catch up from its cursor, then go live, losslessly.

The order is what makes it lossless: subscribe (confirmed by Redis) first,
then replay everything after the cursor from the user's Redis Stream and from
the broadcast log, then send live messages, dropping any already sent. The
same catch-up runs when the hub reconnects to Redis.

An event id is a feed position, ``<inbox position>_<broadcast position>``
(:mod:`notifier.stores.feed`): whichever event a browser saw last, its Last-Event-ID
says how far it got in both sources.
"""

from __future__ import annotations

import json
import logging
import random
import select
import socket
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import redis
from gevent import monkey

from notifier.core.clock import clock_position, now_ms
from notifier.core.ids import format_id, parse_notification_id
from notifier.live import sse
from notifier.live.caps import CapsRecorder
from notifier.live.hub import PRIORITY_RANK, Delivery, Hub, HubUnavailable, TooManyStreams, wire
from notifier.live.socket_writer import SocketWriter
from notifier.model.notification import Notification
from notifier.stores.broadcasts import Broadcast, BroadcastChunk, newest_position
from notifier.stores.feed import BroadcastView, Feed, count_live, format_position, parse_position
from notifier.stores.inbox import ReplayChunk
from notifier.stores.revocation import Credential
from notifier.stores.worker_stats import COUNTERS

log = logging.getLogger(__name__)

#: Deliveries that only make frames from the stream's state (no Redis round trip).
LIVE_KINDS = frozenset({"notification", "broadcast", "read", "deleted", "archived",
                        "restored", "snoozed"})


def _position_of(chunk: ReplayChunk) -> str:
    """Where the inbox stands now: its newest id, or the clock if later."""
    clock = clock_position(chunk.now_ms)
    if chunk.newest is None:
        return clock
    return max(chunk.newest, clock, key=parse_notification_id)


def _bcast_position_of(chunk: BroadcastChunk) -> str:
    """Where the broadcast log stands now."""
    return newest_position(chunk.newest, chunk.now_ms)


def _unresumable(position: tuple[int, int], trimmed: str | None, now: str) -> str | None:
    """Why resuming after ``position`` would leave a gap, if it would."""
    if trimmed is not None and position < parse_notification_id(trimmed):
        return "older than the retained history"
    if position > parse_notification_id(now):
        return "unknown last event id"  # ahead of everything this source has made
    return None


@dataclass(frozen=True)
class StreamFilter:
    """What a stream shows: some types only, or from some priority up."""

    types: frozenset[str] | None = None
    min_priority: int = 0

    def wants(self, type_: str | None, priority: int) -> bool:
        """Whether a notification of this type and priority rank is shown."""
        if self.types is not None and type_ not in self.types:
            return False
        return priority >= self.min_priority


@dataclass(frozen=True)
class StreamSettings:
    """Timings of a stream."""

    heartbeat: float = 15.0
    retry_ms: int = 3000
    replay_chunk: int = 200
    #: The ``retry:`` of a stream closed to make room for the user's newer ones.
    evicted_retry_ms: int = 60_000


# The real poll(2), not gevent's: a zero-timeout check needs no hub round trip,
# and unlike select(2) it has no 1,024-descriptor ceiling (a worker holds 10,000).
_poll = monkey.get_original("select", "poll")
_GONE = select.POLLHUP | select.POLLERR | getattr(select, "POLLRDHUP", 0)


def client_gone(sock: socket.socket | None) -> bool:
    """Whether the client closed its end (hang-up, error, or end-of-file to read)."""
    if sock is None:
        return False
    try:
        poller = _poll()
        poller.register(sock.fileno(), select.POLLIN | _GONE)
        events = poller.poll(0)
        if not events:
            return False
        if events[0][1] & _GONE:
            return True
        return sock.recv(1, socket.MSG_PEEK) == b""  # readable: data, or end-of-file
    except (OSError, ValueError):
        return True


class LiveStream:
    """The events of one stream, as an iterator of SSE bytes.

    ``/ws`` sends the same iterator's events as WebSocket messages
    (:mod:`notifier.live.ws_protocol`), so both transports share one implementation.
    """

    # One per open stream, 20,000 a machine: no per-instance dict.
    __slots__ = ("_phase", "_subscriber", "address", "bcast_sent", "bcast_unread", "caps",
                 "client_socket", "credential", "cursor", "ended", "expires_at", "feed",
                 "filter", "hub", "own_sent", "own_unread", "settings", "user_id", "view",
                 "writer")

    def __init__(self, *, user_id: str, feed: Feed, hub: Hub, settings: StreamSettings,
                 cursor: str | None, stream_filter: StreamFilter,
                 expires_at: float | None = None, client_socket: socket.socket | None = None,
                 writer: SocketWriter | None = None, credential: Credential | None = None,
                 caps: CapsRecorder | None = None, address: str | None = None):
        self.user_id = user_id
        self.feed = feed
        self.hub = hub
        self.settings = settings
        self.cursor = cursor
        self.filter = stream_filter
        self.expires_at = expires_at
        self.client_socket = client_socket
        #: Lets the hub write live events while this stream is idle (SSE under gunicorn).
        self.writer = writer
        #: What opened the stream (revocations close it), the per-user cap it counts
        #: against, and the client's address (the per-address cap).
        self.credential = credential
        self.caps = caps
        self.address = address
        self._subscriber = None
        #: How far this stream has sent, in the inbox and in the broadcast log.
        self.own_sent: tuple[int, int] | None = None
        self.bcast_sent: tuple[int, int] | None = None
        self.view = BroadcastView()
        #: Broadcasts the user has not read: Redis id -> expiry (ms).
        self.bcast_unread: dict[str, float] = {}
        self.own_unread = 0
        #: The share of a heartbeat interval the first wait lasts: streams opened together
        #: (a worker's restart reconnects thousands at once) do not then beat together.
        self._phase = random.uniform(0.1, 1.0)
        #: Why the stream ended by itself: "expired", "shutdown", "outage", "client gone",
        #: "revoked" or "evicted".
        self.ended: str | None = None

    def __iter__(self) -> Iterator[bytes]:
        subscriber = None
        stream_id = self.caps.new_id() if self.caps is not None else ""
        counted = False
        try:
            yield sse.frame(retry=self.settings.retry_ms) + sse.comment("connected")
            with self.hub.admission:
                # A stream with no cursor starts from "now", read *before*
                # subscribing, so whatever is published in between is replayed.
                cursor = self.cursor or self.feed.position(self.user_id)
                subscriber = self.hub.subscribe(self.user_id, credential=self.credential,
                                                stream_id=stream_id, address=self.address)
                if self.caps is not None:
                    counted = True
                    self.caps.opened(self.user_id, stream_id)
                if self.writer is not None:
                    self._subscriber = subscriber
                    subscriber.direct = self._deliver_now  # only once parked, after this setup
                # The count carries the stream's position, so a client that has seen
                # no notification yet still resumes from here (a new EventSource, as
                # after a token refresh, cannot inherit the old one's Last-Event-ID).
                setup = (b"".join(self._catch_up(cursor))
                         + sse.with_id(self._position(), self._unread_frame()))
            yield setup
            while True:
                if self.expires_at is not None and time.time() >= self.expires_at:
                    self.ended = "expired"
                    yield sse.json_frame("expired", {"reason": "token expired"})
                    return
                delivery = self._next(subscriber)
                if delivery is None:
                    if client_gone(self.client_socket):
                        self.ended = "client gone"
                        return
                    if self.expires_at is None or time.time() < self.expires_at:
                        yield sse.comment("ping")
                elif delivery.kind == "wire":
                    self.writer.send_rest(delivery.frames)
                elif delivery.kind in LIVE_KINDS:
                    yield self._live(delivery)
                elif delivery.kind == "resync":
                    yield from self._catch_up(self._position())
                    yield self._unread_frame()
                elif delivery.kind == "revoked":
                    self.ended = "revoked"
                    yield sse.json_frame("revoked", {"reason": "signed out"})
                    return
                elif delivery.kind == "evicted":
                    yield self._evicted("the user opened newer streams")
                    return
                elif delivery.kind == "shutdown":
                    # Spread the reconnects of a worker's streams over a few seconds.
                    self.ended = "shutdown"
                    yield sse.frame(retry=random.randint(500, 5000))
                    return
        except TooManyStreams:
            yield self._evicted("too many streams from this address")
        except (redis.ConnectionError, redis.TimeoutError, HubUnavailable) as exc:
            log.info("stream for %s ends during an outage: %s", self.user_id, exc)
            self.ended = "outage"
            yield sse.frame(retry=self.settings.retry_ms + random.randint(0, 2000))
        finally:
            if subscriber is not None:
                self.hub.unsubscribe(subscriber)
                # The stream and its mailbox refer to each other (``direct``): break the
                # cycle so both go, with the greenlet and socket they hold, as soon as the
                # stream ends, not at a full collection (gc_policy freezes what lives 5 s).
                subscriber.direct = None
                self._subscriber = None
            if counted:
                self.caps.closed(self.user_id, stream_id)

    def _evicted(self, reason: str) -> bytes:
        """The last frames of a stream closed for newer ones: come back much later."""
        self.ended = "evicted"
        return sse.frame(event="evicted", retry=self.settings.evicted_retry_ms,
                         data=json.dumps({"reason": reason}))

    # -- live -------------------------------------------------------------
    def _live(self, delivery: Delivery) -> bytes:
        """The frames a live notification, broadcast, read, deleted, archived, restored or
        snoozed event makes here."""
        if delivery.kind == "broadcast":
            return self._live_broadcast(delivery)
        if delivery.kind == "notification":
            return self._live_notification(delivery)
        self.own_unread = delivery.own_unread
        self._forget_broadcasts(delivery)
        return delivery.frames + self._unread_frame()

    def _deliver_now(self, delivery: Delivery) -> bool:
        """Write ``delivery`` from the hub greenlet while this stream is idle.

        The hub calls this only while the stream's greenlet waits on an empty
        queue, so no other write is under way on the socket. What the socket does
        not take now goes, as a ``wire`` delivery, to the greenlet to finish
        before anything else. False leaves the delivery to the queue.
        """
        if delivery.kind not in LIVE_KINDS or (
                self.expires_at is not None and time.time() >= self.expires_at):
            return False
        frames = self._live(delivery)
        if frames:
            COUNTERS.direct_writes += 1
            rest = self.writer.send(frames)
            if rest:
                self._subscriber.queue.put_nowait(wire(rest))  # the queue was empty
        self._subscriber.wake_at = self._wake_time()  # the heartbeat counts from here
        return True

    def _live_notification(self, delivery: Delivery) -> bytes:
        self.own_unread = delivery.own_unread
        key = delivery.position
        if self.own_sent is not None and key <= self.own_sent:
            return self._unread_frame()  # sent by the replay; its count is newer news
        self.own_sent = key
        if self.filter.wants(delivery.type, delivery.priority):
            COUNTERS.delivered += 1
            return sse.with_id(self._position(), delivery.frames) + self._unread_frame()
        # An id alone moves the browser's Last-Event-ID past it.
        return sse.frame(id=self._position()) + self._unread_frame()

    def _live_broadcast(self, delivery: Delivery) -> bytes:
        pos = delivery.position
        if self.bcast_sent is not None and pos <= self.bcast_sent:
            return b""  # sent by the replay
        self.bcast_sent = pos
        key, key_pos = delivery.broadcast, delivery.broadcast_position
        if not self.view.visible(key, key_pos):
            return sse.frame(id=self._position())
        if delivery.id == key:  # just created
            if not self.view.is_read(key, key_pos):
                self.bcast_unread[key] = delivery.expiry
        elif key in self.bcast_unread:  # changed: its expiry may have moved
            self.bcast_unread[key] = delivery.expiry
        if self.filter.wants(delivery.type, delivery.priority):
            COUNTERS.delivered += 1
            return sse.with_id(self._position(), delivery.frames) + self._unread_frame()
        return sse.frame(id=self._position()) + self._unread_frame()

    def _forget_broadcasts(self, delivery: Delivery) -> None:
        """Take a read/deleted event's broadcast ids out of the unread ones."""
        for item_id in delivery.ids:
            if item_id.startswith("b"):
                key = item_id[1:]
                self.bcast_unread.pop(key, None)
                self.view.mark("dismissed" if delivery.kind == "deleted" else "read", (key,))

    def _next(self, subscriber) -> Delivery | None:
        """The next delivery, or None once a heartbeat (or the token's expiry) is due."""
        subscriber.wake_at = self._wake_time(self._phase)
        self._phase = 1.0
        subscriber.parked = True
        try:
            delivery = subscriber.queue.get()
        finally:
            subscriber.parked = False
        return None if delivery.kind == "wake" else delivery

    def _wake_time(self, share: float = 1.0) -> float:
        """When (time.monotonic()) a heartbeat (after ``share`` of its interval), or the
        token's expiry, is due."""
        timeout = self.settings.heartbeat * share
        if self.expires_at is not None:
            timeout = max(0.0, min(timeout, self.expires_at - time.time()))
        return time.monotonic() + timeout

    # -- catching up ------------------------------------------------------
    def _catch_up(self, cursor: str) -> Iterator[bytes]:
        """Replay what came after ``cursor`` in both sources, or ``reset`` when impossible."""
        positions = parse_position(cursor)
        if positions is None:
            yield self._reset("malformed last event id", self.feed.position(self.user_id))
            return
        own_pos, bcast_pos = positions
        count = self.settings.replay_chunk
        own_chunk, bcast_chunk, self.view = self.feed.replay(
            self.user_id, format_id(own_pos), format_id(bcast_pos), count=count)
        self.own_unread = own_chunk.unread
        self.bcast_unread = self.view.unread(bcast_chunk.alive)
        own_now, bcast_now = _position_of(own_chunk), _bcast_position_of(bcast_chunk)
        reason = (_unresumable(own_pos, own_chunk.trimmed, own_now)
                  or _unresumable(bcast_pos, bcast_chunk.trimmed, bcast_now))
        if reason:
            yield self._reset(reason, f"{own_now}_{bcast_now}")
            return
        # Trusted only once known to be resumable.
        self.own_sent = max(self.own_sent or own_pos, own_pos)
        self.bcast_sent = max(self.bcast_sent or bcast_pos, bcast_pos)
        broadcasts = deque(bcast_chunk.entries)
        while len(bcast_chunk.entries) == count:  # rare: hundreds of broadcasts missed
            bcast_chunk = self.feed.broadcasts.replay(bcast_chunk.entries[-1][0], count)
            broadcasts.extend(bcast_chunk.entries)
        now = now_ms()
        while True:
            frames = []
            for notification in own_chunk.notifications:
                key = parse_notification_id(notification.id)
                while broadcasts and parse_notification_id(broadcasts[0][0]) < key:  # feed order
                    frames.append(self._replayed_broadcast(*broadcasts.popleft(), now))
                if key > self.own_sent:
                    self.own_sent = key
                    frames.append(self._replayed_notification(notification))
            if own_chunk.last_scanned is not None:
                self.own_sent = max(self.own_sent, parse_notification_id(own_chunk.last_scanned))
            if own_chunk.scanned < count:
                while broadcasts:
                    frames.append(self._replayed_broadcast(*broadcasts.popleft(), now))
            if frames:
                yield b"".join(frames)  # one write for the chunk, not one per event
            if own_chunk.scanned < count:
                return
            own_chunk = self.feed.inbox.replay(self.user_id, own_chunk.last_scanned, count=count)
            self.own_unread = own_chunk.unread

    def _replayed_notification(self, notification: Notification) -> bytes:
        if self.filter.wants(notification.type, PRIORITY_RANK[notification.priority]):
            COUNTERS.delivered += 1
            return sse.json_frame("notification", notification.to_dict(), id=self._position())
        return sse.frame(id=self._position())

    def _replayed_broadcast(self, pos: str, broadcast: Broadcast, now: int) -> bytes:
        position = parse_notification_id(pos)
        if position <= self.bcast_sent:
            return b""
        self.bcast_sent = position
        key = broadcast.key
        created = pos == key
        expired = broadcast.expiry_ms() <= now
        if (not self.view.visible(key) or (created and expired)
                or not self.filter.wants(broadcast.type, PRIORITY_RANK[broadcast.priority])):
            return sse.frame(id=self._position())
        COUNTERS.delivered += 1
        doc = {**broadcast.to_dict(), "source": "broadcast",
               "read": self.view.is_read(key), "actions": []}
        return sse.json_frame("broadcast", doc, id=self._position())

    def _reset(self, reason: str, position: str) -> bytes:
        """Tell the client to reload its list; the id moves its Last-Event-ID to now."""
        self.own_sent, self.bcast_sent = parse_position(position)
        return sse.frame(event="reset", id=position,
                         data=json.dumps({"reason": reason}, separators=(",", ":")))

    def _position(self) -> str:
        return format_position(self.own_sent, self.bcast_sent)

    def _unread_frame(self) -> bytes:
        return sse.unread_frame(self.own_unread + count_live(self.bcast_unread, now_ms()))
