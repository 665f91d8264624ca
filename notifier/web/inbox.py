"""The signed-in user's inbox page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from notifier.backend import backend
from notifier.core.errors import ApiError
from notifier.core.ids import is_item_id, is_notification_id
from notifier.model.inbox_filter import parse_filter
from notifier.model.text_rules import safe_next
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
    query asks (``type``, ``priority``, ``unread``/``read``, ``q``); ``archived=1``
    shows the archived ones instead."""
    before = request.args.get("before") or None
    if before is not None and not is_item_id(before):
        abort(400)
    try:
        only = parse_filter(request.args)
    except ApiError:
        abort(400)
    archived = request.args.get("archived") == "1"
    filters = {name: request.args[name] for name in FILTER_ARGS if request.args.get(name)}
    if archived:
        filters["archived"] = "1"
    feed = backend().feed
    # Taken before the page is read: the stream replays anything newer (the page
    # drops repeats), and "mark all read" spares what came after it.
    position = feed.position(current_user.user_id)
    notifications, older = feed.page(
        current_user.user_id, limit=current_app.config["INBOX_PAGE_SIZE"],
        before=before, only=only, archived=archived,
    )
    backend().receipts.seen(current_user.user_id, [n.id for n in notifications])
    types = sorted(set(backend().preferences.known_types()) | only.types)
    return render_template(
        "inbox/index.html", notifications=notifications, older=older, before=before,
        only=only, filters=filters, types=types, position=position, archived=archived,
        kept={k: v for k, v in filters.items() if k not in ("unread", "read", "archived")},
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


#: What the bulk form does to the selected items.
BULK_ACTIONS = ("read", "delete", "archive", "restore")


@bp.post("/inbox/bulk")
@login_required
def bulk():
    """Mark read, delete, archive or restore the selected notifications (broadcasts are
    read or dismissed; archiving passes them by)."""
    action = request.form.get("op")
    ids = request.form.getlist("id")
    if action not in BULK_ACTIONS or len(ids) > 1000 or not all(is_item_id(i) for i in ids):
        abort(400)
    feed = backend().feed
    own = [i for i in ids if not i.startswith("b")]
    if ids and action == "read":
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


@bp.post("/inbox/seen")
@login_required
def mark_seen():
    """Record that the page showed these notifications (the live ones, as they arrive)."""
    ids = request.form.getlist("id")
    if not ids or len(ids) > 100 or not all(is_item_id(i) for i in ids):
        abort(400)
    backend().receipts.seen(current_user.user_id, ids)
    return "", 204
