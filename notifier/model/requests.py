"""Request bodies of the HTTP API, validated by pydantic.

The same models give the JSON Schemas of the OpenAPI document, so what is
documented is what is enforced. Unknown fields are rejected (``extra="forbid"``):
a misspelt ``tittle`` is an error the sender sees, not a silently empty field.
"""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import WithJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError

from notifier.core.ids import (
    ITEM_ID_PATTERN,
    NOTIFICATION_ID_PATTERN,
    POSITION_PATTERN,
    THREAD_PATTERN,
    USER_ID_PATTERN,
)
from notifier.core.origins import MAX_TOKEN_ORIGINS, parse_origin
from notifier.model import text_rules
from notifier.model.channels import CHANNELS, Channel
from notifier.model.preferences import (
    DEFAULT_ROW,
    DEFAULT_SWITCHES,
    DEFAULT_TIMEZONE,
    HHMM_PATTERN,
    PHONE_PATTERN,
    Preferences,
    format_hhmm,
    is_timezone,
    parse_hhmm,
)
from notifier.model.text_rules import safe_next
from notifier.model.types import DEFAULT_TYPE, TypeInfo

PRIORITIES = ("low", "normal", "high", "urgent")
Priority = Literal["low", "normal", "high", "urgent"]

MAX_DATA_BYTES = 8 * 1024
MAX_RECIPIENTS = 1000
MAX_BATCH = 1000
#: How far ahead a send may be scheduled.
MAX_SCHEDULE_AHEAD = timedelta(days=365)
#: Validation context of a scheduled request re-validated when it fires: its
#: ``expires_at`` may have passed by then (the send then leaves it out).
FIRING = "firing"

UserId = Annotated[str, StringConstraints(pattern=USER_ID_PATTERN)]
ItemId = Annotated[str, StringConstraints(pattern=ITEM_ID_PATTERN)]
Position = Annotated[str, StringConstraints(pattern=POSITION_PATTERN)]
TypeSlug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Thread = Annotated[str, StringConstraints(pattern=THREAD_PATTERN)]
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,255}$")]


def _pattern(pattern: str) -> Field:
    return Field(json_schema_extra={"pattern": pattern})


def visible_line(max_length: int) -> Any:
    """One line of visible text of up to ``max_length`` characters: a title, a label (see
    :mod:`notifier.model.text_rules`)."""
    return Annotated[str, Field(min_length=1, max_length=max_length),
                     AfterValidator(text_rules.visible_line),
                     _pattern(text_rules.VISIBLE_LINE_PATTERN)]


def optional_line(max_length: int) -> Any:
    """Empty, or one line of visible text: a device's label, a group's description."""
    return Annotated[str, Field(max_length=max_length), AfterValidator(text_rules.line),
                     AfterValidator(text_rules.visible),
                     _pattern(text_rules.OPTIONAL_VISIBLE_LINE_PATTERN)]


def visible_lines(max_length: int) -> Any:
    """Empty, or lines of visible text (line feeds and tabs allowed): a body."""
    return Annotated[str, Field(max_length=max_length),
                     AfterValidator(text_rules.visible_lines),
                     _pattern(text_rules.VISIBLE_LINES_PATTERN)]


#: An absolute http(s) URL (see :mod:`notifier.model.text_rules`).
Link = Annotated[str, Field(max_length=2048), AfterValidator(text_rules.http_url),
                 _pattern(text_rules.URL_PATTERN)]

#: Date-times a request may give: RFC 3339 with a UTC offset, in the years 2000 to 9998
#: (so that every one converts to UTC and to epoch milliseconds).
DATE_TIME_PATTERN = (
    r"^(?:2[0-9]{3}|[3-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
    r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$")
_DATE_TIME = re.compile(DATE_TIME_PATTERN)
_NO_OFFSET = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+$")


def _date_time_text(value: object) -> object:
    """Parse a date-time string of the documented form (other values go to pydantic)."""
    if not isinstance(value, str):
        return value
    try:
        if _DATE_TIME.match(value):
            return datetime.fromisoformat(value)
    except ValueError:
        pass  # e.g. February 30: the message below
    if _NO_OFFSET.match(value):
        raise ValueError("must have a timezone: a UTC offset such as Z or +02:00")
    raise ValueError("must be a datetime such as 2026-11-21T12:00:00Z (RFC 3339 with a UTC "
                     "offset, in the years 2000 to 9998)")


Moment = Annotated[AwareDatetime, BeforeValidator(_date_time_text), WithJsonSchema(
    {"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN})]


def _finite(value: Any, path: str) -> None:
    """Raise ValueError naming the first NaN or infinity in the JSON value."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path} is not a finite number (JSON has no NaN or Infinity)")
    if isinstance(value, dict):
        for key, item in value.items():
            _finite(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _finite(item, f"{path}[{index}]")


def _data(value: dict[str, Any]) -> dict[str, Any]:
    _finite(value, "data")
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_DATA_BYTES:
        raise ValueError(f"must be at most {MAX_DATA_BYTES} bytes of JSON, got {size}")
    return value


def _future(value: datetime | None, info: ValidationInfo) -> datetime | None:
    if value is not None and value <= datetime.now(UTC) and not (info.context or {}).get(FIRING):
        raise ValueError("must be in the future")
    return value


def _send_at(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    now = datetime.now(UTC)
    if value <= now:
        raise ValueError("must be in the future")
    if value > now + MAX_SCHEDULE_AHEAD:
        raise ValueError(f"must be at most {MAX_SCHEDULE_AHEAD.days} days ahead")
    return value


def _expires_after(send_at: datetime | None, expires: list[datetime | None]) -> None:
    if send_at is not None and any(e is not None and e <= send_at for e in expires):
        raise ValueError("must be before expires_at")


SendAt = Annotated[Moment | None, AfterValidator(_send_at)]
SEND_AT_DOC = ("Schedule the send for this time (with a UTC offset), instead of now: "
               "the response is 202 with the schedule's id.")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


def _given(name: str, json_type: str) -> dict[str, Any]:
    """JSON Schema: ``name`` is there and not null (null is the same as leaving it out)."""
    return {"required": [name], "properties": {name: {"type": json_type}}}


def _absent(*names: str) -> dict[str, Any]:
    """JSON Schema: each of ``names`` is left out or null."""
    return {"properties": {name: {"type": "null"} for name in names}}


#: Buttons a notification may carry.
MAX_ACTIONS = 3


class Action(_Strict):
    """A button on a notification: a label and where it leads (a click is recorded)."""

    label: visible_line(40)
    url: Link


class NotificationContent(_Strict):
    """What a notification says; the same for every recipient of one send."""

    type: TypeSlug = Field(
        DEFAULT_TYPE,
        description="Slug naming the kind of notification (lowercase letters, digits, _ . -).",
    )
    title: visible_line(200) = Field(
        description="One line of visible text.")
    body: visible_lines(2000) = Field(
        "", description="Lines of text (line feeds and tabs allowed, no other control "
                        "characters).")
    data: Annotated[dict[str, Any], AfterValidator(_data)] = Field(
        default_factory=dict, description="Free JSON object for the receiving app, at most 8 KB."
    )
    priority: Priority = "normal"
    link: Link | None = Field(
        None, description="Absolute http(s) URL: a host, no user name, no spaces or "
                          "backslashes.")
    expires_at: Annotated[Moment | None, AfterValidator(_future)] = Field(
        None, description="When the notification disappears from inboxes, counts and replays."
    )
    actions: Annotated[list[Action], Field(max_length=MAX_ACTIONS)] = Field(
        default_factory=list,
        description="Up to 3 buttons shown in the inbox, the widget and web push; clicks "
                    "are recorded (receipts).")
    thread: Thread | None = Field(
        None, description="Groups the notification with the others of the same thread "
                          "for the same user (e.g. pr-4411): the inbox and the widget show "
                          "one row per thread, and reading the thread reads all of it. "
                          "Letters, digits and _ . : -, up to 100 characters.")


class SendRequest(NotificationContent):
    """Body of ``POST /api/v1/notifications``: one notification, one or many users."""

    model_config = ConfigDict(json_schema_extra={
        "description": "Exactly one of user_id and user_ids.",
        "oneOf": [_given("user_id", "string"), _given("user_ids", "array")]})

    user_id: UserId | None = None
    user_ids: Annotated[list[UserId], Field(min_length=1, max_length=MAX_RECIPIENTS)] | None = None
    idempotency_key: IdempotencyKey | None = None
    send_at: SendAt = Field(None, description=SEND_AT_DOC)

    @field_validator("send_at")
    @classmethod
    def _before_expiry(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        _expires_after(value, [info.data.get("expires_at")])
        return value

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
    send_at: SendAt = Field(None, description=SEND_AT_DOC + " One time for the whole batch.")

    @field_validator("send_at")
    @classmethod
    def _before_expiry(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        _expires_after(value, [n.expires_at for n in info.data.get("notifications", ())])
        return value


class BroadcastRequest(NotificationContent):
    """Body of ``POST /api/v1/broadcasts``: an announcement to every user."""

    model_config = ConfigDict(json_schema_extra={
        "description": "A window is both starts_at and ends_at, or neither; a maintenance "
                       "broadcast has one.",
        "anyOf": [{"required": ["starts_at", "ends_at"],
                   "properties": {"starts_at": {"type": "string"},
                                  "ends_at": {"type": "string"}}},
                  _absent("starts_at", "ends_at")],
        "if": {"required": ["type"], "properties": {"type": {"const": "maintenance"}}},
        "then": _given("starts_at", "string")})

    type: TypeSlug = Field(
        "system", description="Slug naming the announcement, e.g. system or maintenance.")
    starts_at: Moment | None = Field(
        None, description="Start of the window it announces (required for maintenance).")
    ends_at: Annotated[Moment | None, AfterValidator(_future)] = Field(
        None, description="End of the window; a maintenance notice with no expires_at "
                          "expires then.")
    idempotency_key: IdempotencyKey | None = None
    send_at: SendAt = Field(None, description=SEND_AT_DOC)

    actions: Annotated[list[Action], Field(json_schema_extra={"maxItems": 0})] = Field(
        default_factory=list, description="None: broadcasts carry a link, not actions.")

    @field_validator("actions")
    @classmethod
    def _no_actions(cls, value: list[Action]) -> list[Action]:
        if value:
            raise ValueError("broadcasts carry a link, not actions (actions and their "
                             "click receipts are per user)")
        return value

    thread: Annotated[Thread | None, WithJsonSchema({"type": "null"})] = Field(
        None, description="None: a broadcast is one item for everyone, in no thread.")

    @field_validator("thread")
    @classmethod
    def _no_thread(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError("broadcasts carry no thread (a thread groups one user's "
                             "notifications)")
        return value

    @field_validator("send_at")
    @classmethod
    def _before_expiry(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        _expires_after(value, [info.data.get("expires_at"), info.data.get("ends_at")])
        return value

    @model_validator(mode="after")
    def _window(self) -> BroadcastRequest:
        problems = window_problems(self.type, self.starts_at, self.ends_at)
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, [
                InitErrorDetails(type=PydanticCustomError("value_error", message),
                                 loc=(field,), input=getattr(self, field))
                for field, message in problems])
        return self


#: What a broadcast's window is told, by problem.
WINDOW_NEEDS_END = "required with starts_at: a window is both starts_at and ends_at"
WINDOW_NEEDS_START = "required with ends_at: a window is both starts_at and ends_at"
WINDOW_BACKWARDS = "must be after starts_at"
MAINTENANCE_NEEDS_WINDOW = "required: a maintenance broadcast announces a window"


def window_problems(kind: str, starts_at: datetime | None,
                    ends_at: datetime | None) -> list[tuple[str, str]]:
    """(field, message) of each problem with a broadcast's window."""
    if starts_at is not None and ends_at is None:
        return [("ends_at", WINDOW_NEEDS_END)]
    if starts_at is None and ends_at is not None:
        return [("starts_at", WINDOW_NEEDS_START)]
    if starts_at is not None and ends_at <= starts_at:
        return [("ends_at", WINDOW_BACKWARDS)]
    if kind == "maintenance" and starts_at is None:
        return [("starts_at", MAINTENANCE_NEEDS_WINDOW), ("ends_at", MAINTENANCE_NEEDS_WINDOW)]
    return []


class GroupRequest(_Strict):
    """Body of ``POST /api/v1/groups``."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")] = Field(
        description="Lowercase letters, digits and _ . - (up to 64).")
    description: optional_line(500) = ""


class GroupSendRequest(NotificationContent):
    """Body of ``POST /api/v1/groups/<group>/notifications``."""

    idempotency_key: IdempotencyKey | None = None
    send_at: SendAt = Field(None, description=SEND_AT_DOC + " Members are those of that time.")

    @field_validator("send_at")
    @classmethod
    def _before_expiry(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        _expires_after(value, [info.data.get("expires_at")])
        return value


class MarkReadRequest(_Strict):
    """Body of ``POST /api/v1/users/<user_id>/notifications/read``."""

    model_config = ConfigDict(json_schema_extra={
        "description": 'Either "ids", or "all": true (with "up_to" or not).',
        "oneOf": [_given("ids", "array"),
                  {"required": ["all"], "properties": {"all": {"const": True}}}],
        "if": _given("up_to", "string"),
        "then": {"required": ["all"], "properties": {"all": {"const": True}}}})

    ids: Annotated[list[ItemId], Field(min_length=1, max_length=1000)] | None = None
    all: bool | None = None
    up_to: Position | None = Field(
        None, description="With all: only what is not newer than this position (the "
                          "`position` of the listing shown, or a notification id).")

    @model_validator(mode="after")
    def _one_mode(self) -> MarkReadRequest:
        if (self.ids is None) == (not self.all):
            raise ValueError('give either "ids" or "all": true')
        if self.up_to is not None and not self.all:
            raise ValueError('"up_to" goes with "all": true')
        return self


class SeenRequest(_Strict):
    """Body of ``POST /api/v1/me/notifications/seen``: notifications a client showed."""

    ids: Annotated[list[ItemId], Field(min_length=1, max_length=100)] = Field(
        description="Notification ids (broadcast ids are accepted and ignored).")


class ArchiveRequest(_Strict):
    """Body of the archive, unarchive and unsnooze routes: the notifications to move."""

    ids: Annotated[list[Annotated[str, StringConstraints(pattern=NOTIFICATION_ID_PATTERN)]],
                   Field(min_length=1, max_length=1000)] = Field(
        description="Notification ids (broadcasts are dismissed, not archived).")


Until = Annotated[Moment, AfterValidator(_send_at)]
UNTIL_DOC = ("When the notifications come back to the inbox, unread: a time with a UTC "
             "offset, in the future, at most a year ahead.")


class SnoozeRequest(_Strict):
    """Body of ``POST .../notifications/snooze``: the notifications and when they return."""

    ids: Annotated[list[Annotated[str, StringConstraints(pattern=NOTIFICATION_ID_PATTERN)]],
                   Field(min_length=1, max_length=1000)] = Field(
        description="Notification ids (broadcasts are dismissed, not snoozed).")
    until: Until = Field(description=UNTIL_DOC)


class SnoozeOneRequest(_Strict):
    """Body of ``POST .../notifications/<id>/snooze``: when it returns."""

    until: Until = Field(description=UNTIL_DOC)


class ClickRequest(_Strict):
    """Body of ``POST /api/v1/me/notifications/<id>/clicks``: what the user clicked."""

    target: Literal["link", 0, 1, 2] = Field(
        description='"link" for the notification itself, or the index of its action.')


Origin = Annotated[str, AfterValidator(parse_origin)]


class WidgetTokenRequest(_Strict):
    """Body of ``POST /api/v1/widget-tokens``."""

    user_id: UserId
    ttl_seconds: Annotated[int, Field(ge=1, le=24 * 3600)] = Field(
        15 * 60, description="Lifetime in seconds: 10 s (the setting WIDGET_TOKEN_MIN_TTL) "
                             "to 24 h, default 15 min.")
    origins: Annotated[list[Origin], Field(max_length=MAX_TOKEN_ORIGINS)] = Field(
        default_factory=list,
        description="Web origins (scheme://host[:port]) whose pages may use the token, each "
                    "among the API key's allowed origins. None: only the service's own "
                    "origin, and clients that send no Origin header.")


def _local_path(value: str) -> str:
    if safe_next(value) is None:
        raise ValueError("must be a path on this site, starting with a single /")
    return value


class SignInLinkRequest(_Strict):
    """Body of ``POST /api/v1/sign-in-links``."""

    user_id: UserId = Field(description="The user to sign in. Without an account yet, the "
                                        "link's first use makes one with no password.")
    next: Annotated[str, StringConstraints(max_length=2000),
                    AfterValidator(_local_path)] | None = Field(
        None, description="Where to go once signed in: a path on this site (default: "
                          "the inbox).")


# -- preferences ------------------------------------------------------------------
#: Most rows (types) one preferences document may switch.
MAX_PREFERENCE_TYPES = 500


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def _timezone(value: str) -> str:
    if not is_timezone(value):
        raise ValueError("must be an IANA time zone name, such as Europe/Berlin")
    return value


def _phone(value: str) -> str:
    if not re.fullmatch(PHONE_PATTERN, value):
        raise ValueError("must be an international number in E.164 form, such as "
                         "+4915112345678")
    return value


def _hhmm(value: str) -> str:
    if parse_hhmm(value) is None:
        raise ValueError("must be a time of day as HH:MM, such as 22:00")
    return value


HHMM = Annotated[str, AfterValidator(_hhmm), Field(json_schema_extra={"pattern": HHMM_PATTERN})]
SwitchRow = Annotated[str, StringConstraints(pattern=r"^(\*|[a-z0-9][a-z0-9_.-]{0,63})$")]


class QuietHours(_Strict):
    """A daily window in the user's zone; ``start`` after ``end`` runs overnight."""

    start: HHMM = Field(description="HH:MM, 24-hour clock, in the user's time zone.")
    end: HHMM = Field(description="HH:MM; equal to start means no quiet hours.")


class PreferencesRequest(_Strict):
    """Body of ``PUT /api/v1/users/<user_id>/preferences``: the whole document."""

    email: Annotated[str, Field(max_length=254), AfterValidator(_email)] | None = Field(
        None, description="Where the email channel delivers.")
    phone: Annotated[str, AfterValidator(_phone),
                     Field(json_schema_extra={"pattern": PHONE_PATTERN})] | None = Field(
        None, description="Where SMS go, in E.164 form: +4915112345678.")
    timezone: Annotated[str, Field(max_length=64), AfterValidator(_timezone)] = Field(
        DEFAULT_TIMEZONE, description="IANA zone the quiet hours are in.")
    quiet_hours: QuietHours | None = Field(
        None, description="No toast or sound in-app, and deliveries held until the window "
                          "ends; urgent notifications go through.")
    channels: Annotated[dict[SwitchRow, dict[Channel, bool]],
                        Field(max_length=MAX_PREFERENCE_TYPES)] = Field(
        default_factory=dict,
        description="type -> channel -> on. Type `*` is the default row; a switch not given "
                    "follows the default row, whose own defaults are: "
                    + ", ".join(f"{c} {'on' if on else 'off'}"
                                for c, on in DEFAULT_SWITCHES.items()) + ".")

    def to_preferences(self) -> Preferences:
        """The document as stored."""
        quiet = self.quiet_hours
        return Preferences(
            email=self.email, phone=self.phone, timezone=self.timezone,
            quiet_start=parse_hhmm(quiet.start) if quiet else None,
            quiet_end=parse_hhmm(quiet.end) if quiet else None,
            switches={(kind, channel): on for kind, row in self.channels.items()
                      for channel, on in row.items()})


def preferences_document(prefs: Preferences) -> dict[str, Any]:
    """The API's JSON of ``prefs``: the default row complete, other rows as set."""
    rows: dict[str, dict[str, bool]] = {
        DEFAULT_ROW: {c: prefs.enabled(DEFAULT_ROW, c) for c in DEFAULT_SWITCHES}}
    for (kind, channel), on in sorted(prefs.switches.items()):
        if kind != DEFAULT_ROW:
            rows.setdefault(kind, {})[channel] = on
    quiet = None
    if prefs.quiet_start is not None and prefs.quiet_end is not None:
        quiet = {"start": format_hhmm(prefs.quiet_start), "end": format_hhmm(prefs.quiet_end)}
    return {"email": prefs.email, "phone": prefs.phone, "timezone": prefs.timezone,
            "quiet_hours": quiet, "channels": rows}
# -- described types ----------------------------------------------------------------
#: Longest label, description and category of a described type.
MAX_TYPE_LABEL, MAX_TYPE_DESCRIPTION, MAX_TYPE_CATEGORY = 80, 300, 40


def _distinct(value: list[str] | None) -> list[str] | None:
    if value is not None and len(set(value)) != len(value):
        raise ValueError("must not name a channel twice")
    return value


class TypeRequest(_Strict):
    """Body of ``PUT /api/v1/types/<type>``: how a notification type is shown and sent."""

    label: visible_line(MAX_TYPE_LABEL) = Field(
        description="What the inbox and the settings page call the type, e.g. "
                    "Security alerts.")
    description: optional_line(MAX_TYPE_DESCRIPTION) = Field(
        "", description="One line the settings page shows under the label.")
    default_channels: Annotated[list[Channel], Field(max_length=len(CHANNELS)),
                                Field(json_schema_extra={"uniqueItems": True}),
                                AfterValidator(_distinct)] | None = Field(
        None, description="The channels on for a user who never set this type's switch "
                          "(the others are off). Null or left out: the type follows the "
                          "user's default row.")
    user_can_disable: bool = Field(
        True, description="False: the channels on by default (in_app when "
                          "default_channels is null) cannot be turned off; preference "
                          "writes that try are refused (422).")
    category: optional_line(MAX_TYPE_CATEGORY) = Field(
        "", description="The heading the settings page lists the type under.")

    def to_info(self, slug: str) -> TypeInfo:
        """The type as stored."""
        channels = self.default_channels
        return TypeInfo(type=slug, label=self.label, description=self.description,
                        default_channels=(tuple(c for c in CHANNELS if c in channels)
                                          if channels is not None else None),
                        user_can_disable=self.user_can_disable, category=self.category)


# -- devices (push targets) ------------------------------------------------------

#: Longest label a device may have.
MAX_DEVICE_LABEL = 100
_FCM_TOKEN = re.compile(r"^[A-Za-z0-9_:.-]{20,1000}$")
_APNS_TOKEN = re.compile(r"^(?:[0-9a-fA-F]{2}){32,100}$")


def _collapse_spaces(value: str) -> str:
    return " ".join(value.split())


DeviceLabel = Annotated[optional_line(MAX_DEVICE_LABEL), AfterValidator(_collapse_spaces)]


class DeviceRequest(_Strict):
    """Body of ``POST /api/v1/users/<user_id>/devices``: a mobile device's push token."""

    platform: Literal["fcm", "apns"] = Field(
        description="fcm: a Firebase Cloud Messaging registration token; apns: an Apple "
                    "Push Notification service device token (hex).")
    token: Annotated[str, Field(min_length=1, max_length=1000)]
    label: DeviceLabel = Field("", description="What the user calls the device, e.g. "
                                               "Pixel 8; at most 100 characters.")

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: str, info: ValidationInfo) -> str:
        platform = info.data.get("platform")
        if platform == "apns" and not _APNS_TOKEN.fullmatch(value):
            raise ValueError("an APNs device token is 64 or more hexadecimal digits")
        if platform == "fcm" and not _FCM_TOKEN.fullmatch(value):
            raise ValueError("an FCM registration token is 20-1000 letters, digits and _ : . -")
        return value.lower() if platform == "apns" else value


def _b64url_bytes(value: str, size: int, what: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", value):
        raise ValueError(f"must be the {what} in URL-safe base64")
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if len(raw) != size or (size == 65 and raw[0] != 4):
        raise ValueError(f"must be the {what} ({size} bytes)")
    return value.rstrip("=")


class WebPushKeys(_Strict):
    """The keys of a browser's push subscription (``PushSubscription.toJSON().keys``)."""

    p256dh: Annotated[str, Field(max_length=200)]
    auth: Annotated[str, Field(max_length=100)]

    @field_validator("p256dh")
    @classmethod
    def _public_key(cls, value: str) -> str:
        return _b64url_bytes(value, 65, "subscription's P-256 public key")

    @field_validator("auth")
    @classmethod
    def _auth(cls, value: str) -> str:
        return _b64url_bytes(value, 16, "subscription's auth secret")


class WebPushSubscription(_Strict):
    """What ``PushSubscription.toJSON()`` gives, as the settings page posts it."""

    endpoint: Annotated[str, Field(min_length=1, max_length=2048)]
    expirationTime: Annotated[int, Field(ge=0)] | None = None  # the browser's own name
    keys: WebPushKeys
