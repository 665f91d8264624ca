"""The described notification types in Redis (the document is :mod:`notifier.model.types`).

One hash (``Keys.type_catalog``): slug -> JSON. Every operation touches that one
key, so it is safe on a Redis Cluster. Every write publishes ``{"k": "types"}`` on
the control channel; a worker whose hub hears it re-reads the catalog on its next
use, and a process without that subscription (a scheduler, a CLI) trusts its copy
for at most :attr:`TypeStore.TTL` seconds.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

import redis

from notifier.core.clock import iso_utc
from notifier.core.keys import Keys
from notifier.model.types import Catalog, TypeInfo

log = logging.getLogger(__name__)


class TypeStore:
    """Saves, lists and deletes described types, and keeps a per-process copy of them."""

    #: Seconds a process that does not hear the control channel trusts its copy.
    TTL = 5.0

    def __init__(self, client: redis.Redis, keys: Keys):
        self.client = client
        self.keys = keys
        self._catalog: dict[str, TypeInfo] | None = None
        self._read_at = 0.0
        #: Whether the hub hears the control channel (then the copy is kept until told).
        self._heard = False
        #: Bumped by every invalidation, so a read that began before one is not kept.
        self._generation = 0

    # -- reading --------------------------------------------------------------
    def get(self, slug: str) -> TypeInfo | None:
        """One described type, or None."""
        stored = self.client.hget(self.keys.type_catalog(), slug)
        return _parse(slug, stored) if stored is not None else None

    def all(self) -> dict[str, TypeInfo]:
        """Every described type by slug, in slug order (read from Redis)."""
        found = {}
        for slug, stored in sorted(self.client.hgetall(self.keys.type_catalog()).items()):
            info = _parse(slug.decode(), stored)
            if info is not None:
                found[info.type] = info
        return found

    def catalog(self) -> Catalog:
        """Every described type, from this process's copy when it is still true."""
        kept = self._catalog
        if kept is not None and (self._heard or time.monotonic() - self._read_at < self.TTL):
            return kept
        generation = self._generation
        found = self.all()
        if generation == self._generation:
            self._catalog, self._read_at = found, time.monotonic()
        return found

    # -- writing --------------------------------------------------------------
    def put(self, info: TypeInfo) -> tuple[TypeInfo, bool]:
        """Save ``info`` (stamped now); returns it and whether the type is new."""
        info = replace(info, updated_at=iso_utc(datetime.now(UTC)))
        created = self.client.hset(self.keys.type_catalog(), info.type, info.to_json())
        self._changed()
        return info, bool(created)

    def delete(self, slug: str) -> bool:
        """Forget a described type (it shows as its slug again); whether it was there."""
        removed = self.client.hdel(self.keys.type_catalog(), slug)
        self._changed()
        return bool(removed)

    def _changed(self) -> None:
        self.forget()
        self.client.publish(self.keys.control_channel(), json.dumps({"k": "types"}))

    # -- the per-process copy ----------------------------------------------------
    def forget(self) -> None:
        """Drop this process's copy (the catalog changed)."""
        self._generation += 1
        self._catalog = None

    def on_control(self, message: dict) -> None:
        """A hub's control listener: forget the copy when the catalog changed."""
        if message.get("k") == "types":
            self.forget()

    def on_control_state(self, heard: bool) -> None:
        """A hub's control state listener: trust the copy only while changes are heard."""
        self.forget()
        self._heard = heard


def _parse(slug: str, stored: bytes | str) -> TypeInfo | None:
    try:
        return TypeInfo.from_json(slug, stored)
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring a malformed described type %r", slug)
        return None
