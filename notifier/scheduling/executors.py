"""What each kind of scheduled send the service makes runs when it is due.

:func:`init_app` registers the executors of ``notifications``, ``broadcast`` and
``group``, and ``unsnooze`` (snoozed notifications coming back), with the runner
(:func:`notifier.scheduling.scheduler.register`).
"""

from __future__ import annotations

from flask import Flask

from notifier.scheduling import announcements, notifications, snoozes
from notifier.scheduling.scheduler import register

#: What each kind of scheduled send runs when it is due.
EXECUTORS = {
    notifications.KIND: notifications.send_scheduled_notifications,
    "broadcast": announcements.send_scheduled_broadcast,
    "group": announcements.send_scheduled_group,
    snoozes.KIND: snoozes.unsnooze_due,
}


def init_app(app: Flask) -> None:
    """Register the service's executors (once per process; ``app`` is for symmetry with
    the other packages)."""
    for kind, executor in EXECUTORS.items():
        register(kind, executor)
