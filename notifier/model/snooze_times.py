"""The snooze menu's choices and the time each means for a user in their time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

#: Each choice's name and the words the menu shows.
CHOICES = {"hour": "In 1 hour", "tomorrow": "Tomorrow 9:00", "week": "Next week"}

#: The hour "tomorrow" and "next week" start at, in the user's time zone.
MORNING = 9


def snooze_until(choice: str, now: datetime, timezone: str) -> datetime:
    """When ``choice`` brings notifications back, from ``now`` (aware) in ``timezone``:
    an hour on, tomorrow at 9:00, or next Monday at 9:00. KeyError for another choice."""
    if choice not in CHOICES:
        raise KeyError(choice)
    if choice == "hour":
        return now + timedelta(hours=1)
    local = now.astimezone(ZoneInfo(timezone))
    days = 1 if choice == "tomorrow" else 7 - local.weekday()
    day = (local + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, MORNING, tzinfo=ZoneInfo(timezone))
