"""System-wide announcements, stored once and read by every user (fan-out on read).

A broadcast costs one entry however many users there are: its JSON in a hash,
its id in a sorted set of live broadcasts scored by expiry, and an entry in a
log stream that live streams resume from (a change, such as a maintenance
window ended early, is logged again). Each user's read and dismissed marks
live in the user's own slot (see :mod:`notifier.stores.feed`), which merges both.

In Redis the id is the log entry id (``<ms>-<seq>``); outside it is prefixed
with ``b`` so it can never be mistaken for a notification id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import redis

from notifier.core.clock import iso_utc, now_ms
from notifier.core.idempotency import stored_outcome
from notifier.core.ids import format_id, parse_broadcast_id, parse_notification_id
from notifier.core.keys import Keys
from notifier.model.requests import BroadcastRequest
from notifier.stores.connection import publish_command
from notifier.stores.lua_scripts import load_script


@dataclass(frozen=True)
class Broadcast:
    """One announcement as the API, the pages and the live stream show it."""

    id: str
    type: str
    title: str
    body: str
    data: dict[str, Any]
    priority: str
    link: str | None
    created_at: str
    expires_at: str | None
    starts_at: str | None
    ends_at: str | None

    @property
    def key(self) -> str:
        """The id inside Redis (without the ``b``)."""
        return self.id[1:]

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON shape."""
        return dict(self.__dict__)

    def expiry_ms(self) -> float:
        """When it disappears, in epoch ms (infinity when never)."""
        if self.expires_at is None:
            return float("inf")
        return datetime.fromisoformat(self.expires_at).timestamp() * 1000

    @classmethod
    def from_json(cls, payload: str | bytes, id: str | None = None) -> Broadcast:
        """Build from stored JSON (``id`` given for a log entry's payload, which lacks it)."""
        doc = json.loads(payload)
        if id is not None:
            doc["id"] = id
        return cls(**doc)


@dataclass(frozen=True)
class BroadcastChunk:
    """Log entries after a cursor, and what tells whether resuming there is possible."""

    #: (log position, broadcast as of that entry), oldest first.
    entries: list[tuple[str, Broadcast]]
    trimmed: str | None
    newest: str | None
    now_ms: int
    #: Live broadcasts: Redis id -> expiry (ms).
    alive: dict[str, float]
    #: Retained broadcasts that announce a window: Redis id -> the window's end (ms).
    windows: dict[str, float]


def _expiry_score(expires_at: str | None) -> str:
    if expires_at is None:
        return "+inf"
    return str(int(datetime.fromisoformat(expires_at).timestamp() * 1000))


def _window_score(ends_at: str | None) -> str:
    """The end of the window a broadcast announces (ms), '' when none."""
    if ends_at is None:
        return ""
    return str(int(datetime.fromisoformat(ends_at).timestamp() * 1000))


def _json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


class BroadcastError(Exception):
    """A change a broadcast cannot take (its message says why)."""


class Broadcasts:
    """Broadcast storage on one Redis client."""

    TRIM_SLACK = 100

    def __init__(self, client: redis.Redis, keys: Keys, *, cap: int, idempotency_ttl: int):
        self.client = client
        self.keys = keys
        self.cap = cap
        self.idempotency_ttl = idempotency_ttl
        self._create = load_script(client, "broadcast_create")
        self._update = load_script(client, "broadcast_update")
        self._replay = load_script(client, "broadcast_replay")

    def create(self, request: BroadcastRequest, *,
               idempotency: tuple[str, str, str] | None = None) -> tuple[str, bool]:
        """Store and publish a broadcast; returns (its id, whether an idempotent replay)."""
        expires = request.expires_at or request.ends_at
        doc = {
            "type": request.type, "title": request.title, "body": request.body,
            "data": request.data, "priority": request.priority, "link": request.link,
            "created_at": iso_utc(datetime.now(UTC)),
            "expires_at": iso_utc(expires) if expires else None,
            "starts_at": iso_utc(request.starts_at) if request.starts_at else None,
            "ends_at": iso_utc(request.ends_at) if request.ends_at else None,
        }
        keys = [self.keys.broadcast_log(), self.keys.broadcast_items(),
                self.keys.broadcast_alive(), self.keys.broadcast_trimmed(),
                self.keys.broadcast_channel(), self.keys.broadcast_windows()]
        if idempotency:
            keys.append(self.keys.broadcast_idempotency(idempotency[0], idempotency[1]))
        args = [now_ms(), self.cap, self.TRIM_SLACK, 1 if idempotency else 0,
                self.idempotency_ttl, idempotency[2] if idempotency else "",
                _json(doc), _expiry_score(doc["expires_at"]), _window_score(doc["ends_at"]),
                publish_command(self.client)]
        result = self._create(keys=keys, args=args)
        replayed = stored_outcome(result, idempotency)
        if replayed is not None:
            return "b" + replayed, True
        return "b" + result.decode(), False

    def get(self, broadcast_id: str) -> Broadcast | None:
        """The broadcast (expired ones included, while retained)."""
        if parse_broadcast_id(broadcast_id) is None:
            return None
        stored = self.client.hget(self.keys.broadcast_items(), broadcast_id[1:])
        return Broadcast.from_json(stored) if stored else None

    def recent(self, limit: int = 100) -> list[Broadcast]:
        """The newest retained broadcasts, expired ones included."""
        stored = self.client.hgetall(self.keys.broadcast_items())
        found = sorted((Broadcast.from_json(v) for v in stored.values()),
                       key=lambda b: parse_broadcast_id(b.id), reverse=True)
        return found[:limit]

    def end_now(self, broadcast_id: str) -> Broadcast | None:
        """End a broadcast's window now (and its life, when it expired with the window).

        Returns the updated broadcast, None when unknown; raises
        :class:`BroadcastError` when it has no window or the window is over.
        """
        if parse_broadcast_id(broadcast_id) is None:
            return None
        while True:
            stored = self.client.hget(self.keys.broadcast_items(), broadcast_id[1:])
            if stored is None:
                return None
            current = Broadcast.from_json(stored)
            now = datetime.now(UTC)
            if current.ends_at is None:
                raise BroadcastError("This broadcast announces no window to end.")
            if datetime.fromisoformat(current.ends_at) <= now:
                raise BroadcastError("This broadcast's window is already over.")
            ended = iso_utc(now)
            expires = current.expires_at
            if expires is None or datetime.fromisoformat(expires) > now:
                expires = ended if expires == current.ends_at else expires
            updated = replace(current, ends_at=ended, expires_at=expires,
                              starts_at=min(current.starts_at, ended))
            pos = self._update(
                keys=[self.keys.broadcast_log(), self.keys.broadcast_items(),
                      self.keys.broadcast_alive(), self.keys.broadcast_channel(),
                      self.keys.broadcast_windows()],
                args=[current.key, stored, _json(updated.to_dict()),
                      _expiry_score(updated.expires_at), _window_score(updated.ends_at),
                      publish_command(self.client)])
            if pos == 0:
                return None
            if pos != -1:
                return updated

    # -- reading, for the feed ---------------------------------------------
    def replay(self, after: str | None, count: int = 200) -> BroadcastChunk:
        """Up to ``count`` log entries after ``after`` (none without a cursor)."""
        return self.parse_replay(self._replay(keys=self._replay_keys(),
                                              args=[after or "", count]))

    def _replay_keys(self) -> list[str]:
        return [self.keys.broadcast_log(), self.keys.broadcast_alive(),
                self.keys.broadcast_trimmed(), self.keys.broadcast_windows()]

    def replay_on(self, pipe: redis.client.Pipeline, after: str | None, count: int = 200):
        """Queue :meth:`replay` on ``pipe``; parse its result with :meth:`parse_replay`."""
        self._replay(keys=self._replay_keys(), args=[after or "", count], client=pipe)

    @staticmethod
    def parse_replay(result: list) -> BroadcastChunk:
        """A :class:`BroadcastChunk` from the replay script's reply."""
        trimmed, newest, redis_ms, alive_flat, windows_flat, *flat = result
        alive = _scores(alive_flat)
        entries = []
        for i in range(0, len(flat), 3):
            pos, of, payload = flat[i].decode(), flat[i + 1], flat[i + 2]
            broadcast = Broadcast.from_json(payload, None if of else "b" + pos)
            entries.append((pos, broadcast))
        return BroadcastChunk(
            entries=entries, trimmed=trimmed.decode() if trimmed else None,
            newest=newest.decode() if newest else None, now_ms=int(redis_ms), alive=alive,
            windows=_scores(windows_flat))

    def docs(self, keys: list[str]) -> list[Broadcast]:
        """The broadcasts with these Redis ids, in that order (missing ones skipped)."""
        if not keys:
            return []
        stored = self.client.hmget(self.keys.broadcast_items(), keys)
        return [Broadcast.from_json(s) for s in stored if s is not None]


def _scores(flat: list) -> dict[str, float]:
    """A sorted set's ``[member, score, ...]`` as a script returns it: member -> score."""
    return {flat[i].decode(): float(flat[i + 1]) for i in range(0, len(flat), 2)}


def newest_position(newest: str | None, clock_ms: int) -> str:
    """Where the log stands: its newest id, or the clock when that is later."""
    clock = (clock_ms - 1, 2**64 - 1)
    if newest is None:
        return format_id(clock)
    return format_id(max(parse_notification_id(newest), clock))
