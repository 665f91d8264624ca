"""HTTP API v1: described notification types (labels, default channels, whether users may
turn them off)."""

from __future__ import annotations

from flask import jsonify

from notifier.api.requests import parse_body
from notifier.backend import backend
from notifier.core.errors import ApiError
from notifier.model.preferences import is_type
from notifier.model.requests import TypeRequest
from notifier.model.types import TypeInfo


def _slug(value: str) -> str:
    if value == "*" or not is_type(value):
        raise ApiError(422, "invalid_field", "type must be 1-64 lowercase letters, digits "
                       "and _ . - starting with a letter or digit", "type")
    return value


def _found(info: TypeInfo | None, slug: str) -> TypeInfo:
    if info is None:
        raise ApiError(404, "not_found", f"No described type {slug!r}.")
    return info


def list_types():
    """Every described type, in slug order."""
    return jsonify(types=[info.to_dict() for info in backend().types.all().values()])


def get_type(type: str):
    """One described type."""
    slug = _slug(type)
    return jsonify(_found(backend().types.get(slug), slug).to_dict())


def put_type(type: str):
    """Describe a type, or replace its description (201 when new)."""
    slug = _slug(type)
    body = parse_body(TypeRequest, root_field="label")
    info, created = backend().types.put(body.to_info(slug))
    response = jsonify(info.to_dict())
    response.status_code = 201 if created else 200
    return response


def delete_type(type: str):
    """Forget a type's description: it shows as its slug and follows the default row."""
    slug = _slug(type)
    if not backend().types.delete(slug):
        raise ApiError(404, "not_found", f"No described type {slug!r}.")
    return "", 204
