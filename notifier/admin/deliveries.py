"""Admin console, Deliveries: the queue's figures, dead letters (retry or discard one)
and a notification's delivery timeline."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from notifier.backend import backend
from notifier.core.ids import is_notification_id, is_user_id
from notifier.delivery.queue import parse_dead_letter_id
from notifier.model.notification import Notification
from notifier.model.text_rules import safe_next


def _dead_id(value: str) -> str:
    if parse_dead_letter_id(value) is None:
        abort(404, description="There is no dead letter with that id.")
    return value


def deliveries():
    """The queue's figures, the live delivery workers, and the dead letters, newest
    first, a page at a time."""
    before = request.args.get("before") or None
    if before is not None and parse_dead_letter_id(before) is None:
        abort(400, description="That page link is malformed: start from the first page.")
    state = backend()
    size = current_app.config["ADMIN_PAGE_SIZE"]
    letters = state.delivery_queue.dead_letters(limit=size + 1, before=before)
    more = len(letters) > size
    letters = letters[:size]
    return render_template(
        "admin/deliveries.html", letters=letters, counts=state.delivery_queue.counts(),
        workers=state.delivery_workers.read_workers(),
        next_url=url_for(".deliveries", before=letters[-1].id) if more else None,
        first_url=url_for(".deliveries") if before else None)


def deliveries_retry(dead_id: str):
    """Queue a dead letter again (targets that accepted it before are skipped)."""
    back = redirect(safe_next(request.form.get("next")) or url_for(".deliveries"))
    if backend().delivery_queue.retry_dead_letter(_dead_id(dead_id)):
        flash("Queued again: a worker picks it up within moments.", "success")
    else:
        flash("That dead letter was retried or discarded already.", "info")
    return back


def deliveries_discard(dead_id: str):
    """Delete a dead letter for good."""
    back = redirect(safe_next(request.form.get("next")) or url_for(".deliveries"))
    if backend().delivery_queue.discard_dead_letter(_dead_id(dead_id)):
        flash("Discarded the dead letter.", "success")
    else:
        flash("That dead letter was retried or discarded already.", "info")
    return back


def deliveries_timeline():
    """Every delivery attempt of one notification, per channel and target."""
    user_id = (request.args.get("user_id") or "").strip()
    notification_id = (request.args.get("notification_id") or "").strip()
    asked = bool(user_id or notification_id)
    problems: dict[str, str] = {}
    status = 200
    if asked and not is_user_id(user_id):
        problems["user_id"] = "A user id has 1-64 letters, digits or _ . : @ -."
    if asked and not is_notification_id(notification_id):
        problems["notification_id"] = "A notification id looks like 1795275114152-0."
    if problems:
        status = 400
    events, notification = [], None
    if asked and not problems:
        state = backend()
        events = state.deliveries.timeline(user_id, notification_id)
        found = state.redis.xrange(state.keys.inbox(user_id), notification_id,
                                   notification_id, count=1)
        if found:
            notification = Notification.from_stored(user_id, notification_id,
                                                    found[0][1][b"n"], read=False)
        if not events and notification is None:
            problems["notification_id"] = f"{user_id} has no notification {notification_id}."
            status = 404
    channels: dict[str, list[dict]] = {}
    for event in events:
        channels.setdefault(event["channel"], []).append(event)
    return render_template(
        "admin/delivery_timeline.html", user_id=user_id, notification_id=notification_id,
        problems=problems, channels=channels, notification=notification,
        asked=asked), status
