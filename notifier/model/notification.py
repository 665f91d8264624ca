"""A notification: how it is stored in a user's stream, and the one JSON shape the API,
the pages and the live streams show it in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notifier.core.clock import iso_utc
from notifier.model.requests import NotificationContent


@dataclass(frozen=True)
class Notification:
    """One notification as the API, the pages and the live stream show it."""

    id: str
    user_id: str
    type: str
    title: str
    body: str
    data: dict[str, Any]
    priority: str
    link: str | None
    created_at: str
    expires_at: str | None
    read: bool
    #: ``direct``, ``group`` (sent to a group, named in ``group``) or ``broadcast``.
    source: str = "direct"
    group: str | None = None
    #: The window a broadcast announces (maintenance), else None.
    starts_at: str | None = None
    ends_at: str | None = None
    #: Up to 3 buttons, ``{"label", "url"}``.
    actions: tuple[dict[str, str], ...] = ()
    #: The thread the sender put it in (the inbox shows a thread as one row), or None.
    thread: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON shape."""
        doc = dict(self.__dict__)
        doc["actions"] = list(self.actions)
        return doc

    @classmethod
    def from_stored(cls, user_id: str, id: str, payload: str | bytes, read: bool) -> Notification:
        """Build from a stream entry's payload."""
        return cls.from_document(user_id, id, json.loads(payload), read)

    @classmethod
    def from_document(cls, user_id: str, id: str, doc: dict[str, Any],
                      read: bool) -> Notification:
        """Build from a stored payload already parsed (``doc`` is taken over)."""
        if doc.get("group"):
            doc["source"] = "group"
        if "actions" in doc:
            doc["actions"] = tuple(doc["actions"])
        return cls(id=id, user_id=user_id, read=read, **doc)


def is_expired(expires_at: str | None, at_ms: int) -> bool:
    """Whether a stored ``expires_at`` lies at or before ``at_ms``."""
    if expires_at is None:
        return False
    return datetime.fromisoformat(expires_at).timestamp() * 1000 <= at_ms


def encode_content(content: NotificationContent, created_at: str,
                   group: str | None = None) -> tuple[str, str]:
    """The stored JSON payload of ``content`` and its expiry score for the unread set."""
    expires = content.expires_at
    doc = {
        "type": content.type,
        "title": content.title,
        "body": content.body,
        "data": content.data,
        "priority": content.priority,
        "link": content.link,
        "created_at": created_at,
        "expires_at": iso_utc(expires) if expires else None,
    }
    if group:
        doc["group"] = group
    if content.actions:  # stored only when there are some
        doc["actions"] = [action.model_dump() for action in content.actions]
    if content.thread:
        doc["thread"] = content.thread
    score = str(int(expires.timestamp() * 1000)) if expires else "+inf"
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False), score
