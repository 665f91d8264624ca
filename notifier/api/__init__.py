"""The HTTP API for services (``/api/v1``, API keys) and the widget API (``/api/v1/me``,
widget tokens) that pages on other sites call.

Every route of the service API is in :data:`ROUTES`; each needs a scope of the
caller's key (:mod:`notifier.api.scopes`) and spends the key's rate budget.
"""

from __future__ import annotations

from flask import Blueprint, Flask, request

from notifier.api import (
    broadcasts,
    devices,
    groups,
    inbox,
    notification,
    notifications,
    openapi,
    preferences,
    presence,
    reference,
    scheduled,
    sign_in_links,
    types,
    widget,
    widget_access,
    widget_tokens,
)
from notifier.api.limiter import api_rate_limit
from notifier.api.requests import authenticated_key
from notifier.api.scopes import require_scope
from notifier.api.send_metrics import count_send

#: Every route of the service API, under ``/api/v1``: method, rule, view.
ROUTES = (
    ("POST", "/notifications", notifications.send_notification),
    ("POST", "/notifications/batch", notifications.send_batch),
    ("GET", "/users/<user_id>/notifications", inbox.list_notifications),
    ("GET", "/users/<user_id>/unread-count", inbox.unread_count),
    ("POST", "/users/<user_id>/notifications/read", inbox.mark_read),
    ("POST", "/users/<user_id>/threads/<thread>/read", inbox.mark_thread_read),
    ("DELETE", "/users/<user_id>/notifications/<item_id:notification_id>",
     inbox.delete_notification),
    ("POST", "/users/<user_id>/notifications/archive", inbox.archive),
    ("POST", "/users/<user_id>/notifications/unarchive", inbox.unarchive),
    ("POST", "/users/<user_id>/notifications/<notification_id>/archive", inbox.archive),
    ("POST", "/users/<user_id>/notifications/<notification_id>/unarchive", inbox.unarchive),
    ("POST", "/users/<user_id>/notifications/snooze", inbox.snooze),
    ("POST", "/users/<user_id>/notifications/unsnooze", inbox.unsnooze),
    ("POST", "/users/<user_id>/notifications/<notification_id>/snooze", inbox.snooze),
    ("POST", "/users/<user_id>/notifications/<notification_id>/unsnooze", inbox.unsnooze),
    ("GET", "/notifications/<user_id>/<notification_id>", notification.notification_receipts),
    ("GET", "/notifications/<user_id>/<notification_id>/deliveries",
     notification.notification_deliveries),
    ("POST", "/broadcasts", broadcasts.create_broadcast),
    ("GET", "/broadcasts", broadcasts.list_broadcasts),
    ("GET", "/broadcasts/<broadcast_id>", broadcasts.get_broadcast),
    ("POST", "/broadcasts/<broadcast_id>/end", broadcasts.end_broadcast),
    ("POST", "/groups", groups.create_group),
    ("GET", "/groups", groups.list_groups),
    ("GET", "/groups/<group>", groups.get_group),
    ("DELETE", "/groups/<group>", groups.delete_group),
    ("GET", "/groups/<group>/members", groups.list_members),
    ("PUT", "/groups/<group>/members/<user_id>", groups.add_member),
    ("DELETE", "/groups/<group>/members/<user_id>", groups.remove_member),
    ("POST", "/groups/<group>/notifications", groups.send_to_group),
    ("GET", "/groups/<group>/presence", groups.group_presence),
    ("GET", "/users/<user_id>/preferences", preferences.get_preferences),
    ("PUT", "/users/<user_id>/preferences", preferences.put_preferences),
    ("POST", "/users/<user_id>/devices", devices.register_device),
    ("GET", "/users/<user_id>/devices", devices.list_devices),
    ("DELETE", "/users/<user_id>/devices/<device_id>", devices.remove_device),
    ("GET", "/presence", presence.online_users),
    ("GET", "/users/<user_id>/presence", presence.user_presence),
    ("GET", "/scheduled", scheduled.list_scheduled),
    ("GET", "/scheduled/<schedule_id>", scheduled.get_scheduled),
    ("DELETE", "/scheduled/<schedule_id>", scheduled.cancel_scheduled),
    ("GET", "/types", types.list_types),
    ("GET", "/types/<type>", types.get_type),
    ("PUT", "/types/<type>", types.put_type),
    ("DELETE", "/types/<type>", types.delete_type),
    ("POST", "/widget-tokens", widget_tokens.create_widget_token),
    ("POST", "/sign-in-links", sign_in_links.create_sign_in_link),
    ("GET", "/openapi.json", openapi.openapi),
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
for _method, _rule, _view in ROUTES:
    bp.add_url_rule(_rule, view_func=_view, methods=[_method])


@bp.before_request
def _authenticate() -> None:
    if request.endpoint != "api.openapi":
        key = authenticated_key()
        method = "GET" if request.method == "HEAD" else request.method
        require_scope(method, request.url_rule.rule, key.scopes)


bp.after_request(count_send)


# Sender limits: one budget per API key across every route of the API. Flask-Limiter
# checks it before the blueprint's own hooks, so its key function authenticates: a
# request spends only a verified key's budget, and a bad key is a 401, never a 429.
# The two send routes spend the same budget inside their send script instead (one
# round trip for both), or through Flask-Limiter's own storage when they stop short.
api_rate_limit(bp, key_func=lambda: authenticated_key().key_id,
               exempt=frozenset({"api.openapi"}),
               spent_in_script=frozenset({"api.send_notification", "api.send_batch"}))


def init_app(app: Flask, csrf) -> None:
    """Serve both APIs on ``app``; neither takes cookies, so neither needs CSRF tokens."""
    app.register_blueprint(bp)
    app.register_blueprint(widget.bp)
    app.register_blueprint(reference.bp)
    csrf.exempt(bp)
    csrf.exempt(widget.bp)
    app.after_request(widget_access.share_client_scripts)
