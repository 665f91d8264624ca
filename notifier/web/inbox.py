"""The signed-in user's inbox page."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from notifier.backend import backend
from notifier.core.errors import ApiError
from notifier.core.ids import is_item_id, is_notification_id, is_thread
from notifier.model.inbox_filter import parse_filter
from notifier.model.snooze_times import CHOICES, snooze_until
from notifier.model.text_rules import safe_next
from notifier.model.threads import ThreadRow, thread_rows
from notifier.scheduling.snoozes import schedule_return
from notifier.stores.feed import parse_position

bp = Blueprint("inbox", __name__)


@bp.get("/")
def home():
    """Send visitors to their inbox, or to sign in."""
    return redirect(url_for("inbox.index"))


#: The query arguments of the page's filter, kept by its links.
FILTER_ARGS = ("unread", "read", "type", "priority", "q")


@bp.get("/inbox")
@login_required
def index():
    """Show the user's notifications, newest first, a page at a time, filtered as the
    query asks (``type``, ``priority``, ``unread``/``read``, ``q``), the items of a thread
    in one row; ``archived=1`` shows the archived ones instead (one row each)."""
    before = request.args.get("before") or None
    if before is not None and not is_item_id(before):
        abort(400)
    try:
        only = parse_filter(request.args)
    except ApiError:
        abort(400)
    archived = request.args.get("archived") == "1"
    snoozed = not archived and request.args.get("snoozed") == "1"
    filters = {name: request.args[name] for name in FILTER_ARGS if request.args.get(name)}
    if archived:
        filters["archived"] = "1"
    if snoozed:
        filters["snoozed"] = "1"
    feed = backend().feed
    # Taken before the page is read: the stream replays anything newer (the page
    # drops repeats), and "mark all read" spares what came after it.
    position = feed.position(current_user.user_id)
    notifications, older = feed.page(
        current_user.user_id, limit=current_app.config["INBOX_PAGE_SIZE"],
        before=before, only=only, archived=archived, snoozed=snoozed,
    )
    backend().receipts.seen(current_user.user_id, [n.id for n in notifications])
    types = sorted(set(backend().preferences.known_types()) | only.types)
    zone = ZoneInfo(backend().preferences.load(current_user.user_id).timezone)
    until = {i: datetime.fromtimestamp(ms / 1000, zone) for i, ms in
             backend().inbox.snoozed_until(current_user.user_id,
                                           [n.id for n in notifications]).items()}
    view = "archived" if archived else "snoozed" if snoozed else "inbox"
    rows = (thread_rows(notifications) if view == "inbox"
            else [ThreadRow(n) for n in notifications])
    return render_template(
        "inbox/index.html", notifications=notifications, rows=rows, older=older,
        before=before, only=only, filters=filters, types=types, position=position,
        archived=archived, snoozed=snoozed, until=until, snooze_choices=CHOICES, view=view,
        kept={k: v for k, v in filters.items()
              if k not in ("unread", "read", "archived", "snoozed")},
    )


def _back():
    if request.headers.get("X-Requested-With") == "fetch":
        return "", 204  # the page's script updates itself; the stream tells other tabs
    return redirect(safe_next(request.form.get("next")) or url_for("inbox.index"))


@bp.post("/inbox/read")
@login_required
def mark_read():
    """Mark the chosen notifications read, or all up to the newest one shown."""
    feed = backend().feed
    if request.form.get("all"):
        up_to = request.form.get("up_to") or None
        if up_to is not None and parse_position(up_to) is None:
            abort(400)
        feed.mark_all_read(current_user.user_id, up_to)
    else:
        ids = request.form.getlist("id")
        if not ids or len(ids) > 1000 or not all(is_item_id(i) for i in ids):
            abort(400)
        feed.mark_read(current_user.user_id, ids)
    return _back()


@bp.post("/inbox/thread/read")
@login_required
def mark_thread_read():
    """Mark every unread notification of the form's ``thread`` read."""
    thread = request.form.get("thread")
    if not is_thread(thread):
        abort(400)
    backend().inbox.mark_thread_read(current_user.user_id, thread)
    return _back()


#: What the bulk form does to the selected items (``snooze:<choice>`` too).
BULK_ACTIONS = ("read", "delete", "archive", "restore", "unsnooze")


@bp.post("/inbox/bulk")
@login_required
def bulk():
    """Mark read, delete, archive, restore, snooze (``snooze:<choice>``) or unsnooze the
    selected notifications (broadcasts are read or dismissed; the others pass them by)."""
    action = request.form.get("op") or ""
    ids = request.form.getlist("id")
    verb, _, choice = action.partition(":")
    known = action in BULK_ACTIONS or (verb == "snooze" and choice in CHOICES)
    if not known or len(ids) > 1000 or not all(is_item_id(i) for i in ids):
        abort(400)
    feed = backend().feed
    own = [i for i in ids if not i.startswith("b")]
    if own and verb == "snooze":
        _snooze(own, choice)
    elif own and action == "unsnooze":
        backend().inbox.unsnooze(current_user.user_id, own)
    elif verb == "snooze" or action == "unsnooze":
        pass  # broadcasts are not snoozed
    elif ids and action == "read":
        feed.mark_read(current_user.user_id, ids)
    elif ids and action == "delete":
        feed.delete_many(current_user.user_id, ids)
    elif own:
        backend().inbox.archive(current_user.user_id, own, restore=action == "restore")
    return _back()


@bp.post("/inbox/<notification_id>/archive")
@login_required
def archive(notification_id: str):
    """Archive one notification: out of the inbox list, read, under Archived."""
    if not is_notification_id(notification_id):
        abort(400)
    backend().inbox.archive(current_user.user_id, [notification_id])
    return _back()


@bp.post("/inbox/<notification_id>/restore")
@login_required
def restore(notification_id: str):
    """Put an archived notification back in the inbox list."""
    if not is_notification_id(notification_id):
        abort(400)
    backend().inbox.archive(current_user.user_id, [notification_id], restore=True)
    return _back()


@bp.post("/inbox/<notification_id>/delete")
@login_required
def delete(notification_id: str):
    """Delete one notification, or dismiss a broadcast."""
    if not is_item_id(notification_id):
        abort(400)
    backend().feed.delete(current_user.user_id, notification_id)
    return _back()


@bp.post("/inbox/<notification_id>/snooze")
@login_required
def snooze(notification_id: str):
    """Snooze one notification for the form's choice (``for``: hour, tomorrow, week)."""
    choice = request.form.get("for")
    if not is_notification_id(notification_id) or choice not in CHOICES:
        abort(400)
    _snooze([notification_id], choice)
    return _back()


@bp.post("/inbox/<notification_id>/unsnooze")
@login_required
def unsnooze(notification_id: str):
    """Bring a snoozed notification back to the inbox now, unread."""
    if not is_notification_id(notification_id):
        abort(400)
    backend().inbox.unsnooze(current_user.user_id, [notification_id])
    return _back()


def _snooze(ids: list[str], choice: str) -> None:
    """Snooze ``ids`` of the signed-in user until ``choice`` in their time zone."""
    user_id = current_user.user_id
    zone = backend().preferences.load(user_id).timezone
    until = snooze_until(choice, datetime.now(UTC), zone)
    if backend().inbox.snooze(user_id, ids, int(until.timestamp() * 1000))[0]:
        schedule_return(user_id, until)


@bp.post("/inbox/seen")
@login_required
def mark_seen():
    """Record that the page showed these notifications (the live ones, as they arrive)."""
    ids = request.form.getlist("id")
    if not ids or len(ids) > 100 or not all(is_item_id(i) for i in ids):
        abort(400)
    backend().receipts.seen(current_user.user_id, ids)
    return "", 204
