"""HTTP API v1: a user's delivery preferences (routes on the API blueprint, behind its
key check)."""

from __future__ import annotations

from flask import jsonify

from .api import _user_id, bp, parse_body
from .backend import backend
from .schemas import PreferencesRequest, preferences_document


@bp.get("/users/<user_id>/preferences")
def get_preferences(user_id: str):
    """The user's preferences: the default row complete, other rows as the user set them."""
    user_id = _user_id(user_id)
    prefs = backend().preferences.load(user_id)
    return jsonify(user_id=user_id, preferences=preferences_document(prefs))


@bp.put("/users/<user_id>/preferences")
def put_preferences(user_id: str):
    """Replace the user's whole preferences document (validated first, stored atomically)."""
    user_id = _user_id(user_id)
    body = parse_body(PreferencesRequest)
    prefs = body.to_preferences()
    backend().preferences.save(user_id, prefs)
    return jsonify(user_id=user_id, preferences=preferences_document(prefs))
