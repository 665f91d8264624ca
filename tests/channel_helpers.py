"""Messages and notifications as the delivery worker hands them to adapters."""

from __future__ import annotations

import itertools
from typing import Any

from notifier.model.channels import Message

_ids = itertools.count(1)


def notification(title: str = "Build #481 passed", **fields: Any) -> dict[str, Any]:
    """A notification as ``Notification.to_dict()`` gives it."""
    number = next(_ids)
    return {"id": f"1700000000{number:03d}-0", "user_id": "alice", "type": "ci", "title": title,
            "body": "", "data": {}, "priority": "normal", "link": None,
            "created_at": "2026-11-21T12:00:00.000Z", "expires_at": None, "read": False,
            "source": "direct", "group": None, "starts_at": None, "ends_at": None, **fields}


def message(*notes: dict[str, Any], channel: str = "web_push", user_id: str = "alice") -> Message:
    return Message(user_id=user_id, channel=channel, notifications=tuple(notes or
                                                                         (notification(),)))
