"""The ``/ws`` WebSocket protocol, as pure functions: events out, client messages in.

Events are those of ``GET /events``: the live stream (:class:`notifier.live.stream.LiveStream`)
renders SSE frames, and :class:`EventMessages` turns each event into one text
message ``{"event", "id", "data"}``, the data being the event's JSON as rendered
(embedded, never parsed again). ``id`` is the event's position as an
EventSource would report it (``lastEventId``): an SSE frame carrying only an id
(a notification the filters hide) moves it for the events that follow, so a
client that reconnects with ``?last_event_id=<id>`` resumes exactly where the
SSE client would. Comments (heartbeats) and ``retry:`` hints have no message: the
WebSocket's own pings keep the connection alive, and close codes say when to
come back.

Client messages are JSON text, ``{"type": "ping" | "read" | "read_thread" | "ack",
...}``; each gets one reply ``{"type": ...}`` (``pong``, ``read``, ``ack`` or ``error``),
carrying
back the message's ``ref``, errors included.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, TypeAdapter, ValidationError

from notifier.core.errors import ApiError, field_errors
from notifier.model.requests import ItemId, MarkReadRequest, SeenRequest, Thread, _Strict

#: Largest client message answered (with an error when larger); more than 100 ids fit.
MAX_MESSAGE_CHARS = 16 * 1024
#: Largest client message read at all: past it the socket is closed (1009), as
#: buffering without a bound is not an option.
MAX_FRAME_BYTES = 64 * 1024
#: Ids one ``read`` or ``ack`` message may name.
MAX_IDS = 100

#: Close codes: the token expired (reconnect with a new one) ...
CLOSE_TOKEN_EXPIRED = 4001
#: ... the worker is restarting (reconnect, to another worker) ...
CLOSE_SERVICE_RESTART = 1012
#: ... the store is unreachable, or the client fell behind (reconnect after a wait) ...
CLOSE_TRY_AGAIN_LATER = 1013
#: ... the session or token was revoked (sign in again, or fetch a new token) ...
CLOSE_REVOKED = 4003
#: ... newer streams of the same user took this one's place (reconnect much later).
CLOSE_EVICTED = 4029

#: Longest ``ref`` a client message may carry (and have carried back).
MAX_REF = 64

Ref = Annotated[str, StringConstraints(max_length=MAX_REF)]
Ids = Annotated[list[ItemId], Field(min_length=1, max_length=MAX_IDS)]


class PingMessage(_Strict):
    """``{"type": "ping"}``: answered with ``{"type": "pong"}``."""

    type: Literal["ping"]
    ref: Ref | None = None


class ReadMessage(MarkReadRequest):
    """``{"type": "read", "ids": [...]}`` or ``{"type": "read", "all": true}``: as
    ``POST /api/v1/me/notifications/read``."""

    type: Literal["read"]
    ids: Ids | None = None
    ref: Ref | None = None


class ReadThreadMessage(_Strict):
    """``{"type": "read_thread", "thread": "..."}``: as
    ``POST /api/v1/me/threads/<thread>/read``, answered with a ``read`` reply."""

    type: Literal["read_thread"]
    thread: Thread
    ref: Ref | None = None


class AckMessage(SeenRequest):
    """``{"type": "ack", "ids": [...]}``: the client received these, as
    ``POST /api/v1/me/notifications/seen``."""

    type: Literal["ack"]
    ref: Ref | None = None


ClientMessage = PingMessage | ReadMessage | ReadThreadMessage | AckMessage
_CLIENT_MESSAGE = TypeAdapter(Annotated[ClientMessage, Field(discriminator="type")])
_TYPES = ("ping", "read", "read_thread", "ack")


def parse_client_message(text: str | bytes) -> ClientMessage:
    """A client's message, validated; ApiError with the code, message and field if bad."""
    if isinstance(text, bytes):
        raise ApiError(400, "invalid_message", "Send JSON text messages, not binary ones.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ApiError(413, "too_large",
                       f"A message may be at most {MAX_MESSAGE_CHARS} characters.")
    try:
        return _CLIENT_MESSAGE.validate_json(text)
    except ValidationError as exc:
        raise _client_error(exc) from None


def _client_error(exc: ValidationError) -> ApiError:
    first = exc.errors(include_url=False)[0]
    kind = first["type"]
    if kind == "json_invalid":
        return ApiError(400, "invalid_json", f"The message is not valid JSON: {first['msg']}")
    if kind == "union_tag_not_found":
        return ApiError(422, "invalid_field", "type is required: one of "
                        + ", ".join(_TYPES), "type")
    if kind == "union_tag_invalid":
        return ApiError(422, "unknown_type", "type must be one of " + ", ".join(_TYPES), "type")
    if kind in ("dict_type", "model_type", "model_attributes_type") and not first["loc"]:
        return ApiError(422, "invalid_body", "A message must be a JSON object.")
    # A field's location starts with the message's type (the union's tag); a problem on
    # no field is read's "ids or all" rule.
    errors = field_errors(exc, root_field="ids", drop_loc=1)
    return ApiError(422, errors[0].code, errors[0].message, errors[0].field, errors=errors)


def message_ref(text: str | bytes) -> str | None:
    """The ``ref`` of a message that could not be answered otherwise (when it has one a
    reply may carry back), so that its error reply names it."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    ref = doc.get("ref") if isinstance(doc, dict) else None
    return ref if isinstance(ref, str) and len(ref) <= MAX_REF else None


def reply(type_: str, ref: str | None = None, **fields: Any) -> str:
    """A reply to a client message."""
    doc = {"type": type_, **fields}
    if ref is not None:
        doc["ref"] = ref
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def error_reply(error: ApiError, ref: str | None = None) -> str:
    """The ``error`` reply: ``{"type": "error", "error": {"code", "message", "field"?,
    "errors"?, "retry_after"?}}``."""
    doc = error.to_dict()
    if error.retry_after is not None:
        doc["retry_after"] = error.retry_after
    return reply("error", ref, error=doc)


class EventMessages:
    """One stream's SSE frames as WebSocket text messages, one per event.

    Keeps the stream's last id, as an EventSource does, across chunks.
    """

    def __init__(self) -> None:
        self.last_id: str | None = None

    def messages(self, chunk: bytes) -> list[str]:
        """The messages for a chunk of whole SSE frames (as a LiveStream yields them)."""
        out = []
        for block in chunk.decode().split("\n\n"):
            event = data = None
            for line in block.split("\n"):
                name, _, value = line.partition(": ")
                if name == "id":
                    self.last_id = value
                elif name == "event":
                    event = value
                elif name == "data":
                    data = value if data is None else f"{data}\n{value}"
            if event is not None and data is not None:
                out.append(f'{{"event":"{event}","id":{json.dumps(self.last_id)},'
                           f'"data":{data}}}')
        return out
