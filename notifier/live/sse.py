"""The Server-Sent Events wire format, rendered by pure functions.

Every frame the service sends goes through :func:`frame`. Event names and ids
are chosen by the server and checked here; data is JSON, which never contains
a raw line break, and is split on line breaks anyway, so no value a sender
controls can end a field or forge an event.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Event names this service sends (the protocol: docs/protocols.md).
EVENTS = frozenset({"notification", "broadcast", "unread", "read", "deleted", "archived",
                    "restored", "snoozed", "reset",
                    "expired", "revoked", "evicted",
                    # the admin console's stream (notifier.admin.events)
                    "stats", "presence"})

_SAFE_FIELD = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def frame(*, event: str | None = None, data: str | None = None, id: str | None = None,
          retry: int | None = None) -> bytes:
    """One SSE message, ending with the blank line that dispatches it."""
    lines = []
    if id is not None:
        if not _SAFE_FIELD.match(id):
            raise ValueError(f"unsafe SSE id: {id!r}")
        lines.append(f"id: {id}")
    if event is not None:
        if event not in EVENTS:
            raise ValueError(f"unknown SSE event: {event!r}")
        lines.append(f"event: {event}")
    if retry is not None:
        lines.append(f"retry: {int(retry)}")
    if data is not None:
        lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
    return ("\n".join(lines) + "\n\n").encode()


def json_frame(event: str, payload: Any, *, id: str | None = None) -> bytes:
    """An event whose data is ``payload`` as compact JSON."""
    return frame(event=event, id=id,
                 data=json.dumps(payload, separators=(",", ":"), ensure_ascii=False))


def comment(text: str = "") -> bytes:
    """A comment line (ignored by clients; keeps proxies from timing out)."""
    return f": {_LINE_BREAK.sub(' ', text)}\n\n".encode()


def with_id(id: str, event: bytes) -> bytes:
    """``event`` (a frame rendered without an id) carrying ``id``.

    A broadcast is rendered once for every stream; only its id, which holds
    each stream's own position, is added per stream.
    """
    if not _SAFE_FIELD.match(id):
        raise ValueError(f"unsafe SSE id: {id!r}")
    return b"id: " + id.encode() + b"\n" + event


def unread_frame(count: int) -> bytes:
    """The ``unread`` event carrying ``count``."""
    return b'event: unread\ndata: {"unread":%d}\n\n' % count
