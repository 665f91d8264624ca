"""The admin console at ``/admin``: who is online, users, API keys, groups, notification
types, broadcasts, scheduled sends and deliveries.

Every route is in :data:`ROUTES`, on the console's blueprint, whose guard admits admins
only (:mod:`notifier.admin.console`).
"""

from __future__ import annotations

from flask import Flask

from notifier.admin import (
    api_keys,
    broadcasts,
    console,
    deliveries,
    events,
    groups,
    overview,
    scheduled,
    types,
    users,
)
from notifier.admin.stats import format_bytes, format_rate, online_for
from notifier.live.runtime import runtime

#: Every route of the console, under ``/admin``: method, rule, view.
ROUTES = (
    ("GET", "", overview.overview),
    ("GET", "/events", events.overview_events),
    ("GET", "/users", users.users),
    ("POST", "/users", users.users_create),
    ("POST", "/users/<user_id>/reset-password", users.users_reset_password),
    ("POST", "/users/<user_id>/grant-admin", users.users_grant_admin),
    ("POST", "/users/<user_id>/revoke-admin", users.users_revoke_admin),
    ("POST", "/users/<user_id>/disable", users.users_disable),
    ("POST", "/users/<user_id>/enable", users.users_enable),
    ("GET", "/api-keys", api_keys.api_keys),
    ("POST", "/api-keys", api_keys.api_keys_create),
    ("GET", "/api-keys/<key_id>/revoke", api_keys.api_keys_confirm_revoke),
    ("POST", "/api-keys/<key_id>/revoke", api_keys.api_keys_revoke),
    ("GET", "/api-keys/<key_id>/origins", api_keys.api_keys_origins),
    ("POST", "/api-keys/<key_id>/origins", api_keys.api_keys_origins_save),
    ("GET", "/api-keys/<key_id>/scopes", api_keys.api_keys_scopes),
    ("POST", "/api-keys/<key_id>/scopes", api_keys.api_keys_scopes_save),
    ("GET", "/groups", groups.groups),
    ("POST", "/groups", groups.groups_create),
    ("GET", "/groups/<name>", groups.groups_show),
    ("POST", "/groups/<name>/members", groups.groups_add_member),
    ("POST", "/groups/<name>/members/remove", groups.groups_remove_member),
    ("GET", "/groups/<name>/delete", groups.groups_confirm_delete),
    ("POST", "/groups/<name>/delete", groups.groups_delete),
    ("GET", "/types", types.types),
    ("POST", "/types", types.types_save),
    ("GET", "/types/<slug>", types.types_edit),
    ("POST", "/types/<slug>/delete", types.types_delete),
    ("GET", "/broadcasts", broadcasts.broadcasts),
    ("POST", "/broadcasts", broadcasts.broadcasts_create),
    ("POST", "/broadcasts/<broadcast_id>/end", broadcasts.broadcasts_end),
    ("GET", "/scheduled", scheduled.scheduled),
    ("POST", "/scheduled/<schedule_id>/cancel", scheduled.scheduled_cancel),
    ("GET", "/deliveries", deliveries.deliveries),
    ("POST", "/deliveries/dead/<dead_id>/retry", deliveries.deliveries_retry),
    ("POST", "/deliveries/dead/<dead_id>/discard", deliveries.deliveries_discard),
    ("GET", "/deliveries/timeline", deliveries.deliveries_timeline),
)

for _method, _rule, _view in ROUTES:
    console.bp.add_url_rule(_rule, view_func=_view, methods=[_method])
console.bp.add_app_template_filter(format_bytes, "bytes")
console.bp.add_app_template_filter(format_rate, "rate")
console.bp.add_app_template_filter(online_for, "online_for")


def init_app(app: Flask) -> None:
    """Serve the console on ``app`` (after :func:`notifier.live.init_app`: a worker that
    stops ends the console's own streams too)."""
    app.register_blueprint(console.bp)
    runtime(app).on_stop.append(lambda: events.close_streams(app))
