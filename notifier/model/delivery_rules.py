"""Where a notification goes, decided from the recipient's preferences and the time.

Pure functions, no I/O: :func:`decide` is called for each recipient of every
send, and tested directly.

Quiet hours are wall-clock times in the user's IANA zone. A time of day is
taken as the first instant at which the user's clock reads it or later: a
window end in the hour skipped when clocks spring forward is the moment they
jump (``02:30`` on that night ends the window at ``03:00`` new time), and a time
in the hour repeated when clocks fall back is its first occurrence. A window
whose start comes after its end (``22:00``-``07:00``) runs overnight; start ==
end means no quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from notifier.model.channels import DELIVERY_CHANNELS
from notifier.model.preferences import Preferences

#: The priority that goes through quiet hours.
URGENT = "urgent"


@dataclass(frozen=True)
class Decision:
    """What to do with one notification for one recipient."""

    #: The in-app channel is on for the type: the live stream shows it as it arrives.
    #: Off: it is still stored in the inbox (and counted as unread), but not shown live.
    live: bool
    #: Inside the user's quiet hours and not urgent: no toast or sound in-app.
    quiet: bool
    #: Each delivery channel that is on for the type: None = deliver now, or the
    #: (aware, UTC) end of the current quiet window to hold it until.
    channels: dict[str, datetime | None]


def decide(prefs: Preferences, notification_type: str, priority: str,
           now: datetime) -> Decision:
    """The decision for a notification of this type and priority sent at ``now`` (aware)."""
    hold = None if priority == URGENT else quiet_window_end(prefs, now)
    return Decision(
        live=prefs.enabled(notification_type, "in_app"),
        quiet=hold is not None,
        channels={channel: hold for channel in DELIVERY_CHANNELS
                  if prefs.enabled(notification_type, channel)},
    )


def quiet_window_end(prefs: Preferences, now: datetime) -> datetime | None:
    """When the quiet window ``now`` falls in ends (aware, UTC); None outside quiet hours."""
    if not prefs.has_quiet_hours:
        return None
    zone = ZoneInfo(prefs.timezone)
    start, end = prefs.quiet_start, prefs.quiet_end
    overnight = start > end
    today = now.astimezone(zone).date()
    # The window that began yesterday evening may still run; today's may have begun.
    for day in (today - timedelta(days=1), today):
        begins = wall_instant(day, start, zone)
        ends = wall_instant(day + timedelta(days=1) if overnight else day, end, zone)
        if begins <= now < ends:
            return ends
    return None


def wall_instant(day: date, at: clock_time, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the clock in ``zone`` reads ``day`` ``at`` or later."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first  # an ordinary time, or the first of a repeated one
    # In a gap (clocks sprang forward past it): fold=0 reads it with the offset from
    # before the jump, which lands after the jump, fold=1 with the offset after it,
    # which lands before; the jump itself lies between, found to the second.
    before = int(naive.replace(tzinfo=zone, fold=1).timestamp())
    after = int(first.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= naive:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)
