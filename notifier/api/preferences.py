"""HTTP API v1: a user's delivery preferences (routes on the API blueprint, behind its
key check)."""

from __future__ import annotations

from flask import jsonify

from notifier.api.requests import parse_body, user_id_arg
from notifier.backend import backend
from notifier.core.errors import ApiError, FieldError
from notifier.model.requests import PreferencesRequest, preferences_document
from notifier.model.types import locked_off


def get_preferences(user_id: str):
    """The user's preferences: the default row complete, other rows as the user set them."""
    user_id = user_id_arg(user_id)
    prefs = backend().preferences.load(user_id)
    return jsonify(user_id=user_id, preferences=preferences_document(prefs))


def put_preferences(user_id: str):
    """Replace the user's whole preferences document (validated first, stored atomically);
    a switch set off that its described type keeps on is refused."""
    user_id = user_id_arg(user_id)
    body = parse_body(PreferencesRequest)
    prefs = body.to_preferences()
    refused = [FieldError("invalid_field", f"channels.{kind}.{channel}: the type {kind!r} "
                          f"cannot be turned off for {channel}", f"channels.{kind}.{channel}")
               for kind, channel in locked_off(prefs.switches, backend().types.all())]
    if refused:
        raise ApiError(422, refused[0].code, refused[0].message, refused[0].field,
                       errors=refused)
    backend().preferences.save(user_id, prefs)
    return jsonify(user_id=user_id, preferences=preferences_document(prefs))
