"""The OpenAPI 3.1 document of the HTTP API.

Request schemas come from the pydantic models that validate the requests;
response schemas are written here. ``tests/test_openapi.py`` checks that every
route is documented, that every documented path exists, and that real
responses match their documented schemas.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from .ids import NOTIFICATION_ID_PATTERN, USER_ID_PATTERN
from .schemas import PRIORITIES, BatchRequest, MarkReadRequest, SendRequest, WidgetTokenRequest

REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


_NULLABLE_STRING = {"type": ["string", "null"]}

RESPONSE_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string", "description": "The offending field, if any."},
                },
            }
        },
    },
    "Notification": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "user_id", "type", "title", "body", "data", "priority", "link",
                     "created_at", "expires_at", "read"],
        "properties": {
            "id": {"type": "string", "pattern": NOTIFICATION_ID_PATTERN,
                   "description": "Redis Stream entry id; increases with time per user."},
            "user_id": {"type": "string", "pattern": USER_ID_PATTERN},
            "type": {"type": "string"},
            "title": {"type": "string"},
            "body": {"type": "string"},
            "data": {"type": "object"},
            "priority": {"enum": list(PRIORITIES)},
            "link": _NULLABLE_STRING,
            "created_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": ["string", "null"], "format": "date-time"},
            "read": {"type": "boolean"},
        },
    },
    "SendResult": {
        "type": "object",
        "required": ["notifications"],
        "properties": {
            "notifications": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["user_id", "id"],
                    "properties": {"user_id": {"type": "string"}, "id": {"type": "string"}},
                },
            }
        },
    },
    "NotificationPage": {
        "type": "object",
        "required": ["notifications", "next"],
        "properties": {
            "notifications": {"type": "array", "items": _ref("Notification")},
            "next": {**_NULLABLE_STRING, "description": "Pass as before= for the next page."},
        },
    },
    "UnreadCount": {
        "type": "object",
        "required": ["user_id", "unread"],
        "properties": {"user_id": {"type": "string"}, "unread": {"type": "integer"}},
    },
    "ReadResult": {
        "type": "object",
        "required": ["marked", "unread"],
        "properties": {
            "marked": {"type": "integer", "description": "How many were unread before."},
            "unread": {"type": "integer"},
        },
    },
    "WidgetToken": {
        "type": "object",
        "required": ["token", "user_id", "expires_at"],
        "properties": {
            "token": {"type": "string", "description": "Pass as /events?token=..."},
            "user_id": {"type": "string"},
            "expires_at": {"type": "string", "format": "date-time"},
        },
    },
    "DeleteResult": {
        "type": "object",
        "required": ["deleted", "unread"],
        "properties": {"deleted": {"type": "string"}, "unread": {"type": "integer"}},
    },
}


def _json(schema: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": _ref(schema)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {400: "Malformed JSON", 401: "Missing or bad API key", 404: "Not found",
            413: "Body too large", 422: "Invalid field (named in error.field)",
            503: "Redis unreachable; see Retry-After"}
    return {str(s): {"description": text[s], **_json("Error")} for s in statuses}


_USER = {"name": "user_id", "in": "path", "required": True,
         "schema": {"type": "string", "pattern": USER_ID_PATTERN}}


def _operation(summary: str, ok: tuple[int, str], *, body: str | None = None,
               params: list | None = None, errors=(401, 422, 503)) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {str(ok[0]): {"description": "Success", **_json(ok[1])}, **_errors(*errors)},
    }
    if body:
        op["requestBody"] = {"required": True, **_json(body)}
    if params:
        op["parameters"] = params
    return op


@cache
def openapi_document() -> dict[str, Any]:
    """The whole document (built once per process)."""
    _, defs = models_json_schema(
        [(m, "validation") for m in (SendRequest, BatchRequest, MarkReadRequest,
                                       WidgetTokenRequest)],
        ref_template=REF,
    )
    schemas = {**defs["$defs"], **RESPONSE_SCHEMAS}
    send_errors = (400, 401, 413, 422, 503)
    query = [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                    "maximum": 100, "default": 50}},
        {"name": "before", "in": "query", "schema": {"type": "string"},
         "description": "Cursor: the `next` of the previous page."},
        {"name": "unread", "in": "query", "schema": {"enum": ["0", "1", "true", "false"]}},
    ]
    notification_id = {"name": "notification_id", "in": "path", "required": True,
                       "schema": {"type": "string", "pattern": NOTIFICATION_ID_PATTERN}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "notifier",
            "version": "1",
            "description": "Send notifications to users and manage their inboxes. "
            "Unknown fields in a request body are rejected with 422.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "paths": {
            "/notifications": {"post": _operation(
                "Send one notification to user_id, or to up to 1000 user_ids (all or none)",
                (201, "SendResult"), body="SendRequest", errors=send_errors)},
            "/notifications/batch": {"post": _operation(
                "Send up to 1000 notifications, ids in request order (all or none)",
                (201, "SendResult"), body="BatchRequest", errors=send_errors)},
            "/users/{user_id}/notifications": {"get": _operation(
                "List a user's notifications, newest first",
                (200, "NotificationPage"), params=[_USER, *query])},
            "/users/{user_id}/unread-count": {"get": _operation(
                "Count a user's unread notifications", (200, "UnreadCount"), params=[_USER])},
            "/users/{user_id}/notifications/read": {"post": _operation(
                "Mark some or all of a user's notifications read", (200, "ReadResult"),
                body="MarkReadRequest", params=[_USER], errors=(400, 401, 422, 503))},
            "/users/{user_id}/notifications/{notification_id}": {"delete": _operation(
                "Delete one notification", (200, "DeleteResult"),
                params=[_USER, notification_id], errors=(401, 404, 422, 503))},
            "/widget-tokens": {"post": _operation(
                "Mint a short-lived token that opens one user's event stream",
                (201, "WidgetToken"), body="WidgetTokenRequest", errors=(400, 401, 422, 503))},
            "/openapi.json": {"get": {
                "summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "An API key: nk_<id>_<secret>"}},
        },
    }
