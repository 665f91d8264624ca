"""The version of the data's format in Redis, and the steps that upgrade it.

A server writes the version it knows on its first start (``SET NX``: data from before
the version key existed is format 1). Every process that serves or works on the data
refuses to start on a format it does not know: a newer one (written by a newer notifier,
which a rollback would silently misread) or an older one (``notifier migrate`` first).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import redis

from notifier.core.keys import Keys

#: The format this code reads and writes.
CURRENT = 3

#: A step upgrades the data from version ``n`` (its key) to ``n + 1``. Each must be safe
#: to run again after a crash half-way through, as ``migrate`` then repeats it.
Step = Callable[[redis.Redis, Keys], None]


def partition_presence(client: redis.Redis, keys: Keys) -> None:
    """1 -> 2: presence and the workers' reports move from one slot each to
    partitions. When the last seen times are moved, users still listed online (their
    servers are stopped) are taken as last seen when their entry expires, as a sweep
    would; the rest of presence and the reports are rebuilt by the running workers."""
    last_seen: dict[str, int] = {}
    for user, at in client.hscan_iter(keys.format1_presence("last_seen")):
        last_seen[user.decode()] = int(at)
    for user, until in client.zscan_iter(keys.format1_presence("until")):
        last_seen[user.decode()] = max(last_seen.get(user.decode(), 0), int(until))
    by_part: dict[int, dict[str, int]] = {}
    for user_id, at in last_seen.items():
        by_part.setdefault(keys.presence_partition(user_id), {})[user_id] = at
    for part, found in by_part.items():
        items = list(found.items())
        for start in range(0, len(items), 1000):
            client.hset(keys.presence_last_seen(part), mapping=dict(items[start:start + 1000]))
    old = [keys.format1_presence(name) for name in ("until", "online", "since")]
    old += [keys.format1_presence(f"u:{user_id}") for user_id in last_seen]
    for start in range(0, len(old), 1000):
        client.delete(*old[start:start + 1000])
    client.delete(*keys.format1_reports())
    client.delete(keys.format1_presence("last_seen"))  # last: a rerun finds it whole


def _stream_entries(client: redis.Redis, key: str):
    """Every entry of stream ``key``, oldest first, read a thousand at a time."""
    start = "-"
    while True:
        entries = client.xrange(key, start, "+", count=1000)
        yield from entries
        if len(entries) < 1000:
            return
        start = f"({entries[-1][0].decode()}"


def _move_stream(client: redis.Redis, old: str, target: Callable[[int], str],
                 keys: Keys) -> None:
    """Copy every entry of ``old`` to ``target(partition of its user)`` under the same
    entry id, so the order is kept; an entry a crashed run copied already is skipped."""
    last: dict[int, tuple[int, int]] = {}
    for entry_id, fields in _stream_entries(client, old):
        part = keys.delivery_partition(fields[b"user"].decode())
        new = target(part)
        if part not in last:
            top = client.xrevrange(new, count=1)
            last[part] = _entry_order(top[0][0]) if top else (0, 0)
        if _entry_order(entry_id) > last[part]:
            client.xadd(new, fields, id=entry_id)
            last[part] = _entry_order(entry_id)


def _entry_order(entry_id: bytes) -> tuple[int, int]:
    ms, seq = entry_id.decode().split("-")
    return int(ms), int(seq)


def partition_delivery(client: redis.Redis, keys: Keys) -> None:
    """2 -> 3: the delivery queue moves from one slot to partitions by user id. Jobs
    waiting or left in progress (workers are stopped: they are queued again; targets
    that accepted one are still skipped), retries, held buckets and dead letters each go
    to their user's partition; the consumer groups are made by the workers."""
    old = keys.format2_delivery
    _move_stream(client, old("jobs"), keys.delivery_jobs, keys)
    for member, due in client.zscan_iter(old("delayed")):
        user_id = json.loads(member)["user"]
        client.zadd(keys.delivery_delayed(keys.delivery_partition(user_id)), {member: due})
    for bucket, until in client.zscan_iter(old("held")):
        part = keys.delivery_partition(bucket.decode().split("|", 1)[0])
        client.zadd(keys.delivery_held(part), {bucket: until})
    for member, _ in client.zscan_iter(old("held-jobs")):
        part = keys.delivery_partition(member.decode().split("|", 1)[0])
        client.zadd(keys.delivery_held_jobs(part), {member: 0})
    _move_stream(client, old("dead"), keys.delivery_dead, keys)
    client.delete(old("jobs"), old("delayed"), old("held"), old("held-jobs"))
    client.delete(old("dead"))  # last: a rerun finds the dead letters whole


STEPS: Mapping[int, Step] = {1: partition_presence, 2: partition_delivery}


class DataFormatError(RuntimeError):
    """The data is in a format this notifier cannot use as it is."""


def steps_from(stored: int, current: int = CURRENT,
               steps: Mapping[int, Step] = STEPS) -> list[tuple[int, Step]]:
    """The steps from ``stored`` up to ``current``, in order; raises
    :class:`DataFormatError` for a newer format or a missing step."""
    if stored > current:
        raise DataFormatError(
            f"the data in Redis is in format {stored}, newer than this notifier knows "
            f"({current}): it was written by a newer version. Run that version (or "
            f"restore a backup taken before the upgrade).")
    missing = [version for version in range(stored, current) if version not in steps]
    if missing:
        raise DataFormatError(f"no step upgrades data format {missing[0]}")
    return [(version, steps[version]) for version in range(stored, current)]


class DataFormat:
    """The stored version and the checks and upgrades that use it."""

    def __init__(self, client: redis.Redis, keys: Keys):
        self.client = client
        self.key = keys.data_format()
        self.keys = keys

    def stored(self) -> int | None:
        """The stored version; None when nothing has set one yet."""
        value = self.client.get(self.key)
        if value is None:
            return None
        try:
            version = int(value)
        except ValueError:
            version = 0
        if version < 1:
            raise DataFormatError(f"the data format version in {self.key} is unreadable: "
                                  f"{value!r}")
        return version

    def require_known(self) -> int:
        """Set the version on a first start; raise :class:`DataFormatError` with what to
        do when the data is in any format but :data:`CURRENT`."""
        self.client.set(self.key, CURRENT, nx=True)
        stored = self.stored()
        if stored is not None and stored < CURRENT:
            raise DataFormatError(
                f"the data in Redis is in format {stored}; this notifier uses format "
                f"{CURRENT}: stop every server, worker and scheduler and run "
                f"`notifier migrate`")
        steps_from(stored or CURRENT)  # raises for a newer format
        return CURRENT

    def migrate(self, on_step: Callable[[int], None] = lambda version: None) -> list[int]:
        """Upgrade the data to :data:`CURRENT`, one step at a time; return the versions
        upgraded from (none when it was current, or empty and new)."""
        stored = self.stored()
        if stored is None:
            self.client.set(self.key, CURRENT, nx=True)
            return []
        done = []
        for version, step in steps_from(stored):
            on_step(version)
            step(self.client, self.keys)
            self.client.set(self.key, version + 1)
            done.append(version)
        return done
