"""Following a notification's link or one of its actions: the click is recorded first.

Every way in ends here: the inbox page's action forms and link beacon, the widget
API, and the signed click links web push carries (a push's service worker has no
session or token, so the link itself says whose notification it is, signed with
the app's secret, and expiring after ``CLICK_LINK_TTL``). The URL followed is always
the stored one, never the request's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from notifier.core.ids import is_notification_id, is_user_id
from notifier.core.signing import Expired, sign, unsign

if TYPE_CHECKING:
    from notifier.backend import Backend

_SALT = "notifier.click"

#: What a click may follow: the notification's link or action 0, 1 or 2.
TARGETS = ("link", "0", "1", "2")


class NotFollowable(Exception):
    """The notification is gone, or has no such link or action."""


class LinkExpired(Exception):
    """A well-signed click link older than its lifetime."""


def click_token(secret: str, user_id: str, notification_id: str) -> str:
    """The signed, timestamped part of a click link for one user's notification."""
    return sign(secret, _SALT, [user_id, notification_id], timed=True)


def read_click_token(secret: str, token: str, max_age: float) -> tuple[str, str] | None:
    """``(user_id, notification_id)`` of a click link, or None when it is not ours;
    :class:`LinkExpired` when it is older than ``max_age`` seconds."""
    try:
        value = unsign(secret, _SALT, token, max_age=max_age)
    except Expired:
        raise LinkExpired(token) from None
    if not (isinstance(value, list) and len(value) == 2):
        return None
    user_id, notification_id = value
    if not (is_user_id(user_id) and is_notification_id(notification_id)):
        return None
    return user_id, notification_id


def follow(state: Backend, user_id: str, notification_id: str, target: str) -> str | None:
    """Record a click on ``target`` and mark the notification read; the URL to open
    (None for a link-less notification's body).

    Raises :class:`NotFollowable` when there is nothing of the kind to click.
    """
    notification = state.inbox.get(user_id, notification_id)
    if notification is None or target not in TARGETS:
        raise NotFollowable(notification_id)
    if target == "link":
        url = notification.link
    else:
        index = int(target)
        if index >= len(notification.actions):
            raise NotFollowable(notification_id)
        url = notification.actions[index]["url"]
    state.receipts.clicked(user_id, notification_id, target)
    if not notification.read:
        state.feed.mark_read(user_id, [notification_id])
    return url
