"""The signed-in user's devices: turn on browser notifications here, list and remove devices.

``templates/settings/_devices.html`` is the panel; the settings page includes it,
and ``/settings/devices`` shows it on its own. ``static/push.js`` subscribes the
browser with the VAPID public key and posts the subscription here (JSON, with
the page's CSRF token in ``X-CSRFToken``).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from pydantic import ValidationError

from notifier.backend import backend
from notifier.core.errors import ApiError, from_validation_error
from notifier.delivery.channels import configured_channels, vapid
from notifier.model.requests import WebPushSubscription
from notifier.model.text_rules import safe_next
from notifier.stores.devices import endpoint_allowed, is_device_id
from notifier.web.user_agent import device_label

bp = Blueprint("devices", __name__, url_prefix="/settings/devices")

#: What each platform is called on the page.
PLATFORM_NAMES = {"web": "Browser", "fcm": "Android app", "apns": "iOS app"}


def vapid_public_key() -> str | None:
    """The key browsers subscribe with, or None while web push is off."""
    if not current_app.config.get("WEBPUSH_SUBJECT"):
        return None
    cache = current_app.extensions.setdefault("notifier.channels", {})
    if "vapid_public_key" not in cache:
        cache["vapid_public_key"] = vapid.public_key(
            vapid.load_vapid(current_app.instance_path))
    return cache["vapid_public_key"]


@bp.app_template_global()
def device_panel() -> dict[str, Any]:
    """What ``settings/_devices.html`` shows for the signed-in user; ``mobile``: whether
    this server pushes to phones (only then does the panel speak of them)."""
    devices = backend().devices.list(current_user.user_id) if current_user.is_authenticated \
        else []
    return {"devices": [d.to_public() for d in devices], "vapid_public_key": vapid_public_key(),
            "platform_names": PLATFORM_NAMES,
            "mobile": "mobile_push" in configured_channels(current_app.config)}


@bp.get("")
@login_required
def index():
    """Show the user's devices and the switch for browser notifications."""
    return render_template("settings/devices.html")


@bp.post("")
def register():
    """Register this browser's push subscription for the signed-in user."""
    if not current_user.is_authenticated:
        raise ApiError(401, "unauthorized", "Sign in first.")
    if vapid_public_key() is None:
        raise ApiError(409, "webpush_off", "Browser notifications are not set up on this "
                       "server.")
    try:
        subscription = WebPushSubscription.model_validate_json(request.get_data() or b"null")
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    if not endpoint_allowed(subscription.endpoint,
                            current_app.config["WEBPUSH_ALLOWED_HOSTS"]):
        raise ApiError(422, "invalid_field", "endpoint: this push service is not one the "
                       "server sends to (NOTIFIER_WEBPUSH_ALLOWED_HOSTS).", "endpoint")
    registered = backend().devices.add_web(
        current_user.user_id, subscription.endpoint, subscription.keys.model_dump(),
        device_label(request.headers.get("User-Agent")))
    response = jsonify(device=registered.device.to_public(), created=registered.created)
    response.status_code = 201 if registered.created else 200
    return response


@bp.post("/<device_id>/delete")
@login_required
def remove(device_id: str):
    """Remove one of the user's devices; nothing is pushed to it any more."""
    removed = is_device_id(device_id) and backend().devices.remove(current_user.user_id,
                                                                   device_id)
    if request.headers.get("X-Requested-With") == "fetch":
        return ("", 204) if removed else ("", 404)
    if removed:
        flash("Device removed. It gets no more notifications.", "success")
    else:
        flash("That device was already removed.", "info")
    return redirect(safe_next(request.form.get("next")) or url_for("devices.index"))
