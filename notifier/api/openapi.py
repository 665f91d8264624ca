"""The OpenAPI 3.1 document of the HTTP API.

Request schemas come from the pydantic models that validate the requests;
response schemas are written here. ``tests/test_openapi.py`` checks that every
route is documented, that every documented path exists, and that real
responses match their documented schemas.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import current_app, jsonify
from pydantic.json_schema import models_json_schema

from notifier import config
from notifier.api.scopes import ROUTE_SCOPES
from notifier.core.ids import (
    BROADCAST_ID_PATTERN,
    ITEM_ID_PATTERN,
    NOTIFICATION_ID_PATTERN,
    SCHEDULE_ID_PATTERN,
    THREAD_PATTERN,
    USER_ID_PATTERN,
)
from notifier.delivery.records import OUTCOMES
from notifier.model.channels import CHANNELS, DELIVERY_CHANNELS
from notifier.model.inbox_filter import (
    MAX_CHOICES,
    MAX_QUERY,
    PRIORITIES_PATTERN,
    QUERY_PATTERN,
    TYPES_PATTERN,
)
from notifier.model.preferences import TYPE_PATTERN
from notifier.model.requests import (
    PRIORITIES,
    ArchiveRequest,
    BatchRequest,
    BroadcastRequest,
    ClickRequest,
    DeviceRequest,
    GroupRequest,
    GroupSendRequest,
    MarkReadRequest,
    PreferencesRequest,
    SeenRequest,
    SendRequest,
    SignInLinkRequest,
    SnoozeOneRequest,
    SnoozeRequest,
    TypeRequest,
    WidgetTokenRequest,
)
from notifier.scheduling.scheduler import CURSOR_PATTERN, KIND_PATTERN
from notifier.stores.devices import DEVICE_ID_PATTERN, PLATFORMS

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
                    "errors": {
                        "type": "array", "minItems": 1, "items": _ref("FieldError"),
                        "description": "An invalid body (400 invalid_json, 422): every "
                                       "problem found, unknown fields first; code, "
                                       "message and field above repeat the first."},
                },
            }
        },
    },
    "FieldError": {
        "type": "object",
        "additionalProperties": False,
        "required": ["field", "code", "message"],
        "properties": {
            "field": {"type": ["string", "null"],
                      "description": "The field at fault, e.g. notifications[3].title "
                                     "(body: the body is not JSON; null: the body as a "
                                     "whole)."},
            "code": {"enum": ["invalid_json", "invalid_body", "invalid_field",
                              "unknown_field"]},
            "message": {"type": "string"},
        },
    },
    "Notification": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "user_id", "type", "title", "body", "data", "priority", "link",
                     "created_at", "expires_at", "read", "source", "group", "starts_at",
                     "ends_at", "actions", "thread"],
        "properties": {
            "id": {"type": "string", "pattern": ITEM_ID_PATTERN,
                   "description": "Redis Stream entry id, increasing with time per user; "
                                  "a broadcast's id starts with b."},
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
            "source": {"enum": ["direct", "group", "broadcast"]},
            "group": {**_NULLABLE_STRING, "description": "The group it was sent to."},
            "starts_at": {"type": ["string", "null"], "format": "date-time",
                          "description": "Start of the window a broadcast announces."},
            "ends_at": {"type": ["string", "null"], "format": "date-time"},
            "actions": {"type": "array", "maxItems": 3, "items": _ref("Action"),
                        "description": "Buttons (none on broadcasts); a click is recorded."},
            "thread": {"type": ["string", "null"], "pattern": THREAD_PATTERN,
                       "description": "The thread the sender named (none on broadcasts)."},
        },
    },
    "Broadcast": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "type", "title", "body", "data", "priority", "link", "created_at",
                     "expires_at", "starts_at", "ends_at"],
        "properties": {
            "id": {"type": "string", "pattern": BROADCAST_ID_PATTERN},
            "type": {"type": "string"},
            "title": {"type": "string"},
            "body": {"type": "string"},
            "data": {"type": "object"},
            "priority": {"enum": list(PRIORITIES)},
            "link": _NULLABLE_STRING,
            "created_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": ["string", "null"], "format": "date-time"},
            "starts_at": {"type": ["string", "null"], "format": "date-time"},
            "ends_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "BroadcastCreated": {
        "type": "object",
        "required": ["broadcast"],
        "properties": {"broadcast": _ref("Broadcast")},
    },
    "BroadcastList": {
        "type": "object",
        "required": ["broadcasts"],
        "properties": {"broadcasts": {"type": "array", "items": _ref("Broadcast")}},
    },
    "Group": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "description", "created_at", "members"],
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "members": {"type": "integer", "description": "How many members it has."},
        },
    },
    "GroupPage": {
        "type": "object",
        "required": ["groups", "next"],
        "properties": {"groups": {"type": "array", "items": _ref("Group")},
                       "next": {**_NULLABLE_STRING, "description": "Pass as after=."}},
    },
    "GroupPresence": {
        "type": "object",
        "additionalProperties": False,
        "required": ["group", "members", "online", "users"],
        "properties": {
            "group": {"type": "string"},
            "members": {"type": "integer"},
            "online": {"type": "integer"},
            "users": {"type": "array", "items": {"type": "string"},
                      "description": "The online members, in id order."},
        },
    },
    "MemberPage": {
        "type": "object",
        "required": ["members", "next"],
        "properties": {"members": {"type": "array", "items": {"type": "string"}},
                       "next": {**_NULLABLE_STRING, "description": "Pass as after=."}},
    },
    "Membership": {
        "type": "object",
        "required": ["group", "user_id", "added"],
        "properties": {"group": {"type": "string"}, "user_id": {"type": "string"},
                       "added": {"type": "boolean",
                                 "description": "False when already a member (200)."}},
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
        "required": ["token", "user_id", "expires_at", "expires_in", "origins"],
        "properties": {
            "token": {"type": "string", "description": "Pass as /events?token=... and as "
                      "Authorization: Bearer ... to the widget API (/me/...)."},
            "user_id": {"type": "string"},
            "expires_at": {"type": "string", "format": "date-time"},
            "expires_in": {"type": "integer",
                           "description": "Seconds it is valid for (clients refresh it "
                                          "before then, whatever their clock says)."},
            "origins": {"type": "array", "items": {"type": "string"},
                        "description": "Origins whose pages may use it."},
        },
    },
    "SignInLink": {
        "type": "object",
        "additionalProperties": False,
        "required": ["url", "user_id", "expires_at", "expires_in"],
        "properties": {
            "url": {"type": "string", "format": "uri",
                    "description": "PUBLIC_URL/sign-in/<token>: hand it to the user's browser. "
                                   "It works once; only a digest of the token is kept."},
            "user_id": {"type": "string"},
            "expires_at": {"type": "string", "format": "date-time"},
            "expires_in": {"type": "integer",
                           "description": "Seconds it is valid for (SIGN_IN_LINK_TTL)."},
        },
    },
    "Scheduled": {
        "type": "object",
        "additionalProperties": False,
        "required": ["scheduled"],
        "properties": {
            "scheduled": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "kind", "send_at"],
                "properties": {
                    "id": {"type": "string", "pattern": SCHEDULE_ID_PATTERN,
                           "description": "Pass to /scheduled/{schedule_id} to look or cancel."},
                    "kind": {"type": "string"},
                    "send_at": {"type": "string", "format": "date-time"},
                },
            }
        },
    },
    "ScheduledSend": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "kind", "state", "send_at", "created_at", "created_by", "title",
                     "recipients", "attempts", "error", "retry_at"],
        "properties": {
            "id": {"type": "string", "pattern": SCHEDULE_ID_PATTERN},
            "kind": {"type": "string", "pattern": KIND_PATTERN,
                     "description": "What it sends: notifications (the send endpoints)."},
            "state": {"enum": ["scheduled", "running", "retrying", "failed"],
                      "description": "retrying: an attempt failed, it is tried again at "
                      "retry_at; failed: it gave up (cancel it to remove it)."},
            "send_at": {"type": "string", "format": "date-time"},
            "created_at": {"type": "string", "format": "date-time"},
            "created_by": {"type": "string", "description": "api:<API key id> for the API."},
            "title": {"type": "string", "description": "Title of what it sends, for lists."},
            "recipients": {"type": ["integer", "null"],
                           "description": "Users it goes to; null when not known ahead."},
            "attempts": {"type": "integer"},
            "error": {**_NULLABLE_STRING, "description": "Error of the last failed attempt."},
            "retry_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "ScheduledPage": {
        "type": "object",
        "required": ["scheduled", "next"],
        "properties": {
            "scheduled": {"type": "array", "items": _ref("ScheduledSend")},
            "next": {**_NULLABLE_STRING, "description": "Pass as after= for the next page."},
        },
    },
    "OnlineUsers": {
        "type": "object",
        "additionalProperties": False,
        "required": ["online", "users", "next"],
        "properties": {
            "online": {"type": "integer", "minimum": 0,
                       "description": "How many users are online in all."},
            "users": {
                "type": "array",
                "description": "Online users in user id order.",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["user_id", "since"],
                    "properties": {
                        "user_id": {"type": "string", "pattern": USER_ID_PATTERN},
                        "since": {"type": ["string", "null"], "format": "date-time",
                                  "description": "When the user came online."},
                    },
                },
            },
            "next": {**_NULLABLE_STRING, "description": "Pass as cursor= for the next page."},
        },
    },
    "UserPresence": {
        "type": "object",
        "additionalProperties": False,
        "required": ["user_id", "online", "since", "last_seen"],
        "properties": {
            "user_id": {"type": "string", "pattern": USER_ID_PATTERN},
            "online": {"type": "boolean",
                       "description": "Whether one of the user's event streams is open."},
            "since": {"type": ["string", "null"], "format": "date-time",
                      "description": "When the user came online; null while offline."},
            "last_seen": {"type": ["string", "null"], "format": "date-time",
                          "description": "Now while online; else when the user went "
                          "offline; null if never seen online."},
        },
    },
    "UserPreferences": {
        "type": "object",
        "additionalProperties": False,
        "required": ["user_id", "preferences"],
        "properties": {
            "user_id": {"type": "string", "pattern": USER_ID_PATTERN},
            "preferences": {
                **_ref("PreferencesRequest"),
                "description": "The document PUT takes; here the default row `*` is "
                               "complete (its defaults filled in) and every other row "
                               "lists the switches the user set.",
            },
        },
    },
    "DeliveryTimeline": {
        "type": "object",
        "additionalProperties": False,
        "required": ["user_id", "notification_id", "deliveries"],
        "properties": {
            "user_id": {"type": "string", "pattern": USER_ID_PATTERN},
            "notification_id": {"type": "string", "pattern": NOTIFICATION_ID_PATTERN},
            "deliveries": {
                "type": "array",
                "description": "Every delivery event, oldest first: each attempt per channel "
                               "and target, and when the job was held or dead-lettered.",
                "items": _ref("DeliveryEvent"),
            },
        },
    },
    "DeliveryEvent": {
        "type": "object",
        "additionalProperties": False,
        "required": ["at", "channel", "outcome", "attempt", "target", "kind",
                     "detail", "digest"],
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "channel": {"enum": list(DELIVERY_CHANNELS)},
            "outcome": {"enum": list(OUTCOMES), "description":
                        "accepted, retry (a transient failure), failed (for "
                        "good), gone (target removed), skipped (no target or "
                        "adapter), held (quiet hours or budget), dead "
                        "(dead-lettered), done-before (every target had it)."},
            "attempt": {"type": "integer", "minimum": 1},
            "target": {**_NULLABLE_STRING,
                       "description": "The target's id (device id, email, sms)."},
            "kind": {**_NULLABLE_STRING,
                     "description": "The adapter: webpush, email, sms, fcm, apns."},
            "detail": {"type": "string",
                       "description": "The provider's message id, or the error."},
            "digest": {"type": "integer", "minimum": 1,
                       "description": "Notifications the delivery carried (more "
                                      "than 1: a digest)."},
        },
    },
    "Receipts": {
        "type": "object",
        "additionalProperties": False,
        "required": ["seen_at", "read_at", "clicked_at", "clicked"],
        "properties": {
            "seen_at": {"type": ["string", "null"], "format": "date-time", "description":
                        "First acknowledged by an open client, or shown by a page."},
            "read_at": {"type": ["string", "null"], "format": "date-time"},
            "clicked_at": {"type": ["string", "null"], "format": "date-time",
                           "description": "First click on its link or an action."},
            "clicked": {"type": ["string", "null"], "description":
                        "What the first click was on: link, or an action's index 0-2."},
        },
    },
    "NotificationDetail": {
        "type": "object",
        "additionalProperties": False,
        "required": ["notification", "receipts", "deliveries"],
        "properties": {
            "notification": _ref("Notification"),
            "receipts": _ref("Receipts"),
            "deliveries": {"type": "array", "items": _ref("DeliveryEvent")},
        },
    },
    "SeenResult": {
        "type": "object",
        "additionalProperties": False,
        "required": ["seen"],
        "properties": {"seen": {"type": "array", "items": {"type": "string"},
                                "description": "The ids seen for the first time."}},
    },
    "ClickResult": {
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {"url": {**_NULLABLE_STRING, "description":
                               "Where the click leads (null: a notification with no link)."}},
    },
    "Device": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "platform", "label", "created_at", "registered_at"],
        "properties": {
            "id": {"type": "string", "pattern": DEVICE_ID_PATTERN,
                   "description": "Stable per device: registering the same token again "
                                  "gives the same id."},
            "platform": {"enum": list(PLATFORMS),
                         "description": "web: a browser's web push subscription (registered "
                                        "from the settings page); fcm or apns: a phone."},
            "label": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time",
                           "description": "First registered."},
            "registered_at": {"type": "string", "format": "date-time",
                              "description": "Last registered (refreshed)."},
            "push_service": {"type": "string",
                             "description": "Web devices: the host of their push service."},
        },
    },
    "DeviceRegistered": {
        "type": "object",
        "additionalProperties": False,
        "required": ["device", "created", "evicted"],
        "properties": {
            "device": _ref("Device"),
            "created": {"type": "boolean",
                        "description": "False when the token was registered before (200)."},
            "evicted": {"type": "array", "items": {"type": "string"},
                        "description": "Devices removed to stay within the per-user cap "
                                       "(the ones registered longest ago)."},
        },
    },
    "DeviceList": {
        "type": "object",
        "required": ["devices"],
        "properties": {"devices": {"type": "array", "items": _ref("Device"),
                                   "description": "Most recently registered first."}},
    },
    "NotificationType": {
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "label", "description", "default_channels", "user_can_disable",
                     "category", "updated_at"],
        "properties": {
            "type": {"type": "string", "pattern": TYPE_PATTERN},
            "label": {"type": "string"},
            "description": {"type": "string"},
            "default_channels": {
                "type": ["array", "null"], "items": {"enum": list(CHANNELS)},
                "description": "On for a user who never set the type's switch (in the "
                               "settings page's order); null: the user's default row."},
            "user_can_disable": {"type": "boolean"},
            "category": {"type": "string"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
    "TypeList": {
        "type": "object",
        "additionalProperties": False,
        "required": ["types"],
        "properties": {"types": {"type": "array", "items": _ref("NotificationType"),
                                 "description": "In slug order."}},
    },
    "TypeChips": {
        "type": "object",
        "additionalProperties": False,
        "required": ["labels", "broadcast", "untyped"],
        "properties": {
            "labels": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "Each described type's label, by slug."},
            "broadcast": {"type": "object", "additionalProperties": {"type": "string"},
                          "description": "What a broadcast of an undescribed kind is "
                                         "called (other kinds: the slug)."},
            "untyped": {"type": "string", "description": "The type of notifications sent "
                        "without one: they carry no chip. Any other undescribed type's "
                        "chip is its slug."},
        },
    },
    "SnoozeResult": {
        "type": "object",
        "additionalProperties": False,
        "required": ["snoozed", "until", "unread"],
        "properties": {"snoozed": {"type": "integer", "description": "How many left the "
                                   "inbox until then (archived and unknown ids are not)."},
                       "until": {"type": "string", "format": "date-time",
                                 "description": "When they come back, unread (UTC)."},
                       "unread": {"type": "integer"}},
    },
    "UnsnoozeResult": {
        "type": "object",
        "additionalProperties": False,
        "required": ["unsnoozed", "unread"],
        "properties": {"unsnoozed": {"type": "integer", "description": "How many came "
                                     "back, unread."},
                       "unread": {"type": "integer"}},
    },
    "ArchiveResult": {
        "type": "object",
        "properties": {"archived": {"type": "integer", "description": "How many moved."},
                       "restored": {"type": "integer", "description": "How many moved."},
                       "unread": {"type": "integer"}},
        "required": ["unread"],
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
    text = {400: "The body is not JSON (error.field is body)", 401: "Missing or bad API key",
            404: "Not found",
            409: "Conflicts with the current state",
            429: "Over this API key's rate limit; see Retry-After",
            413: "Body too large (the message says the limit)",
            422: "Invalid fields: the first in error.field, every one in error.errors",
            503: "Redis unreachable; see Retry-After"}
    return {str(s): {"description": text[s], **_json("Error")} for s in statuses}


_USER = {"name": "user_id", "in": "path", "required": True,
         "schema": {"type": "string", "pattern": USER_ID_PATTERN}}

_THREAD = {"name": "thread", "in": "path", "required": True,
           "schema": {"type": "string", "pattern": THREAD_PATTERN},
           "description": "The thread senders named in their notifications' thread field."}


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


def _also(op: dict[str, Any], status: int, schema: str) -> dict[str, Any]:
    """``op`` with a second success status."""
    op["responses"][str(status)] = {"description": "Success", **_json(schema)}
    return op


def _no_content(summary: str, *, params: list) -> dict[str, Any]:
    return {"summary": summary, "parameters": params,
            "responses": {"204": {"description": "Done"}, **_errors(401, 404, 422, 503)}}


def _or_empty(pattern: str) -> str:
    """``pattern`` (anchored) or the empty string: an empty query argument means none."""
    return f"^(?:{pattern.removeprefix('^').removesuffix('$')})?$"


@cache
def openapi_document(widget_token_min_ttl: int = config.WIDGET_TOKEN_MIN_TTL) -> dict[str, Any]:
    """The whole document (built once per process and setting); ``widget_token_min_ttl``
    is the setting WIDGET_TOKEN_MIN_TTL."""
    _, defs = models_json_schema(
        [(m, "validation") for m in (SendRequest, BatchRequest, MarkReadRequest, ArchiveRequest,
                                       SnoozeRequest, SnoozeOneRequest,
                                       WidgetTokenRequest, BroadcastRequest, GroupRequest,
                                       GroupSendRequest, PreferencesRequest,
                                       DeviceRequest, SeenRequest, ClickRequest,
                                       SignInLinkRequest, TypeRequest)],
        ref_template=REF,
    )
    schemas = {**defs["$defs"], **RESPONSE_SCHEMAS}
    schemas["WidgetTokenRequest"]["properties"]["ttl_seconds"]["minimum"] = widget_token_min_ttl
    send_errors = (400, 401, 413, 422, 503)
    query = [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                    "maximum": 100, "default": 50}},
        {"name": "before", "in": "query",
         "schema": {"type": "string", "pattern": _or_empty(ITEM_ID_PATTERN)},
         "description": "Cursor: the `next` of the previous page."},
        {"name": "unread", "in": "query", "schema": {"enum": ["0", "1", "true", "false"]},
         "description": "1: unread items only."},
        {"name": "archived", "in": "query", "schema": {"enum": ["0", "1", "true", "false"]},
         "description": "1: the archived notifications instead of the inbox."},
        {"name": "snoozed", "in": "query", "schema": {"enum": ["0", "1", "true", "false"]},
         "description": "1: the snoozed notifications instead of the inbox (not with "
                        "archived=1)."},
        {"name": "read", "in": "query", "schema": {"enum": ["0", "1", "true", "false"]},
         "description": "1: read items only; 0: unread only (not with unread=1)."},
        {"name": "type", "in": "query",
         "schema": {"type": "string", "pattern": TYPES_PATTERN},
         "description": f"Only these types (up to {MAX_CHOICES}, comma-separated)."},
        {"name": "priority", "in": "query",
         "schema": {"type": "string", "pattern": PRIORITIES_PATTERN},
         "description": "Only these priorities (comma-separated)."},
        {"name": "q", "in": "query",
         "schema": {"type": "string", "maxLength": MAX_QUERY, "pattern": QUERY_PATTERN},
         "description": "Words that must each appear in the title or the body (any case). "
                        "Searches the retained inbox (at most INBOX_MAX entries, plus the "
                        "live broadcasts)."},
    ]
    presence_query = [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                    "maximum": 1000, "default": 100}},
        {"name": "cursor", "in": "query",
         "schema": {"type": "string", "pattern": _or_empty(USER_ID_PATTERN)},
         "description": "The `next` of the previous page."},
    ]
    notification_id = {"name": "notification_id", "in": "path", "required": True,
                       "schema": {"type": "string", "pattern": ITEM_ID_PATTERN}}
    group = {"name": "group", "in": "path", "required": True,
             "schema": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_.-]{0,63}$"}}
    after = {"name": "after", "in": "query", "schema": {"type": "string"},
             "description": "Cursor: the `next` of the previous page."}
    broadcast_id = {"name": "broadcast_id", "in": "path", "required": True,
                    "schema": {"type": "string", "pattern": BROADCAST_ID_PATTERN}}
    type_slug = {"name": "type", "in": "path", "required": True,
                 "schema": {"type": "string", "pattern": TYPE_PATTERN}}
    device_id = {"name": "device_id", "in": "path", "required": True,
                 "schema": {"type": "string", "pattern": DEVICE_ID_PATTERN}}
    schedule_id = {"name": "schedule_id", "in": "path", "required": True,
                   "schema": {"type": "string", "pattern": SCHEDULE_ID_PATTERN}}
    scheduled_query = [
        query[0],
        {"name": "after", "in": "query",
         "schema": {"type": "string", "pattern": _or_empty(CURSOR_PATTERN)},
         "description": "Cursor: the `next` of the previous page."},
        {"name": "kind", "in": "query",
         "schema": {"type": "string", "pattern": _or_empty(KIND_PATTERN)},
         "description": "Only scheduled sends of this kind."},
    ]
    send = _operation(
        "Send one notification to user_id, or to up to 1000 user_ids (all or none)",
        (201, "SendResult"), body="SendRequest", errors=send_errors)
    batch = _operation(
        "Send up to 1000 notifications, ids in request order (all or none)",
        (201, "SendResult"), body="BatchRequest", errors=send_errors)
    for op in (send, batch):
        op["responses"]["202"] = {"description": "Scheduled (the body had send_at)",
                                  **_json("Scheduled")}
    cancel = {
        "summary": "Cancel a scheduled send that has not started",
        "parameters": [schedule_id],
        "responses": {"204": {"description": "Cancelled"},
                      **_errors(401, 404, 422, 503)},
    }
    paths: dict[str, Any] = {
        "/notifications": {"post": send},
        "/notifications/batch": {"post": batch},
        "/scheduled": {"get": _operation(
            "List scheduled sends not yet done, soonest first", (200, "ScheduledPage"),
            params=scheduled_query)},
        "/scheduled/{schedule_id}": {
            "get": _operation("Look up one scheduled send", (200, "ScheduledSend"),
                              params=[schedule_id], errors=(401, 404, 422, 503)),
            "delete": cancel,
        },
        "/users/{user_id}/notifications": {"get": _operation(
            "List a user's notifications, newest first",
            (200, "NotificationPage"), params=[_USER, *query])},
        "/users/{user_id}/unread-count": {"get": _operation(
            "Count a user's unread notifications", (200, "UnreadCount"), params=[_USER])},
        "/users/{user_id}/notifications/read": {"post": _operation(
            "Mark some or all of a user's notifications read", (200, "ReadResult"),
            body="MarkReadRequest", params=[_USER], errors=(400, 401, 422, 503))},
        "/users/{user_id}/threads/{thread}/read": {"post": _operation(
            "Mark every unread notification of one of a user's threads read",
            (200, "ReadResult"), params=[_USER, _THREAD])},
        "/users/{user_id}/notifications/{notification_id}": {"delete": _operation(
            "Delete one notification", (200, "DeleteResult"),
            params=[_USER, notification_id], errors=(401, 404, 422, 503))},
        **_archive_paths("/users/{user_id}/notifications", [_USER], _operation),
        **_snooze_paths("/users/{user_id}/notifications", [_USER], _operation),
        "/broadcasts": {
            "post": _also(_operation(
                "Announce to every user (stored once, merged into every feed), now or "
                "at send_at (202)", (201, "BroadcastCreated"), body="BroadcastRequest",
                errors=send_errors), 202, "Scheduled"),
            "get": _operation(
                "List retained broadcasts, newest first, expired ones included",
                (200, "BroadcastList"), params=[query[0]]),
        },
        "/broadcasts/{broadcast_id}": {"get": _operation(
            "One broadcast", (200, "Broadcast"), params=[broadcast_id],
            errors=(401, 404, 422, 503))},
        "/broadcasts/{broadcast_id}/end": {"post": _operation(
            "End the window a broadcast announces now (and the broadcast with it when "
            "it expired at the window's end)", (200, "Broadcast"), params=[broadcast_id],
            errors=(401, 404, 409, 422, 503))},
        "/groups": {
            "post": _operation("Create a group", (201, "Group"), body="GroupRequest",
                               errors=(400, 401, 409, 422, 503)),
            "get": _operation("List groups in name order", (200, "GroupPage"),
                              params=[query[0], after]),
        },
        "/groups/{group}": {
            "get": _operation("One group", (200, "Group"), params=[group],
                              errors=(401, 404, 422, 503)),
            "delete": _no_content("Delete a group (members keep what they were sent)",
                                  params=[group]),
        },
        "/groups/{group}/members": {"get": _operation(
            "List a group's members in id order", (200, "MemberPage"),
            params=[group, query[0], after], errors=(401, 404, 422, 503))},
        "/groups/{group}/members/{user_id}": {
            "put": _also(_operation(
                "Add a member (201; 200 when already one); older group notifications "
                "are not theirs", (201, "Membership"), params=[group, _USER],
                errors=(401, 404, 409, 422, 503)), 200, "Membership"),
            "delete": _no_content("Remove a member", params=[group, _USER]),
        },
        "/groups/{group}/presence": {"get": _operation(
            "Which members of a group are online now", (200, "GroupPresence"),
            params=[group], errors=(401, 404, 422, 503))},
        "/groups/{group}/notifications": {"post": _also(_operation(
            "Send to every member: copied into each inbox (fan-out on write), atomic in "
            "chunks of 1000 members; now, or at send_at (202)", (201, "SendResult"),
            body="GroupSendRequest", params=[group], errors=(400, 401, 404, 413, 422, 503)),
            202, "Scheduled")},
        "/presence": {"get": _operation(
            "List the online users (a user is online while one of their event streams "
            "is open), with their count", (200, "OnlineUsers"), params=presence_query)},
        "/users/{user_id}/presence": {"get": _operation(
            "Whether a user is online, and when last seen", (200, "UserPresence"),
            params=[_USER])},
        "/types": {"get": _operation(
            "List the described notification types", (200, "TypeList"), errors=(401, 503))},
        "/types/{type}": {
            "get": _operation("One described notification type", (200, "NotificationType"),
                              params=[type_slug], errors=(401, 404, 422, 503)),
            "put": _also(_operation(
                "Describe a notification type: its label, description and settings-page "
                "category, the channels users get by default, and whether they may turn "
                "it off (201 when new, 200 when replaced)", (201, "NotificationType"),
                body="TypeRequest", params=[type_slug], errors=(400, 401, 413, 422, 503)),
                200, "NotificationType"),
            "delete": _no_content("Forget a type's description: it shows as its slug and "
                                  "follows each user's default row", params=[type_slug]),
        },
        "/widget-tokens": {"post": _operation(
            "Mint a short-lived token that opens one user's event stream",
            (201, "WidgetToken"), body="WidgetTokenRequest", errors=(400, 401, 422, 503))},
        "/sign-in-links": {"post": _operation(
            "Mint a one-time link that signs a user in to the inbox (never an admin or a "
            "disabled account: 422 not_allowed); the first use creates a password-less "
            "account for a user id without one", (201, "SignInLink"),
            body="SignInLinkRequest", errors=(400, 401, 422, 503))},
        "/openapi.json": {"get": {
            "summary": "This document", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
        "/notifications/{user_id}/{notification_id}": {"get": _operation(
            "One of a user's notifications with its receipts (seen, read, clicked) and "
            "delivery timeline", (200, "NotificationDetail"),
            params=[_USER, {**notification_id, "schema": {
                "type": "string", "pattern": NOTIFICATION_ID_PATTERN}}],
            errors=(401, 404, 422, 503))},
        "/notifications/{user_id}/{notification_id}/deliveries": {"get": _operation(
            "A notification's delivery timeline: every attempt per channel and target, "
            "with its time, outcome and error", (200, "DeliveryTimeline"),
            params=[_USER, {**notification_id, "schema": {
                "type": "string", "pattern": NOTIFICATION_ID_PATTERN}}],
            errors=(401, 404, 422, 503))},
        "/users/{user_id}/devices": {
            "post": _also(_operation(
                "Register a phone's FCM or APNs token for mobile push (201; 200 when "
                "registered before); a user keeps the 20 most recent devices",
                (201, "DeviceRegistered"), body="DeviceRequest", params=[_USER],
                errors=(400, 401, 422, 503)), 200, "DeviceRegistered"),
            "get": _operation("List a user's devices (browsers and phones)",
                              (200, "DeviceList"), params=[_USER]),
        },
        "/users/{user_id}/devices/{device_id}": {"delete": _no_content(
            "Remove a device: nothing is pushed to it any more", params=[_USER, device_id])},
        "/users/{user_id}/preferences": {
            "get": _operation("A user's delivery preferences (defaults for a user who never "
                              "set any)", (200, "UserPreferences"), params=[_USER]),
            "put": _operation("Replace a user's whole preferences document (validated "
                              "first, stored atomically)", (200, "UserPreferences"),
                              body="PreferencesRequest", params=[_USER],
                              errors=(400, 401, 413, 422, 503)),
        },
    }
    # Every call with an API key spends that key's budget (API_RATE_LIMIT) and needs
    # one of its scopes.
    for path, operations in paths.items():
        if path != "/openapi.json":
            for method, operation in operations.items():
                scope = ROUTE_SCOPES[(method.upper(), path)]
                operation["x-required-scope"] = scope
                operation["responses"]["403"] = {
                    "description": f"The API key lacks the '{scope}' scope "
                    "(error.code insufficient_scope)", **_json("Error")}
                operation["responses"].update(_errors(429))
                operation["responses"]["429"]["headers"] = {"Retry-After": {
                    "description": "Seconds until a request is let through again",
                    "schema": {"type": "integer"}}}
    paths.update(_widget_paths(query, notification_id))  # widget tokens: no API-key limit
    paths["/ws"] = _socket_path()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "notifier",
            "version": "1",
            "description": "Send notifications to users and manage their inboxes. "
            "Request bodies are JSON. Unknown fields in a request body are rejected with "
            "422 unknown_field, and every problem of a body is listed in error.errors.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer",
                           "description": "An API key: nk_<id>_<secret>"},
                "widgetToken": {"type": "http", "scheme": "bearer",
                                "description": "A widget token (POST /widget-tokens), used "
                                "from a page on one of its origins"},
                "widgetTokenQuery": {"type": "apiKey", "in": "query", "name": "token",
                                     "description": "A widget token in ?token= (live "
                                     "streams: browsers cannot set headers on them)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "A signed-in user's session (this service's "
                            "own pages)"},
            },
        },
    }


def _socket_path() -> dict[str, Any]:
    """``GET /ws``: only its HTTP upgrade can be described here (OpenAPI has no WebSocket
    messages); docs/protocols.md gives the messages."""
    params = [
        {"name": "token", "in": "query", "schema": {"type": "string"},
         "description": "A widget token (instead of the session cookie); the request's "
                        "Origin must be one of its origins."},
        {"name": "last_event_id", "in": "query", "schema": {"type": "string"},
         "description": "Resume after this position (an event's `id`)."},
        {"name": "types", "in": "query", "schema": {"type": "string"},
         "description": "Only these types: a comma-separated list of up to 20 slugs."},
        {"name": "min_priority", "in": "query",
         "schema": {"enum": ["low", "normal", "high", "urgent"]}},
    ]
    refused = {
        "400": {"description": "Not a WebSocket upgrade (no Upgrade: websocket and "
                               "Sec-WebSocket-Key headers): an HTML error page",
                "content": {"text/html": {"schema": {"type": "string"}}}},
        "401": {"description": "No session and no valid token", **_json("Error")},
        "403": {"description": "The token does not allow the request's Origin, or a "
                               "session cookie came from another origin (cross-site "
                               "WebSocket hijacking)", **_json("Error")},
        "422": {"description": "A bad filter (named in error.field)", **_json("Error")},
        "503": {"description": "The session store is unreachable; see Retry-After",
                **_json("Error")},
    }
    return {
        "servers": [{"url": "/"}],
        "get": {
            "summary": "A user's live events over a WebSocket (the upgrade request)",
            "description": (
                "The same events as GET /events, one JSON text message each: "
                '{"event", "id", "data"}; resume with ?last_event_id=<id>. The client may '
                'send {"type": "ping"}, {"type": "read", "ids" | "all"} and {"type": '
                '"ack", "ids"}, each with an optional "ref" (up to 64 characters); each '
                'gets a reply {"type": "pong" | "read" | "ack" | "error"} carrying back '
                'its "ref", errors included. Close codes: 4001 token expired, 1012 server '
                "restart, 1013 "
                "try again later, 1009 message too large."),
            "security": [{"session": []}, {"widgetTokenQuery": []}],
            "parameters": params,
            "responses": {"101": {"description": "Switching Protocols: the socket is "
                                                 "open"}, **refused},
        },
    }


def _archive_paths(base: str, params: list, op) -> dict[str, Any]:
    """Archive and unarchive, of many ids (body) and of one (path), under ``base``."""
    one = {"name": "notification_id", "in": "path", "required": True,
           "schema": {"type": "string", "pattern": NOTIFICATION_ID_PATTERN}}
    paths = {}
    for verb, does in (("archive", "Archive (out of the inbox list, read)"),
                       ("unarchive", "Restore archived")):
        paths[f"{base}/{verb}"] = {"post": op(
            f"{does} notifications", (200, "ArchiveResult"), body="ArchiveRequest",
            params=params, errors=(400, 401, 413, 422, 503))}
        paths[f"{base}/{{notification_id}}/{verb}"] = {"post": op(
            f"{does} one notification", (200, "ArchiveResult"), params=[*params, one],
            errors=(401, 404, 422, 503))}
    return paths


def _snooze_paths(base: str, params: list, op) -> dict[str, Any]:
    """Snooze and unsnooze, of many ids (body) and of one (path), under ``base``."""
    one = {"name": "notification_id", "in": "path", "required": True,
           "schema": {"type": "string", "pattern": NOTIFICATION_ID_PATTERN}}
    return {
        f"{base}/snooze": {"post": op(
            "Snooze notifications: out of the inbox list and the unread count until "
            "`until`, then back, unread", (200, "SnoozeResult"), body="SnoozeRequest",
            params=params, errors=(400, 401, 413, 422, 503))},
        f"{base}/{{notification_id}}/snooze": {"post": op(
            "Snooze one notification until `until`", (200, "SnoozeResult"),
            body="SnoozeOneRequest", params=[*params, one],
            errors=(400, 401, 404, 413, 422, 503))},
        f"{base}/unsnooze": {"post": op(
            "Bring snoozed notifications back now, unread", (200, "UnsnoozeResult"),
            body="ArchiveRequest", params=params, errors=(400, 401, 413, 422, 503))},
        f"{base}/{{notification_id}}/unsnooze": {"post": op(
            "Bring one snoozed notification back now, unread", (200, "UnsnoozeResult"),
            params=[*params, one], errors=(401, 404, 422, 503))},
    }


def _widget_paths(query: list, notification_id: dict) -> dict[str, Any]:
    """The widget API: a token's user's own inbox, for pages on the token's origins."""
    refusals = {
        "401": {"description": "Missing, invalid or expired widget token", **_json("Error")},
        "403": {"description": "The token does not allow the request's Origin",
                **_json("Error")},
        "429": {"description": "Over the user's WIDGET_RATE_LIMIT", **_json("Error"),
                "headers": {"Retry-After": {"description": "Seconds until a request is let "
                                            "through again", "schema": {"type": "integer"}}}},
    }

    def op(summary: str, ok: tuple[int, str], *, errors=(422, 503), **kwargs):
        operation = _operation(summary, ok, errors=errors, **kwargs)
        operation["security"] = [{"widgetToken": []}]
        operation["responses"].update(refusals)
        return operation

    return {
        "/me/notifications": {"get": op(
            "The token's user's notifications and broadcasts, newest first",
            (200, "NotificationPage"), params=query)},
        "/me/types": {"get": op(
            "How to name notification types (a chip per item, as the inbox shows them)",
            (200, "TypeChips"), errors=(503,))},
        "/me/unread-count": {"get": op(
            "The token's user's unread count", (200, "UnreadCount"), errors=(503,))},
        "/me/notifications/read": {"post": op(
            "Mark some or all of the token's user's notifications read", (200, "ReadResult"),
            body="MarkReadRequest", errors=(400, 413, 422, 503))},
        **_archive_paths("/me/notifications", [], op),
        **_snooze_paths("/me/notifications", [], op),
        "/me/threads/{thread}/read": {"post": op(
            "Mark every unread notification of one of the token's user's threads read",
            (200, "ReadResult"), params=[_THREAD])},
        "/me/notifications/seen": {"post": op(
            "Record that the client showed these notifications (seen receipts)",
            (200, "SeenResult"), body="SeenRequest", errors=(400, 413, 422, 503))},
        "/me/notifications/{notification_id}/clicks": {"post": op(
            "Record a click on the notification or one of its actions (it is read then); "
            "answers where it leads", (200, "ClickResult"), body="ClickRequest",
            params=[notification_id], errors=(400, 404, 413, 422, 503))},
        "/me/notifications/{notification_id}": {"delete": op(
            "Delete one of the token's user's notifications (dismiss a broadcast)",
            (200, "DeleteResult"), params=[notification_id], errors=(404, 422, 503))},
    }


def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(openapi_document(int(current_app.config["WIDGET_TOKEN_MIN_TTL"])))
