"""The API routes the client calls: method, path, request and response schemas, and how
each may be retried. The contract test checks this table against the served OpenAPI
document, so a route the client does not follow fails the suite."""

from __future__ import annotations

from dataclasses import dataclass, field

from notifier_client import models
from notifier_client.retries import SAFE, UNSENT_ONLY

#: Where the API lives under the server's base URL.
API_ROOT = "/api/v1"


@dataclass(frozen=True)
class Answer:
    """A success answer: its schema, the model it becomes, and the property holding
    that model when the schema wraps it (``{"broadcast": {...}}``)."""

    schema: str
    model: type | None
    unwrap: str | None = None


@dataclass(frozen=True)
class Operation:
    """One route of the API as the client calls it."""

    method: str
    #: Path under :data:`API_ROOT`, parameters in braces.
    path: str
    #: Success status -> answer (None: no body, as for 204).
    answers: dict[int, Answer | None]
    #: Request body schema, if the route takes a body.
    body: str | None = None
    #: Body fields the client's methods name themselves (keyword arguments pass through).
    body_fields: tuple[str, ...] = ()
    query: tuple[str, ...] = ()
    #: :data:`~notifier_client.retries.SAFE` or :data:`~notifier_client.retries.UNSENT_ONLY`.
    retry: str = SAFE
    #: The body carries ``idempotency_key``: one is generated when the caller gives none,
    #: so retrying cannot send twice.
    idempotent_key: bool = False
    #: Path parameters, in order (derived from ``path``).
    params: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(part[1:-1] for part in self.path.split("/") if part.startswith("{"))
        object.__setattr__(self, "params", names)


_SENT = {201: Answer("SendResult", models.SendResult),
         202: Answer("Scheduled", models.Scheduled, "scheduled")}

OPERATIONS: dict[str, Operation] = {
    "send": Operation(
        "POST", "/notifications", _SENT, body="SendRequest",
        body_fields=("user_id", "user_ids", "title", "idempotency_key", "send_at"),
        idempotent_key=True),
    "batch": Operation(
        "POST", "/notifications/batch", _SENT, body="BatchRequest",
        body_fields=("notifications", "idempotency_key", "send_at"), idempotent_key=True),
    "broadcast": Operation(
        "POST", "/broadcasts",
        {201: Answer("BroadcastCreated", models.Broadcast, "broadcast"),
         202: Answer("Scheduled", models.Scheduled, "scheduled")},
        body="BroadcastRequest", body_fields=("title", "idempotency_key", "send_at"),
        idempotent_key=True),
    "cancel": Operation("DELETE", "/scheduled/{schedule_id}", {204: None},
                        retry=UNSENT_ONLY),
    "list": Operation(
        "GET", "/users/{user_id}/notifications",
        {200: Answer("NotificationPage", models.NotificationPage)},
        query=("limit", "before", "unread", "read", "type", "priority", "q")),
    "unread_count": Operation("GET", "/users/{user_id}/unread-count",
                              {200: Answer("UnreadCount", models.UnreadCount)}),
    "mark_read": Operation(
        "POST", "/users/{user_id}/notifications/read",
        {200: Answer("ReadResult", models.ReadResult)}, body="MarkReadRequest",
        body_fields=("ids", "all", "up_to")),
    "mark_thread_read": Operation(
        "POST", "/users/{user_id}/threads/{thread}/read",
        {200: Answer("ReadResult", models.ReadResult)}),
    "delete": Operation(
        "DELETE", "/users/{user_id}/notifications/{notification_id}",
        {200: Answer("DeleteResult", models.DeleteResult)}, retry=UNSENT_ONLY),
    "preferences": Operation("GET", "/users/{user_id}/preferences",
                             {200: Answer("UserPreferences", models.UserPreferences)}),
    "set_preferences": Operation(
        "PUT", "/users/{user_id}/preferences",
        {200: Answer("UserPreferences", models.UserPreferences)}, body="PreferencesRequest"),
    "describe_type": Operation(
        "PUT", "/types/{type}",
        {201: Answer("NotificationType", models.NotificationType),
         200: Answer("NotificationType", models.NotificationType)},
        body="TypeRequest", body_fields=("label", "description", "default_channels",
                                         "user_can_disable", "category")),
    "types": Operation("GET", "/types", {200: Answer("TypeList", models.TypeList)}),
    "forget_type": Operation("DELETE", "/types/{type}", {204: None}),
    # Stateless: a token is signed, nothing is stored, so a second one harms nothing.
    "widget_token": Operation(
        "POST", "/widget-tokens", {201: Answer("WidgetToken", models.WidgetToken)},
        body="WidgetTokenRequest", body_fields=("user_id", "ttl_seconds", "origins")),
    # Each call stores a one-time link: retried only when surely never received.
    "sign_in_link": Operation(
        "POST", "/sign-in-links", {201: Answer("SignInLink", models.SignInLink)},
        body="SignInLinkRequest", body_fields=("user_id", "next"), retry=UNSENT_ONLY),
}
