"""Who is online: a user is online while one of their event streams is open, on any worker.

Each worker that holds a stream of a user keeps one *entry* for that user in
Redis (worker id -> expiry on Redis's clock), and its heartbeat pushes the
expiry forward every interval. When the worker's last stream of the user closes
it removes its entry; a worker that dies stops refreshing, so its entries
expire within ``TTL_INTERVALS`` intervals and leave no ghost. Reads treat an
expired user as offline at once; a sweep, run by any worker's script call,
settles them and publishes their transitions.

Every change goes through one Lua script (``lua/presence_update.lua``), which
decides and publishes online/offline transitions atomically: each is published
exactly once, whichever worker causes it. Users are split into
:data:`~notifier.core.keys.PARTITIONS` partitions by id, each with its own keys and
channel under one hash tag: the scripts are legal on Redis Cluster, and the load of
every worker's heartbeat spreads over its masters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from notifier.core.keys import PARTITIONS, Keys
from notifier.stores.connection import publish_command
from notifier.stores.lua_scripts import load_script
from notifier.stores.script_batch import ScriptBatch

#: An entry expires this many intervals after its last refresh: half an interval
#: of slack for a late heartbeat. With a sweep every eighth of an interval (at
#: most a second apart), a dead worker's users are announced offline within
#: 1.625 intervals (plus a heartbeat tick), and read as offline within 1.5.
TTL_INTERVALS = 1.5

#: Sweeps per interval (each a cheap range read when nothing has expired).
SWEEPS_PER_INTERVAL = 8

#: Users handled by one script call (a heartbeat of 10,000 users is 20 short calls).
BATCH = 500

#: The ops of :meth:`Presence.apply` (see lua/presence_update.lua).
HOLDS, RELEASED, SETTLE = "+", "-", "?"


def _utc(ms: bytes | int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(int(float(ms)) / 1000, UTC)


@dataclass(frozen=True)
class UserPresence:
    """One user's presence."""

    user_id: str
    online: bool
    #: When the user came online (None while offline).
    since: datetime | None
    #: Now while online; else when the user went offline (None: never seen online).
    last_seen: datetime | None


@dataclass(frozen=True)
class OnlinePage:
    """A page of online users in user id order."""

    #: How many users are online in all.
    count: int
    #: (user id, online since) pairs.
    users: list[tuple[str, datetime | None]]
    #: The cursor of the next page, or None on the last one.
    next: str | None


class Presence:
    """Presence in Redis: the reads, and the script workers apply their changes with."""

    def __init__(self, client: redis.Redis, keys: Keys, *, interval: float):
        if not (isinstance(interval, int | float) and interval > 0):
            raise ValueError(f"PRESENCE_INTERVAL must be a positive number, not {interval!r}")
        self.client = client
        self.keys = keys
        self.interval = interval
        self.ttl_ms = round(interval * TTL_INTERVALS * 1000)
        self._update = load_script(client, "presence_update", libraries=("iso_utc",))
        self._page = load_script(client, "presence_page")
        self._read_script = load_script(client, "presence_read")
        #: How the update script publishes on its partition's channel.
        self.publish = publish_command(client)

    # -- writing (the workers' trackers) -------------------------------------
    def apply(self, worker_id: str, changes: Sequence[tuple[str, str]], *,
              sweep: bool = True) -> tuple[int, list[str]]:
        """Apply ``(user id, op)`` changes of ``worker_id``, in calls of ``BATCH`` users
        per partition, all sent together.

        ``op`` is ``HOLDS`` (the worker holds a stream of the user: add or refresh
        its entry), ``RELEASED`` (its last one closed) or ``SETTLE`` (settle the
        user's expired entries). ``sweep`` runs the script on every partition, also
        those without changes. Returns the transitions published and the users found
        expired (in the partitions called), whom the next call should settle.
        """
        keys = self.keys
        parts: dict[int, list[tuple[str, str]]] = {}
        for user_id, op in changes:
            parts.setdefault(keys.presence_partition(user_id), []).append((user_id, op))
        if sweep:
            for part in range(PARTITIONS):
                parts.setdefault(part, [])
        batch = ScriptBatch(self.client)
        for part, part_changes in sorted(parts.items()):
            fixed = [keys.presence_until(part), keys.presence_online(part),
                     keys.presence_since(part), keys.presence_last_seen(part)]
            for start in range(0, max(len(part_changes), 1), BATCH):
                chunk = part_changes[start:start + BATCH]
                args: list[str | int] = [keys.presence_channel(part), worker_id, self.ttl_ms,
                                         BATCH, self.publish]
                for user_id, op in chunk:
                    args += (user_id, op)
                batch.script(self._update, fixed + [keys.presence_entries(user_id)
                                                    for user_id, _ in chunk], args)
        published, expired = 0, []
        for count, found in batch.execute():
            published += count
            expired += [user.decode() for user in found]
        return published, list(dict.fromkeys(expired))

    # -- reading ---------------------------------------------------------------
    def online_count(self) -> int:
        """How many users are online."""
        return self.online_page(0).count

    def online_page(self, limit: int, cursor: str | None = None) -> OnlinePage:
        """Up to ``limit`` online users after ``cursor`` (a user id), in user id order.

        The order is stable: a user who comes or goes between two pages does not
        shift the others. Each partition gives its first ``limit`` after ``cursor``;
        the page is the first ``limit`` of them all.
        """
        keys = self.keys
        batch = ScriptBatch(self.client)
        for part in range(PARTITIONS):
            batch.script(self._page, [keys.presence_until(part), keys.presence_online(part),
                                      keys.presence_since(part)], [cursor or "", limit])
        count, more, users = 0, False, []
        for reply in batch.execute():
            count += int(reply[0])
            more = more or bool(reply[1])
            users += [(reply[i], reply[i + 1]) for i in range(2, len(reply), 2)]
        users.sort()  # bytes: the order ZRANGEBYLEX pages in
        more = more or len(users) > limit
        page = [(user.decode(), _utc(since or None)) for user, since in users[:limit]]
        return OnlinePage(count, page, page[-1][0] if more and page else None)

    def status(self, user_id: str) -> UserPresence:
        """Whether ``user_id`` is online, since when, and when last seen."""
        return self.statuses([user_id])[0]

    def _read(self, user_ids: Sequence[str]) -> dict[str, tuple[int, float | None,
                                                                  bytes | None, bytes | None]]:
        """Each user's (partition's clock in ms, latest expiry, since, last seen): one
        atomic read per partition, all sent together."""
        keys = self.keys
        parts: dict[int, list[str]] = {}
        for user_id in dict.fromkeys(user_ids):
            parts.setdefault(keys.presence_partition(user_id), []).append(user_id)
        batch = ScriptBatch(self.client)
        for part, users in parts.items():
            batch.script(self._read_script, [keys.presence_until(part),
                                             keys.presence_since(part),
                                             keys.presence_last_seen(part)], users)
        found = {}
        for users, reply in zip(parts.values(), batch.execute(), strict=True):
            now = int(reply[0])
            for i, user_id in enumerate(users):
                latest, since, seen = reply[1 + 3 * i:4 + 3 * i]
                found[user_id] = (now, None if latest is None else float(latest), since, seen)
        return found

    def statuses(self, user_ids: Sequence[str]) -> list[UserPresence]:
        """The presence of each of ``user_ids`` (validated ids), atomic per partition."""
        if not user_ids:
            return []
        found = self._read(user_ids)
        out = []
        for user_id in user_ids:
            now, latest, since, last_seen = found[user_id]
            if latest is not None and latest > now:
                out.append(UserPresence(user_id, True, _utc(since), _utc(now)))
            elif latest is not None:  # expired, not yet swept: offline since it expired
                out.append(UserPresence(user_id, False, None, _utc(int(latest))))
            else:
                out.append(UserPresence(user_id, False, None, _utc(last_seen)))
        return out

    def online_among(self, user_ids: Iterable[str]) -> set[str]:
        """Which of ``user_ids`` (validated ids) are online now."""
        wanted = list(dict.fromkeys(user_ids))
        online: set[str] = set()
        for start in range(0, len(wanted), 1000):
            found = self._read(wanted[start:start + 1000])
            online.update(user_id for user_id, (now, latest, _, _) in found.items()
                          if latest is not None and latest > now)
        return online


class PresenceTracker:
    """One worker's share of presence: its streams' users, batched to Redis.

    The hub reports each user's first stream opening and last one closing on
    this worker (:meth:`stream_change`, which only records it); :meth:`sync`,
    called by the worker's heartbeat every ~100 ms, sends what changed in one
    script call, so a burst of connects and disconnects costs a few calls a
    second. Every interval it re-asserts every user the worker holds (which
    also restores presence after Redis lost it) and, eight times as often, sweeps.
    """

    def __init__(self, presence: Presence, worker_id: str,
                 held_users: Callable[[], Iterable[str]]):
        self.presence = presence
        self.worker_id = worker_id
        self._held_users = held_users
        self._changes: dict[str, bool] = {}
        self._expired: list[str] = []
        self._next_refresh = 0.0
        self._next_sweep = 0.0
        self.sweep_every = min(presence.interval / SWEEPS_PER_INTERVAL, 1.0)

    def stream_change(self, user_id: str, holds: bool) -> None:
        """The user's first stream on this worker opened (True) or the last closed (False)."""
        self._changes[user_id] = holds  # the latest state wins; sent at the next sync

    def sync(self, now: float) -> int:
        """Send what is due at monotonic time ``now``; returns the transitions published.

        On a Redis error the changes are kept for the next call (newer ones win).
        """
        refresh = now >= self._next_refresh
        sweep = now >= self._next_sweep
        if not (self._changes or self._expired or refresh or sweep):
            return 0
        changes, self._changes = self._changes, {}
        if refresh:  # everyone held now; what the hub holds is the state of record
            ops = [(user_id, HOLDS) for user_id in self._held_users()]
        else:
            ops = [(user_id, HOLDS) for user_id, holds in changes.items() if holds]
        ops += [(user_id, RELEASED) for user_id, holds in changes.items() if not holds]
        named = {user_id for user_id, _ in ops}
        ops += [(user_id, SETTLE) for user_id in self._expired if user_id not in named]
        try:
            published, expired = self.presence.apply(self.worker_id, ops, sweep=sweep)
        except BaseException:
            for user_id, holds in changes.items():
                self._changes.setdefault(user_id, holds)
            raise
        self._expired = expired
        if expired:  # the sweep found users whose workers died: settle them now
            settled, self._expired = self.presence.apply(
                self.worker_id, [(user_id, SETTLE) for user_id in expired], sweep=False)
            published += settled
        if refresh:
            self._next_refresh = now + self.presence.interval
        if sweep:
            self._next_sweep = now + self.sweep_every
        return published
