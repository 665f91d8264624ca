"""Clicks on a notification's link or actions from pages and push: recorded, then followed."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user, login_required

from notifier.backend import backend
from notifier.core.ids import is_notification_id
from notifier.stores.clicks import LinkExpired, NotFollowable, follow, read_click_token

bp = Blueprint("clicks", __name__)


def _go(user_id: str, notification_id: str, target: str):
    try:
        url = follow(backend(), user_id, notification_id, target)
    except NotFollowable:
        abort(404)
    return redirect(url or url_for("inbox.index"), 303)


@bp.post("/inbox/<notification_id>/click")
@login_required
def click(notification_id: str):
    """Record a click on the notification (``target=link``) or an action (``target=0``..2),
    then go where it leads."""
    if not is_notification_id(notification_id):
        abort(400)
    return _go(current_user.user_id, notification_id, request.form.get("target", ""))


@bp.get("/r/<token>")
def click_link(token: str):
    """A click link from a push notification: record the click, then go where it leads."""
    try:
        found = read_click_token(current_app.config["SECRET_KEY"], token,
                                 current_app.config["CLICK_LINK_TTL"])
    except LinkExpired:
        abort(410, description="This link has expired. Open the notification from your "
                               "inbox instead.")
    if found is None:
        abort(404)
    return _go(*found, request.args.get("target", "link"))
