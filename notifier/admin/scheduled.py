"""Admin console, Scheduled: every send waiting for its time, with its state; cancel one."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from notifier.backend import backend
from notifier.core.ids import is_schedule_id
from notifier.model.text_rules import safe_next
from notifier.scheduling.scheduler import is_cursor

#: The kinds the filter offers, with their labels.
KINDS = {"notifications": "Notifications", "broadcast": "Broadcasts", "group": "Group sends"}

#: The labels of a scheduled item's states.
STATES = {"scheduled": "Scheduled", "running": "Sending", "retrying": "Retrying",
          "failed": "Failed"}


def scheduled():
    """Scheduled sends soonest first (failed ones first of all), a page at a time."""
    after = request.args.get("after") or None
    if after is not None and not is_cursor(after):
        abort(400, description="That page link is malformed: start from the first page.")
    kind = request.args.get("kind") or None
    if kind is not None and kind not in KINDS:
        abort(400, description="There is no such kind of scheduled send.")
    items, cursor = backend().scheduler.list(limit=current_app.config["ADMIN_PAGE_SIZE"],
                                             after=after, kind=kind)
    return render_template(
        "admin/scheduled.html", items=items, kind=kind, kinds=KINDS, states=STATES,
        schedulers=backend().schedulers.read_workers(),
        next_url=url_for(".scheduled", kind=kind, after=cursor) if cursor else None,
        first_url=url_for(".scheduled", kind=kind) if after else None)


def scheduled_cancel(schedule_id: str):
    """Cancel a scheduled send that has not started (or that failed)."""
    back = redirect(safe_next(request.form.get("next")) or url_for(".scheduled"))
    if not is_schedule_id(schedule_id):
        abort(404, description="There is no scheduled send with that id.")
    store = backend().scheduler
    item = store.get(schedule_id)
    if item is None:
        flash("Nothing to cancel: that send went out already or was cancelled.", "info")
        return back
    if not store.cancel(schedule_id):
        flash(f"“{item.title}” is being sent right now and can no longer be cancelled.",
              "error")
        return back
    flash(f"Cancelled “{item.title}”.", "success")
    return back
