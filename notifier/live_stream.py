"""One browser's event stream: catch up from its cursor, then go live, losslessly.

The order is what makes it lossless: subscribe (confirmed by Redis) first,
then replay everything after the cursor from the user's Redis Stream, then
send live messages, dropping any whose id was already sent. The same catch-up
runs when the hub reconnects to Redis.
"""

from __future__ import annotations

import json
import logging
import random
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import gevent.queue
import redis
from gevent import monkey

from . import sse
from .hub import PRIORITY_RANK, Delivery, Hub, HubUnavailable
from .ids import parse_notification_id
from .inbox import Inbox, Notification, ReplayChunk, clock_position

log = logging.getLogger(__name__)

def _position_of(chunk: ReplayChunk) -> str:
    """Where the inbox stands now: its newest id, or the clock if later."""
    clock = clock_position(chunk.now_ms)
    if chunk.newest is None:
        return clock
    return max(chunk.newest, clock, key=parse_notification_id)


def _unresumable(position: tuple[int, int], chunk: ReplayChunk) -> str | None:
    """Why resuming after ``position`` would leave a gap, if it would."""
    if chunk.trimmed is not None and position < parse_notification_id(chunk.trimmed):
        return "older than the retained history"
    if position > parse_notification_id(_position_of(chunk)):
        return "unknown last event id"  # ahead of everything this inbox has made
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


# The real poll(2), not gevent's: a zero-timeout check needs no hub round trip,
# and unlike select(2) it has no 1,024-descriptor ceiling (a worker holds 10,000).
_poll = monkey.get_original("select", "poll")
_GONE = select.POLLHUP | select.POLLERR | getattr(select, "POLLRDHUP", 0)


def _client_gone(sock: socket.socket | None) -> bool:
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
    """The events of one stream, as an iterator of SSE bytes."""

    def __init__(self, *, user_id: str, inbox: Inbox, hub: Hub, settings: StreamSettings,
                 cursor: str | None, stream_filter: StreamFilter,
                 expires_at: float | None = None, client_socket: socket.socket | None = None):
        self.user_id = user_id
        self.inbox = inbox
        self.hub = hub
        self.settings = settings
        self.cursor = cursor
        self.filter = stream_filter
        self.expires_at = expires_at
        self.client_socket = client_socket
        self.last_sent: tuple[int, int] | None = None
        self._unread: int | None = None  # known from the last replay, saves a round trip

    def __iter__(self) -> Iterator[bytes]:
        subscriber = None
        try:
            yield sse.frame(retry=self.settings.retry_ms) + sse.comment("connected")
            with self.hub.admission:
                # A stream with no cursor starts from "now", read *before*
                # subscribing, so whatever is published in between is replayed.
                cursor = self.cursor or self.inbox.position(self.user_id)
                subscriber = self.hub.subscribe(self.user_id)
                setup = b"".join(self._catch_up(cursor)) + self._unread_frame()
            yield setup
            while True:
                if self.expires_at is not None and time.time() >= self.expires_at:
                    yield sse.json_frame("expired", {"reason": "token expired"})
                    return
                delivery = self._next(subscriber)
                if delivery is None:
                    if _client_gone(self.client_socket):
                        return
                    if self.expires_at is None or time.time() < self.expires_at:
                        yield sse.comment("ping")
                elif delivery.kind == "notification":
                    key = parse_notification_id(delivery.id)
                    if self.last_sent is not None and key <= self.last_sent:
                        yield delivery.unread  # sent by the replay; its count is newer news
                        continue
                    self.last_sent = key
                    if self.filter.wants(delivery.type, delivery.priority):
                        yield delivery.frames + delivery.unread
                    else:  # an id alone moves the browser's Last-Event-ID past it
                        yield sse.frame(id=delivery.id) + delivery.unread
                elif delivery.kind == "resync":
                    yield from self._catch_up(self._last_sent_id())
                    yield self._unread_frame()
                elif delivery.kind == "shutdown":
                    # Spread the reconnects of a worker's streams over a few seconds.
                    yield sse.frame(retry=random.randint(500, 5000))
                    return
                else:
                    yield delivery.frames + delivery.unread
        except (redis.ConnectionError, redis.TimeoutError, HubUnavailable) as exc:
            log.info("stream for %s ends during an outage: %s", self.user_id, exc)
            yield sse.frame(retry=self.settings.retry_ms + random.randint(0, 2000))
        finally:
            if subscriber is not None:
                self.hub.unsubscribe(subscriber)

    def _next(self, subscriber) -> Delivery | None:
        timeout = self.settings.heartbeat
        if self.expires_at is not None:
            timeout = max(0.0, min(timeout, self.expires_at - time.time()))
        try:
            return subscriber.queue.get(timeout=timeout)
        except gevent.queue.Empty:
            return None

    def _catch_up(self, cursor: str) -> Iterator[bytes]:
        """Replay what came after ``cursor``, or send ``reset`` when that is impossible."""
        position = parse_notification_id(cursor)
        if position is None:
            yield self._reset("malformed last event id", self.inbox.position(self.user_id))
            return
        while True:
            chunk = self.inbox.replay(self.user_id, cursor, count=self.settings.replay_chunk)
            self._unread = chunk.unread
            reason = _unresumable(position, chunk)
            if reason:
                yield self._reset(reason, _position_of(chunk))
                return
            if self.last_sent is None or self.last_sent < position:
                self.last_sent = position  # trusted only once known to be resumable
            frames = []
            for notification in chunk.notifications:
                if self.filter.wants(notification.type, PRIORITY_RANK[notification.priority]):
                    frames.append(self._notification_frame(notification))
                else:
                    frames.append(sse.frame(id=notification.id))
            if chunk.last_scanned is not None:
                position = parse_notification_id(chunk.last_scanned)
                self.last_sent = max(self.last_sent, position)
                cursor = chunk.last_scanned
            if frames:
                yield b"".join(frames)  # one write for the chunk, not one per event
            if chunk.scanned < self.settings.replay_chunk:
                return

    def _reset(self, reason: str, position: str) -> bytes:
        """Tell the client to reload its list; the id moves its Last-Event-ID to now."""
        self.last_sent = parse_notification_id(position)
        return sse.frame(event="reset", id=position,
                         data=json.dumps({"reason": reason}, separators=(",", ":")))

    def _last_sent_id(self) -> str | None:
        return None if self.last_sent is None else f"{self.last_sent[0]}-{self.last_sent[1]}"

    @staticmethod
    def _notification_frame(notification: Notification) -> bytes:
        return sse.json_frame("notification", notification.to_dict(), id=notification.id)

    def _unread_frame(self) -> bytes:
        count, self._unread = self._unread, None
        if count is None:
            count = self.inbox.unread_count(self.user_id)
        return sse.json_frame("unread", {"unread": count})
