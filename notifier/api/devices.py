"""HTTP API v1: a user's devices (push targets): register mobile tokens, list, remove.

Browsers register their web push subscriptions themselves from the settings
page (``notifier.web.devices``); the API lists and removes those too.
"""

from __future__ import annotations

from flask import jsonify

from notifier.api.requests import parse_body, user_id_arg
from notifier.backend import backend
from notifier.core.errors import ApiError
from notifier.model.requests import DeviceRequest
from notifier.stores.devices import is_device_id


def register_device(user_id: str):
    """Register a mobile device's FCM or APNs token (201; 200 when it was registered before)."""
    user_id = user_id_arg(user_id)
    body = parse_body(DeviceRequest, root_field="platform")
    registered = backend().devices.add_mobile(user_id, body.platform, body.token, body.label)
    response = jsonify(device=registered.device.to_public(), created=registered.created,
                       evicted=list(registered.evicted))
    response.status_code = 201 if registered.created else 200
    return response


def list_devices(user_id: str):
    """The user's devices, most recently registered first (never their tokens or keys)."""
    user_id = user_id_arg(user_id)
    return jsonify(devices=[d.to_public() for d in backend().devices.list(user_id)])


def remove_device(user_id: str, device_id: str):
    """Remove one of the user's devices: nothing is pushed to it any more."""
    user_id = user_id_arg(user_id)
    if not is_device_id(device_id):
        raise ApiError(422, "invalid_field", "device_id must be a device id as listed, e.g. "
                       "fcm_0123456789abcdef01234567", "device_id")
    if not backend().devices.remove(user_id, device_id):
        raise ApiError(404, "not_found", "No such device for this user.")
    return "", 204
