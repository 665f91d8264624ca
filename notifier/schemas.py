"""Request bodies of the HTTP API, validated by pydantic.

The same models give the JSON Schemas of the OpenAPI document, so what is
documented is what is enforced. Unknown fields are rejected (``extra="forbid"``):
a misspelt ``tittle`` is an error the sender sees, not a silently empty field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from .ids import NOTIFICATION_ID_PATTERN, USER_ID_PATTERN

PRIORITIES = ("low", "normal", "high", "urgent")
Priority = Literal["low", "normal", "high", "urgent"]

MAX_DATA_BYTES = 8 * 1024
MAX_RECIPIENTS = 1000
MAX_BATCH = 1000
DEFAULT_TYPE = "general"

UserId = Annotated[str, StringConstraints(pattern=USER_ID_PATTERN)]
NotificationId = Annotated[str, StringConstraints(pattern=NOTIFICATION_ID_PATTERN)]
TypeSlug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,255}$")]


def _title(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain visible text")
    return value


def _link(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http:// or https:// URL")
    return value


def _data(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_DATA_BYTES:
        raise ValueError(f"must be at most {MAX_DATA_BYTES} bytes of JSON, got {size}")
    return value


def _future(value: datetime | None) -> datetime | None:
    if value is not None and value <= datetime.now(UTC):
        raise ValueError("must be in the future")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NotificationContent(_Strict):
    """What a notification says; the same for every recipient of one send."""

    type: TypeSlug = Field(
        DEFAULT_TYPE,
        description="Slug naming the kind of notification (lowercase letters, digits, _ . -).",
    )
    title: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_title)]
    body: Annotated[str, Field(max_length=2000)] = ""
    data: Annotated[dict[str, Any], AfterValidator(_data)] = Field(
        default_factory=dict, description="Free JSON object for the receiving app, at most 8 KB."
    )
    priority: Priority = "normal"
    link: Annotated[str | None, Field(max_length=2048), AfterValidator(_link)] = None
    expires_at: Annotated[AwareDatetime | None, AfterValidator(_future)] = Field(
        None, description="When the notification disappears from inboxes, counts and replays."
    )


class SendRequest(NotificationContent):
    """Body of ``POST /api/v1/notifications``: one notification, one or many users."""

    user_id: UserId | None = None
    user_ids: Annotated[list[UserId], Field(min_length=1, max_length=MAX_RECIPIENTS)] | None = None
    idempotency_key: IdempotencyKey | None = None

    @model_validator(mode="after")
    def _one_target(self) -> SendRequest:
        if (self.user_id is None) == (self.user_ids is None):
            raise ValueError("give exactly one of user_id and user_ids")
        return self

    def recipients(self) -> list[str]:
        """The recipients, each once, in the order given."""
        if self.user_id is not None:
            return [self.user_id]
        return list(dict.fromkeys(self.user_ids or ()))


class BatchItem(NotificationContent):
    """One notification of a batch, to one user."""

    user_id: UserId


class BatchRequest(_Strict):
    """Body of ``POST /api/v1/notifications/batch``."""

    notifications: Annotated[list[BatchItem], Field(min_length=1, max_length=MAX_BATCH)]
    idempotency_key: IdempotencyKey | None = None


class MarkReadRequest(_Strict):
    """Body of ``POST /api/v1/users/<user_id>/notifications/read``."""

    ids: Annotated[list[NotificationId], Field(min_length=1, max_length=1000)] | None = None
    all: bool | None = None
    up_to: NotificationId | None = Field(
        None, description="With all: only notifications up to this id (the newest one shown)."
    )

    @model_validator(mode="after")
    def _one_mode(self) -> MarkReadRequest:
        if (self.ids is None) == (not self.all):
            raise ValueError('give either "ids" or "all": true')
        if self.up_to is not None and not self.all:
            raise ValueError('"up_to" goes with "all": true')
        return self


def field_path(loc: tuple[str | int, ...]) -> str:
    """``("notifications", 3, "title")`` as ``notifications[3].title``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


class WidgetTokenRequest(_Strict):
    """Body of ``POST /api/v1/widget-tokens``."""

    user_id: UserId
    ttl_seconds: Annotated[int, Field(ge=10, le=24 * 3600)] = Field(
        15 * 60, description="Lifetime in seconds: 10 s to 24 h, default 15 min.")
