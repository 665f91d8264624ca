"""A user's delivery preferences as a document: its fields, rules and defaults.

Stored by :class:`notifier.stores.preferences.PreferenceStore`; read by the delivery
rules (:mod:`notifier.model.delivery_rules`) and validated in requests.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time as clock_time
from functools import cache
from zoneinfo import available_timezones

from notifier.model.channels import CHANNELS
from notifier.model.types import Catalog

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
    #: The described types (not stored with the document: attached when read).
    catalog: Catalog = field(default_factory=dict, compare=False, repr=False)

    def enabled(self, notification_type: str, channel: str) -> bool:
        """Whether ``channel`` is on for ``notification_type``: on if the type locks it
        on; else its own switch, else the described type's default, else the default
        row's, else the built-in default."""
        info = self.catalog.get(notification_type)
        if info is not None and info.locked(channel):
            return True
        on = self.switches.get((notification_type, channel))
        if on is None and info is not None:
            on = info.default(channel)
        return self.row_default(channel) if on is None else on

    def follows(self, notification_type: str, channel: str) -> bool:
        """What ``channel`` is for ``notification_type`` without a switch of its own."""
        info = self.catalog.get(notification_type)
        on = info.default(channel) if info is not None else None
        return self.row_default(channel) if on is None else on

    def row_default(self, channel: str) -> bool:
        """The default row's switch for ``channel``, else the built-in default."""
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
