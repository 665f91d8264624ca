"""What a push notification shows for a message: one notification, or a digest of several."""

from __future__ import annotations

from dataclasses import dataclass

from notifier.model.channels import Message

#: Priorities from lowest to highest.
PRIORITY_ORDER = ("low", "normal", "high", "urgent")


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis; empty below two."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…" if limit >= 2 else ""


@dataclass(frozen=True)
class Summary:
    """Title, text and target of the notification a device shows."""

    title: str
    body: str
    #: Where a tap leads: the notification's link, else the inbox.
    url: str
    #: Groups notifications on the device: the notification id, or ``digest``.
    tag: str
    priority: str
    count: int
    #: The newest notification's id, type and creation time.
    id: str
    type: str
    created_at: str


def summarize(message: Message, inbox_url: str) -> Summary:
    """The notification, or for a digest its count and the titles, newest first."""
    notes = message.notifications
    latest = notes[-1]
    priority = max((n["priority"] for n in notes), key=PRIORITY_ORDER.index)
    if message.is_digest:
        return Summary(f"{len(notes)} new notifications",
                       "\n".join(n["title"] for n in reversed(notes)), inbox_url, "digest",
                       priority, len(notes), latest["id"], latest["type"], latest["created_at"])
    return Summary(latest["title"], latest.get("body") or "", latest.get("link") or inbox_url,
                   latest["id"], priority, 1, latest["id"], latest["type"], latest["created_at"])
