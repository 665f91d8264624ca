"""Snoozed notifications come back on time: each snooze schedules an ``unsnooze`` item
for its time, whose executor brings back whatever of the user's is due then.

The user's snoozed set (``Keys.snoozed``, in the user's slot) is the truth; the
scheduled item (in the ``{sched}`` slot) is only the alarm. An alarm for a snooze that
was moved or cancelled finds nothing due and does nothing; listing the inbox also
brings back what is due, so a late alarm never shows a stale list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from notifier.backend import backend

#: The scheduled kind whose executor brings snoozed notifications back.
KIND = "unsnooze"


def schedule_return(user_id: str, until: datetime) -> None:
    """Set the alarm that brings ``user_id``'s notifications snoozed until ``until`` back."""
    backend().scheduler.schedule(KIND, {"user_id": user_id}, until,
                                 created_by=f"user:{user_id}")


def unsnooze_due(body: dict[str, Any], schedule_id: str) -> None:
    """Bring back the user's snoozed notifications that are due (a repeat does nothing)."""
    backend().inbox.unsnooze_due(body["user_id"])
