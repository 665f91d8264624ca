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

import logging
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import redis

from notifier.core.keys import Keys
from notifier.model.channels import CHANNELS
from notifier.model.preferences import DEFAULT_ROW, Preferences, is_type
from notifier.stores.lua_scripts import load_script

log = logging.getLogger(__name__)

def _routing_fields(types: Iterable[str]) -> list[str]:
    """The fields routing reads for these types: zone, quiet hours, their switches."""
    rows = dict.fromkeys([*types, DEFAULT_ROW])
    return ["timezone", "quiet_start", "quiet_end",
            *(f"ch:{t}:{c}" for t in rows for c in CHANNELS)]


@dataclass(frozen=True)
class RoutingLoad:
    """The reads :meth:`PreferenceStore.load_routing` queued: (types, users) per call."""

    groups: list[tuple[tuple[str, ...], list[str]]]

    def parse(self, replies: list) -> dict[str, Preferences]:
        """Each user's preferences (narrowed to the types read) from the calls' replies."""
        none = Preferences()
        found: dict[str, Preferences] = {}
        for (rows, users), reply in zip(self.groups, replies, strict=True):
            fields = _routing_fields(rows)
            parsed: dict[tuple, Preferences] = {}  # users mostly share a document
            for user_id, values in zip(users, reply, strict=True):
                if values == 0:
                    found[user_id] = none
                    continue
                memo = tuple(values)
                if memo not in parsed:
                    parsed[memo] = Preferences.from_fields(dict(zip(fields, values,
                                                                    strict=True)))
                found[user_id] = parsed[memo]
        return found


class PreferenceStore:
    """Loads and saves preferences, and remembers the notification types sent."""

    #: Seconds a process trusts that it recorded a type, before recording it again.
    TYPE_REFRESH = 60.0

    def __init__(self, client: redis.Redis, keys: Keys, *, known_types_max: int):
        self.client = client
        self.keys = keys
        self.known_types_max = known_types_max
        #: type -> when this process last recorded it (monotonic seconds).
        self._recorded: dict[str, float] = {}
        self._read = load_script(client, "prefs_read")

    def load(self, user_id: str) -> Preferences:
        """One user's preferences (defaults for a user who never saved any)."""
        return Preferences.from_fields(self.client.hgetall(self.keys.preferences(user_id)))

    def load_many(self, user_ids: Iterable[str]) -> dict[str, Preferences]:
        """Many users' preferences in one round trip (a pipeline of HGETALLs)."""
        users = list(dict.fromkeys(user_ids))
        pipe = self.client.pipeline(transaction=False)
        for user_id in users:
            pipe.hgetall(self.keys.preferences(user_id))
        return {u: Preferences.from_fields(r) for u, r in zip(users, pipe.execute(),
                                                                  strict=True)}

    def load_routing(self, types: Mapping[str, Collection[str]], *,
                     pipe: redis.client.Pipeline) -> RoutingLoad:
        """Queue on ``pipe`` the read of what routing needs for each user: the zone,
        the quiet hours and the switches of the types given for that user (and the
        default row). One script call per distinct set of types, whatever the number
        of users; pass the pipeline's replies for it to :meth:`RoutingLoad.parse`."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for user_id, kinds in types.items():
            groups.setdefault(tuple(sorted(kinds)), []).append(user_id)
        for rows, users in groups.items():
            self._read(keys=[self.keys.preferences(u) for u in users],
                       args=_routing_fields(rows), client=pipe)
        return RoutingLoad(list(groups.items()))

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

    def set_switch(self, user_id: str, notification_type: str, channel: str, on: bool) -> None:
        """Set one switch, leaving the rest of the document as it is."""
        if not is_type(notification_type) or channel not in CHANNELS:
            raise ValueError(f"no such switch: {notification_type}:{channel}")
        self.client.hset(self.keys.preferences(user_id),
                         f"ch:{notification_type}:{channel}", "1" if on else "0")

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

    def record_types(self, types: Iterable[str], *, pipe: redis.client.Pipeline) -> None:
        """Queue on ``pipe`` the recording of ``types`` as sent now.

        Each process records a type at most once a minute, so a busy sender
        adds no write per send; the set keeps the ``known_types_max`` most
        recently used types, so a sender inventing types cannot grow it.
        """
        now = time.monotonic()
        due = [t for t in types if now - self._recorded.get(t, -self.TYPE_REFRESH)
               >= self.TYPE_REFRESH]
        if not due:
            return
        for kind in due:
            self._recorded[kind] = now
        if len(self._recorded) > 4 * self.known_types_max:
            self._recorded.clear()  # bounded memory whatever senders invent
        score = int(time.time() * 1000)
        key = self.keys.known_types()
        pipe.zadd(key, dict.fromkeys(due, score))
        pipe.zremrangebyrank(key, 0, -self.known_types_max - 1)
