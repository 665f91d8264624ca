"""A user's inbox as services see it (and, through the same functions, as the widget API
shows it to the user): list, count, mark read, delete."""

from __future__ import annotations

from flask import jsonify, request

from notifier.api.requests import limit_arg, parse_body, user_id_arg
from notifier.backend import backend
from notifier.core.clock import iso_utc
from notifier.core.errors import ApiError
from notifier.core.ids import is_item_id, is_notification_id, is_thread
from notifier.model.inbox_filter import parse_filter
from notifier.model.requests import (
    ArchiveRequest,
    MarkReadRequest,
    SnoozeOneRequest,
    SnoozeRequest,
)
from notifier.scheduling.snoozes import schedule_return


# The inbox of one user, as services see it here and the widget API
# (notifier.api.widget) shows it to the user: one implementation for both.
def feed_page(user_id: str):
    """A page of the user's feed from the request's ``limit``, ``before`` and filter
    (``type``, ``priority``, ``unread``, ``read``, ``q``); ``archived=1`` or
    ``snoozed=1`` list those instead."""
    args = request.args
    limit = limit_arg()
    before = args.get("before") or None
    if before is not None and not is_item_id(before):
        raise ApiError(422, "invalid_field", "before must be a notification or broadcast id",
                       "before")
    archived, snoozed = _flag(args, "archived"), _flag(args, "snoozed")
    if archived and snoozed:
        raise ApiError(422, "invalid_field", "snoozed=1 cannot go with archived=1", "snoozed")
    items, cursor = backend().feed.page(user_id, limit=limit, before=before,
                                        only=parse_filter(args), archived=archived,
                                        snoozed=snoozed)
    return jsonify(notifications=[n.to_dict() for n in items], next=cursor)


def feed_mark_read(user_id: str):
    """Mark what the request's body names read; the ``{"marked", "unread"}`` answer."""
    changed, count = mark_read_as_asked(user_id, parse_body(MarkReadRequest, root_field="ids"))
    return jsonify(marked=changed, unread=count)


def feed_mark_thread_read(user_id: str, thread: str):
    """Mark every unread notification of ``thread`` read; the ``{"marked", "unread"}``
    answer (a thread with nothing unread marks 0)."""
    if not is_thread(thread):
        raise ApiError(422, "invalid_field", "thread must be letters, digits and _ . : -, "
                       "starting with a letter or digit, up to 100 characters", "thread")
    changed, count = backend().inbox.mark_thread_read(user_id, thread)
    return jsonify(marked=changed, unread=count)


def mark_read_as_asked(user_id: str, body: MarkReadRequest) -> tuple[int, int]:
    """Mark what ``body`` names read (``/ws`` too); how many were newly read, and the unread
    count."""
    feed = backend().feed
    if body.all:
        return feed.mark_all_read(user_id, body.up_to)
    return feed.mark_read(user_id, body.ids or [])


def feed_archive(user_id: str, notification_id: str | None = None, *, restore: bool = False):
    """Archive (or restore) the notification named in the path, or the body's ``ids``;
    the ``{"archived"|"restored", "unread"}`` answer. 404 for one that is not there."""
    if notification_id is not None:
        if not is_notification_id(notification_id):
            raise ApiError(422, "invalid_field", "id must be a notification id", "id")
        ids = [notification_id]
    else:
        ids = parse_body(ArchiveRequest, root_field="ids").ids
    changed, count = backend().inbox.archive(user_id, ids, restore=restore)
    if notification_id is not None and not changed:
        raise ApiError(404, "not_found", "No such notification for this user, or it is "
                       f"{'not' if restore else 'already'} archived.")
    return jsonify({"restored" if restore else "archived": changed, "unread": count})


def _flag(args, name: str) -> bool:
    value = args.get(name, "0").lower()
    if value not in ("0", "1", "true", "false"):
        raise ApiError(422, "invalid_field", f"{name} must be 1 or 0", name)
    return value in ("1", "true")


def _path_id(notification_id: str) -> str:
    if not is_notification_id(notification_id):
        raise ApiError(422, "invalid_field", "id must be a notification id", "id")
    return notification_id


def feed_snooze(user_id: str, notification_id: str | None = None):
    """Snooze the notification named in the path, or the body's ``ids``, until the body's
    ``until``: the ``{"snoozed", "until", "unread"}`` answer. 404 for one that is not
    there (or archived)."""
    if notification_id is not None:
        ids = [_path_id(notification_id)]
        until = parse_body(SnoozeOneRequest, root_field="until").until
    else:
        body = parse_body(SnoozeRequest, root_field="ids")
        ids, until = body.ids, body.until
    changed, count = backend().inbox.snooze(user_id, ids, int(until.timestamp() * 1000))
    if notification_id is not None and not changed:
        raise ApiError(404, "not_found", "No such notification in this user's inbox.")
    if changed:
        schedule_return(user_id, until)
    return jsonify(snoozed=changed, until=iso_utc(until), unread=count)


def feed_unsnooze(user_id: str, notification_id: str | None = None):
    """Bring snoozed notifications back now, unread: ``{"unsnoozed", "unread"}``. 404 for
    one that is not snoozed."""
    if notification_id is not None:
        ids = [_path_id(notification_id)]
    else:
        ids = parse_body(ArchiveRequest, root_field="ids").ids
    back, count = backend().inbox.unsnooze(user_id, ids)
    if notification_id is not None and not back:
        raise ApiError(404, "not_found", "No such snoozed notification for this user.")
    return jsonify(unsnoozed=back, unread=count)


def feed_delete(user_id: str, notification_id: str):
    """Delete one of the user's notifications (dismiss a broadcast); 404 when not theirs."""
    if not is_item_id(notification_id):
        raise ApiError(422, "invalid_field", "id must be a notification or broadcast id", "id")
    existed, count = backend().feed.delete(user_id, notification_id)
    if not existed:
        raise ApiError(404, "not_found", "No such notification for this user.")
    return jsonify(deleted=notification_id, unread=count)


def list_notifications(user_id: str):
    """A page of the user's notifications, newest first, with the next page's cursor."""
    return feed_page(user_id_arg(user_id))


def unread_count(user_id: str):
    """How many unread, unexpired notifications and broadcasts the user has."""
    user_id = user_id_arg(user_id)
    return jsonify(user_id=user_id, unread=backend().feed.unread_count(user_id))


def mark_read(user_id: str):
    """Mark some notifications read (``ids``), or all of them (``all``)."""
    return feed_mark_read(user_id_arg(user_id))


def mark_thread_read(user_id: str, thread: str):
    """Mark every unread notification of one of the user's threads read."""
    return feed_mark_thread_read(user_id_arg(user_id), thread)


def delete_notification(user_id: str, notification_id: str):
    """Delete one notification from the user's inbox (or dismiss a broadcast for them)."""
    return feed_delete(user_id_arg(user_id), notification_id)


def archive(user_id: str, notification_id: str | None = None):
    """Archive notifications: out of the inbox list (read), listed with ``archived=1``."""
    return feed_archive(user_id_arg(user_id), notification_id)


def unarchive(user_id: str, notification_id: str | None = None):
    """Restore archived notifications to the inbox list."""
    return feed_archive(user_id_arg(user_id), notification_id, restore=True)


def snooze(user_id: str, notification_id: str | None = None):
    """Snooze notifications: out of the inbox list until ``until``, then back unread."""
    return feed_snooze(user_id_arg(user_id), notification_id)


def unsnooze(user_id: str, notification_id: str | None = None):
    """Bring snoozed notifications back to the inbox list now, unread."""
    return feed_unsnooze(user_id_arg(user_id), notification_id)
