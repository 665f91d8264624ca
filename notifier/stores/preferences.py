"""Each user's delivery preferences in Redis (the document is
:mod:`notifier.model.preferences`).

One hash per user (``Keys.preferences``): ``email``, ``phone`` (E.164),
``timezone`` (IANA), ``quiet_start`` / ``quiet_end`` (``HH:MM`` in that zone)
and ``ch:<type>:<channel>`` = ``1``/``0`` for each switch the user set. Type
``*`` is the default row. A switch the user never set follows the default row,
and a default-row switch never set takes :data:`DEFAULT_SWITCHES`.

Also kept here: the notification types ever sent (a bounded sorted set, newest
use last), so the settings page can show a row for each.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import replace

import redis

from notifier.core.keys import Keys
from notifier.model.channels import CHANNELS
from notifier.model.preferences import Preferences, is_type
from notifier.stores.lua_scripts import load_script
from notifier.stores.nodes import by_slot
from notifier.stores.preference_cache import PreferenceCache
from notifier.stores.script_batch import ScriptBatch
from notifier.stores.types import TypeStore

log = logging.getLogger(__name__)

def _routing_document(values: list) -> Preferences:
    """A ``prefs_read.lua`` reply as the preferences routing uses (contacts left out:
    deliveries read them when they run)."""
    found = Preferences.from_fields(dict(zip(values[::2], values[1::2], strict=True)))
    return replace(found, email=None, phone=None)


class PreferenceStore:
    """Loads and saves preferences, and remembers the notification types sent."""

    #: Seconds a process trusts that it recorded a type, before recording it again.
    TYPE_REFRESH = 60.0

    def __init__(self, client: redis.Redis, keys: Keys, *, known_types_max: int,
                 types: TypeStore | None = None):
        self.client = client
        self.keys = keys
        self.known_types_max = known_types_max
        #: type -> when this process last recorded it (monotonic seconds).
        self._recorded: dict[str, float] = {}
        self._read = load_script(client, "prefs_read")
        #: The worker's copy of preferences (set where a hub keeps it true), else None.
        self.cache: PreferenceCache | None = None
        #: The described types, whose default channels the documents read are given.
        self.types = types

    def _with_types(self, found: dict[str, Preferences]) -> dict[str, Preferences]:
        """``found`` with the described types attached (each shared document once)."""
        catalog = self.types.catalog() if self.types is not None else {}
        if not catalog:
            return found
        attached: dict[int, Preferences] = {}
        for user_id, prefs in found.items():
            if id(prefs) not in attached:
                attached[id(prefs)] = replace(prefs, catalog=catalog)
            found[user_id] = attached[id(prefs)]
        return found

    def load(self, user_id: str) -> Preferences:
        """One user's preferences (defaults for a user who never saved any), with the
        described types."""
        found = Preferences.from_fields(self.client.hgetall(self.keys.preferences(user_id)))
        return self._with_types({user_id: found})[user_id]

    def load_many(self, user_ids: Iterable[str]) -> dict[str, Preferences]:
        """Many users' stored documents in one round trip (a pipeline of HGETALLs; the
        described types are not attached)."""
        users = list(dict.fromkeys(user_ids))
        pipe = self.client.pipeline(transaction=False)
        for user_id in users:
            pipe.hgetall(self.keys.preferences(user_id))
        return {u: Preferences.from_fields(r) for u, r in zip(users, pipe.execute(),
                                                                  strict=True)}

    def for_routing(self, user_ids: Iterable[str]) -> dict[str, Preferences]:
        """What routing needs of each user's preferences, with the described types: from
        the worker's cache where it serves, the rest in one round trip (and cached)."""
        users = list(dict.fromkeys(user_ids))
        cache = self.cache
        found: dict[str, Preferences] = {}
        missing = users
        if cache is not None and cache.serving:
            missing = []
            for user_id in users:
                prefs = cache.get(user_id)
                if prefs is None:
                    missing.append(user_id)
                else:
                    found[user_id] = prefs
        if not missing:
            return self._with_types(found)
        generation = cache.generation if cache is not None else 0
        read: dict[str, Preferences] = {}
        parsed: dict[tuple, Preferences] = {}  # users mostly share a document
        for user_id, values in zip(missing, self._read_documents(missing), strict=True):
            memo = tuple(values)
            if memo not in parsed:
                parsed[memo] = _routing_document(values) if values else Preferences()
            read[user_id] = parsed[memo]
        if cache is not None:
            cache.keep(read, generation)
        found.update(read)
        return self._with_types(found)

    def _read_documents(self, user_ids: list[str]) -> list[list]:
        """Each user's stored fields and values (flat), one script call per hash slot."""
        names = [self.keys.preferences(u) for u in user_ids]
        groups = by_slot(self.client, names)
        batch = ScriptBatch(self.client)
        for group in groups:
            batch.script(self._read, [names[i] for i in group], [])
        found: list[list] = [[] for _ in names]
        for group, replies in zip(groups, batch.execute(), strict=True):
            for index, values in zip(group, replies, strict=True):
                found[index] = values
        return found

    def save(self, user_id: str, preferences: Preferences) -> None:
        """Replace the user's whole document atomically (MULTI), after checking it."""
        preferences.check()
        fields = preferences.to_fields()
        key = self.keys.preferences(user_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(key)
        if fields:
            pipe.hset(key, mapping=fields)
        pipe.execute()
        self._changed(user_id)

    def set_switch(self, user_id: str, notification_type: str, channel: str, on: bool) -> None:
        """Set one switch, leaving the rest of the document as it is."""
        if not is_type(notification_type) or channel not in CHANNELS:
            raise ValueError(f"no such switch: {notification_type}:{channel}")
        self.set_switches(user_id, {f"ch:{notification_type}:{channel}": "1" if on else "0"})

    def set_switches(self, user_id: str, fields: dict[str, str]) -> None:
        """Set stored switch fields (``ch:<type>:<channel>`` = ``1``/``0``) as they are."""
        self.client.hset(self.keys.preferences(user_id), mapping=fields)
        self._changed(user_id)

    def _changed(self, user_id: str) -> None:
        """Tell every worker's cache to forget the user's preferences, right after the
        write. Not inside its MULTI: a cluster client refuses PUBLISH (a command without
        a key) in a transaction. A cache that read the document between the write and
        this message is told to forget it too."""
        self.client.publish(self.keys.control_channel(), json.dumps({"k": "prefs", "u": user_id}))

    # -- the types ever sent -------------------------------------------------
    def contacts(self, wanted: list[tuple[str, str]]) -> list[str | None]:
        """Each ``(user id, field)``'s contact field (``email``, ``phone``), None when the
        user set none; one round trip."""
        if not wanted:
            return []
        pipe = self.client.pipeline(transaction=False)
        for user_id, name in wanted:
            pipe.hget(self.keys.preferences(user_id), name)
        return [value.decode() if value else None for value in pipe.execute()]

    def known_types(self) -> list[str]:
        """The notification types sent so far (the most recent ``known_types_max``), sorted."""
        return sorted(t.decode() for t in self.client.zrange(self.keys.known_types(), 0, -1))

    def types_to_record(self, types: Iterable[str]) -> list[str]:
        """Those of ``types`` this process has not recorded in the last minute."""
        now = time.monotonic()
        return [t for t in types if now - self._recorded.get(t, -self.TYPE_REFRESH)
                >= self.TYPE_REFRESH]

    def record_types(self, due: list[str], *, pipe: redis.client.Pipeline) -> None:
        """Queue on ``pipe`` the recording of ``due`` (from :meth:`types_to_record`) as
        sent now.

        Each process records a type at most once a minute, so a busy sender
        adds no write per send; the set keeps the ``known_types_max`` most
        recently used types, so a sender inventing types cannot grow it.
        """
        now = time.monotonic()
        for kind in due:
            self._recorded[kind] = now
        if len(self._recorded) > 4 * self.known_types_max:
            self._recorded.clear()  # bounded memory whatever senders invent
        score = int(time.time() * 1000)
        key = self.keys.known_types()
        pipe.zadd(key, dict.fromkeys(due, score))
        pipe.zremrangebyrank(key, 0, -self.known_types_max - 1)
