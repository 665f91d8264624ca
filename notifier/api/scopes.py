"""Which scope of an API key each route of the API needs.

``send``: send, schedule and cancel notifications, broadcasts and group sends.
``read``: read inboxes, receipts, deliveries, preferences, devices, groups,
presence, scheduled sends and described types. ``manage``: change them (mark read,
delete, preferences, devices, groups and their members, types). ``widget``: mint widget tokens
and sign-in links, which act for a user. A key without a route's scope gets 403.
"""

from __future__ import annotations

import re
from functools import cache

from notifier.core.errors import ApiError

#: The scope each operation needs, by method and path as the OpenAPI document names
#: them (under ``/api/v1``); a test checks that every route of the API is here.
ROUTE_SCOPES = {
    ("POST", "/notifications"): "send",
    ("POST", "/notifications/batch"): "send",
    ("POST", "/broadcasts"): "send",
    ("POST", "/broadcasts/{broadcast_id}/end"): "send",
    ("POST", "/groups/{group}/notifications"): "send",
    ("DELETE", "/scheduled/{schedule_id}"): "send",
    ("GET", "/users/{user_id}/notifications"): "read",
    ("GET", "/users/{user_id}/unread-count"): "read",
    ("GET", "/notifications/{user_id}/{notification_id}"): "read",
    ("GET", "/notifications/{user_id}/{notification_id}/deliveries"): "read",
    ("GET", "/broadcasts"): "read",
    ("GET", "/broadcasts/{broadcast_id}"): "read",
    ("GET", "/users/{user_id}/devices"): "read",
    ("GET", "/groups"): "read",
    ("GET", "/groups/{group}"): "read",
    ("GET", "/groups/{group}/members"): "read",
    ("GET", "/groups/{group}/presence"): "read",
    ("GET", "/users/{user_id}/preferences"): "read",
    ("GET", "/presence"): "read",
    ("GET", "/users/{user_id}/presence"): "read",
    ("GET", "/scheduled"): "read",
    ("GET", "/scheduled/{schedule_id}"): "read",
    ("GET", "/types"): "read",
    ("GET", "/types/{type}"): "read",
    ("POST", "/users/{user_id}/notifications/read"): "manage",
    ("POST", "/users/{user_id}/threads/{thread}/read"): "manage",
    ("DELETE", "/users/{user_id}/notifications/{notification_id}"): "manage",
    ("POST", "/users/{user_id}/notifications/archive"): "manage",
    ("POST", "/users/{user_id}/notifications/unarchive"): "manage",
    ("POST", "/users/{user_id}/notifications/{notification_id}/archive"): "manage",
    ("POST", "/users/{user_id}/notifications/{notification_id}/unarchive"): "manage",
    ("POST", "/users/{user_id}/notifications/snooze"): "manage",
    ("POST", "/users/{user_id}/notifications/unsnooze"): "manage",
    ("POST", "/users/{user_id}/notifications/{notification_id}/snooze"): "manage",
    ("POST", "/users/{user_id}/notifications/{notification_id}/unsnooze"): "manage",
    ("POST", "/users/{user_id}/devices"): "manage",
    ("DELETE", "/users/{user_id}/devices/{device_id}"): "manage",
    ("POST", "/groups"): "manage",
    ("DELETE", "/groups/{group}"): "manage",
    ("PUT", "/groups/{group}/members/{user_id}"): "manage",
    ("DELETE", "/groups/{group}/members/{user_id}"): "manage",
    ("PUT", "/users/{user_id}/preferences"): "manage",
    ("PUT", "/types/{type}"): "manage",
    ("DELETE", "/types/{type}"): "manage",
    ("POST", "/widget-tokens"): "widget",
    ("POST", "/sign-in-links"): "widget",
}

_PREFIX = "/api/v1"


@cache
def document_path(rule: str) -> str:
    """A Flask rule (``/api/v1/users/<user_id>``) as the document's path (``/users/{user_id}``)."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule).removeprefix(_PREFIX)


def require_scope(method: str, rule: str, scopes: tuple[str, ...]) -> None:
    """ApiError 403 unless ``scopes`` hold the scope the route needs."""
    needed = ROUTE_SCOPES.get((method, document_path(rule)))
    if needed is not None and needed not in scopes:
        raise ApiError(403, "insufficient_scope",
                       f"This API key lacks the '{needed}' scope this route needs.")
