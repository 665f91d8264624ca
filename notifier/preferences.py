"""Each user's delivery preferences: the document, its defaults, and its storage.

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
import re
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time as clock_time
from functools import cache
from zoneinfo import available_timezones

import redis

from .channels.base import CHANNELS
from .keys import Keys
from .scripts import load_script

log = logging.getLogger(__name__)

#: The type of the default row: a type with no switch of its own follows it.
DEFAULT_ROW = "*"

#: Each channel's switch for a type nobody set it for. SMS costs money and
#: interrupts, so it is off until the user turns it on.
DEFAULT_SWITCHES: Mapping[str, bool] = {
    "in_app": True, "web_push": True, "email": True, "mobile_push": True, "sms": False,
}

#: The zone of a user who never chose one.
DEFAULT_TIMEZONE = "UTC"

#: A notification type as senders name it (``schemas.TypeSlug``).
TYPE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
_TYPE = re.compile(TYPE_PATTERN)

#: ``HH:MM``, 00:00 to 23:59.
HHMM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_HHMM = re.compile(HHMM_PATTERN)

#: E.164: a plus, a country code not starting with 0, 7 to 15 digits in all.
PHONE_PATTERN = r"^\+[1-9]\d{6,14}$"

_SCALARS = ("email", "phone", "timezone", "quiet_start", "quiet_end")


@cache
def timezones() -> frozenset[str]:
    """Every IANA zone name this machine knows (read once per process)."""
    return frozenset(available_timezones())


def is_timezone(value: object) -> bool:
    """Whether ``value`` names an IANA time zone."""
    return isinstance(value, str) and value in timezones()


def is_type(value: object) -> bool:
    """Whether ``value`` is a notification type slug or the default row ``*``."""
    return value == DEFAULT_ROW or (isinstance(value, str) and _TYPE.fullmatch(value) is not None)


def parse_hhmm(value: object) -> clock_time | None:
    """``"22:00"`` as a time of day; None when it is not ``HH:MM``."""
    if not isinstance(value, str) or not _HHMM.fullmatch(value):
        return None
    return clock_time(int(value[:2]), int(value[3:]))


def format_hhmm(value: clock_time) -> str:
    """A time of day as ``HH:MM``."""
    return f"{value.hour:02d}:{value.minute:02d}"


@dataclass(frozen=True)
class Preferences:
    """One user's preferences, as stored (switches the user never set are absent)."""

    email: str | None = None
    phone: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    quiet_start: clock_time | None = None
    quiet_end: clock_time | None = None
    #: ``(type, channel) -> on`` for each switch set; type ``*`` is the default row.
    switches: Mapping[tuple[str, str], bool] = field(default_factory=dict)

    def enabled(self, notification_type: str, channel: str) -> bool:
        """Whether ``channel`` is on for ``notification_type``: its own switch, else the
        default row's, else the built-in default."""
        on = self.switches.get((notification_type, channel))
        if on is None:
            on = self.switches.get((DEFAULT_ROW, channel))
        return DEFAULT_SWITCHES[channel] if on is None else on

    @property
    def has_quiet_hours(self) -> bool:
        """Whether a quiet window is set (start == end means none)."""
        return (self.quiet_start is not None and self.quiet_end is not None
                and self.quiet_start != self.quiet_end)

    def types(self) -> list[str]:
        """The types (not the default row) that have a switch of their own, sorted."""
        return sorted({t for t, _ in self.switches} - {DEFAULT_ROW})

    def to_fields(self) -> dict[str, str]:
        """The hash fields that store this document."""
        fields = {f"ch:{t}:{c}": "1" if on else "0" for (t, c), on in self.switches.items()}
        if self.email:
            fields["email"] = self.email
        if self.phone:
            fields["phone"] = self.phone
        if self.timezone != DEFAULT_TIMEZONE:
            fields["timezone"] = self.timezone
        if self.quiet_start is not None and self.quiet_end is not None:
            fields["quiet_start"] = format_hhmm(self.quiet_start)
            fields["quiet_end"] = format_hhmm(self.quiet_end)
        return fields

    @classmethod
    def from_fields(cls, fields: Mapping[bytes | str, bytes | str | None]) -> Preferences:
        """Read a stored hash; a malformed field is ignored (and logged), never fatal."""
        text = {_str(k): _str(v) for k, v in fields.items() if v is not None}
        switches: dict[tuple[str, str], bool] = {}
        for name, value in text.items():
            if not name.startswith("ch:"):
                continue
            kind, _, channel = name[3:].rpartition(":")
            if is_type(kind) and channel in CHANNELS and value in ("0", "1"):
                switches[(kind, channel)] = value == "1"
            else:
                log.warning("ignoring a malformed preference field %r", name)
        zone = text.get("timezone") or DEFAULT_TIMEZONE
        if not is_timezone(zone):
            log.warning("ignoring an unknown stored time zone %r", zone)
            zone = DEFAULT_TIMEZONE
        start, end = parse_hhmm(text.get("quiet_start")), parse_hhmm(text.get("quiet_end"))
        if start is None or end is None:
            start = end = None
        return cls(email=text.get("email") or None, phone=text.get("phone") or None,
                   timezone=zone, quiet_start=start, quiet_end=end, switches=switches)

    def check(self) -> None:
        """Raise ValueError unless every part is well formed (saving checks this first)."""
        for kind, channel in self.switches:
            if not is_type(kind) or channel not in CHANNELS:
                raise ValueError(f"no such switch: {kind}:{channel}")
        if not is_timezone(self.timezone):
            raise ValueError(f"unknown time zone {self.timezone!r}")
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet hours need a start and an end")
        if self.phone is not None and not re.fullmatch(PHONE_PATTERN, self.phone):
            raise ValueError("phone must be E.164")
        if self.email is not None and "@" not in self.email:
            raise ValueError("email must be an address")


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


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
