"""Typed results: one dataclass per schema of the API's OpenAPI document.

Each model names its schema in ``SCHEMA``: a components schema, or a path into one
(``Scheduled/scheduled`` is the object under ``scheduled``, ``[]`` steps into an
array's items). Its fields are the schema's properties, date-times as
:class:`~datetime.datetime`; a field with ``header`` metadata comes from a response
header instead (``Idempotent-Replayed``). The contract test holds them to the served
document.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

Model = TypeVar("Model")


def parse_datetime(value: str) -> datetime:
    """An RFC 3339 date-time of the API (``Z`` or an offset)."""
    return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _convert(options[0], value)
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_convert(item, v) for v in value]
    if hint is datetime:
        return parse_datetime(value)
    if dataclasses.is_dataclass(hint):
        return from_json(hint, value)
    return value


def from_json(model: type[Model], doc: dict[str, Any],
              headers: typing.Mapping[str, str] | None = None) -> Model:
    """``model`` from a JSON object of its schema (and the response's ``headers``)."""
    hints = typing.get_type_hints(model)
    values = {}
    for item in dataclasses.fields(model):
        header = item.metadata.get("header")
        if header is not None:
            values[item.name] = (headers or {}).get(header, "").lower() == "true"
        elif item.name in doc:
            values[item.name] = _convert(hints[item.name], doc[item.name])
    return model(**values)


def header_fields(model: type) -> dict[str, str]:
    """The fields of ``model`` read from response headers: name -> header."""
    return {f.name: f.metadata["header"] for f in dataclasses.fields(model)
            if "header" in f.metadata}


@dataclass(frozen=True)
class Action:
    """A button on a notification."""

    SCHEMA: ClassVar[str] = "Action"
    label: str
    url: str


@dataclass(frozen=True)
class Notification:
    """One notification as a user's inbox holds it."""

    SCHEMA: ClassVar[str] = "Notification"
    id: str
    user_id: str
    type: str
    title: str
    body: str
    data: dict[str, Any]
    priority: str
    link: str | None
    created_at: datetime
    expires_at: datetime | None
    read: bool
    source: str
    group: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    actions: list[Action]
    #: The thread the sender named, or None.
    thread: str | None = None


@dataclass(frozen=True)
class SentNotification:
    """One recipient of a send and the id of their notification."""

    SCHEMA: ClassVar[str] = "SendResult/notifications[]"
    user_id: str
    id: str


@dataclass(frozen=True)
class SendResult:
    """What a send stored: each recipient's notification, in recipient order."""

    SCHEMA: ClassVar[str] = "SendResult"
    notifications: list[SentNotification]
    #: True when the idempotency key repeated an earlier send (nothing new was stored).
    replayed: bool = field(default=False, metadata={"header": "Idempotent-Replayed"})

    @property
    def ids(self) -> list[str]:
        """The notification ids, in recipient order."""
        return [n.id for n in self.notifications]


@dataclass(frozen=True)
class Scheduled:
    """A send scheduled for later (cancel it with its ``id``)."""

    SCHEMA: ClassVar[str] = "Scheduled/scheduled"
    id: str
    kind: str
    send_at: datetime
    replayed: bool = field(default=False, metadata={"header": "Idempotent-Replayed"})


@dataclass(frozen=True)
class NotificationPage:
    """A page of a user's notifications, newest first; ``next`` is the following page's
    ``before``."""

    SCHEMA: ClassVar[str] = "NotificationPage"
    notifications: list[Notification]
    next: str | None


@dataclass(frozen=True)
class UnreadCount:
    """How many unread notifications a user has."""

    SCHEMA: ClassVar[str] = "UnreadCount"
    user_id: str
    unread: int


@dataclass(frozen=True)
class ReadResult:
    """What marking read did: how many were unread before, and the unread count now."""

    SCHEMA: ClassVar[str] = "ReadResult"
    marked: int
    unread: int


@dataclass(frozen=True)
class DeleteResult:
    """The deleted notification's id and the user's unread count."""

    SCHEMA: ClassVar[str] = "DeleteResult"
    deleted: str
    unread: int


@dataclass(frozen=True)
class Broadcast:
    """An announcement to every user."""

    SCHEMA: ClassVar[str] = "Broadcast"
    id: str
    type: str
    title: str
    body: str
    data: dict[str, Any]
    priority: str
    link: str | None
    created_at: datetime
    expires_at: datetime | None
    starts_at: datetime | None
    ends_at: datetime | None
    replayed: bool = field(default=False, metadata={"header": "Idempotent-Replayed"})


@dataclass(frozen=True)
class QuietHours:
    """A daily window in the user's time zone (``HH:MM``; start after end: overnight)."""

    SCHEMA: ClassVar[str] = "QuietHours"
    start: str
    end: str


@dataclass(frozen=True)
class Preferences:
    """A user's preferences document: where the channels deliver, quiet hours, and
    ``channels`` (type -> channel -> on; type ``*`` is the default row)."""

    SCHEMA: ClassVar[str] = "PreferencesRequest"
    email: str | None
    phone: str | None
    timezone: str
    quiet_hours: QuietHours | None
    channels: dict[str, dict[str, bool]]

    def to_json(self) -> dict[str, Any]:
        """The document as ``set_preferences`` takes it."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class UserPreferences:
    """A user's preferences."""

    SCHEMA: ClassVar[str] = "UserPreferences"
    user_id: str
    preferences: Preferences


@dataclass(frozen=True)
class NotificationType:
    """A described notification type: how pages name it, and what users get by default
    (``default_channels`` None: each user's default row)."""

    SCHEMA: ClassVar[str] = "NotificationType"
    type: str
    label: str
    description: str
    default_channels: list[str] | None
    user_can_disable: bool
    category: str
    updated_at: datetime


@dataclass(frozen=True)
class TypeList:
    """Every described type, in slug order."""

    SCHEMA: ClassVar[str] = "TypeList"
    types: list[NotificationType]


@dataclass(frozen=True)
class WidgetToken:
    """A short-lived token for one user's widget and event stream."""

    SCHEMA: ClassVar[str] = "WidgetToken"
    token: str
    user_id: str
    expires_at: datetime
    expires_in: int
    origins: list[str]


@dataclass(frozen=True)
class SignInLink:
    """A one-time link that signs the user in to the inbox pages."""

    SCHEMA: ClassVar[str] = "SignInLink"
    url: str
    user_id: str
    expires_at: datetime
    expires_in: int
