"""Receipts: when a user first saw, read and clicked each of their notifications.

``seen_at`` is the first time a client acknowledged a notification it received
(the JS client acks on delivery, over WebSocket or the widget API) or a page
showed it; ``read_at`` is written by the read path itself
(:meth:`notifier.stores.inbox.Inbox.mark_read`, in the same script); ``clicked_at`` is
the first click on its link or one of its actions, and ``clicked`` names which.
Each is kept from its first time on. Broadcasts have no per-user receipts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import redis

from notifier.core.ids import is_notification_id
from notifier.core.keys import Keys
from notifier.stores.lua_scripts import load_script

#: The receipt fields, as the API names them.
FIELDS = ("seen_at", "read_at", "clicked_at")


def _iso(value: bytes | None) -> str | None:
    if value is None:
        return None
    moment = datetime.fromtimestamp(int(value) / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Receipts:
    """Receipts of users' notifications on one Redis client under one key scheme."""

    def __init__(self, client: redis.Redis, keys: Keys, *, ttl_seconds: int):
        self.client = client
        self.keys = keys
        self.ttl = int(ttl_seconds)
        self._mark = load_script(client, "receipt_mark")

    def seen(self, user_id: str, ids: Iterable[str], *, at_ms: int | None = None) -> list[str]:
        """Record that ``ids`` were seen; the ids seen for the first time.

        Ids that are not the user's (or no longer in their inbox) are skipped, and
        so are broadcast ids.
        """
        wanted = list(dict.fromkeys(i for i in ids if is_notification_id(i)))
        if not wanted:
            return []
        return self._run(user_id, "seen_at", wanted, at_ms=at_ms)

    def clicked(self, user_id: str, notification_id: str, target: str, *,
                at_ms: int | None = None) -> bool:
        """Record a click on the notification's ``link`` or action ``"0"``-``"2"``; whether
        it was the first."""
        if not is_notification_id(notification_id):
            return False
        return bool(self._run(user_id, "clicked_at", [notification_id],
                              detail=("clicked", target), at_ms=at_ms))

    def get(self, user_id: str, notification_id: str) -> dict[str, Any]:
        """The notification's receipts as ISO times (None where it has not happened)."""
        stored = self.client.hgetall(self.keys.receipts(user_id, notification_id))
        doc: dict[str, Any] = {name: _iso(stored.get(name.encode())) for name in FIELDS}
        clicked = stored.get(b"clicked")
        doc["clicked"] = clicked.decode() if clicked is not None else None
        return doc

    def _run(self, user_id: str, field: str, ids: list[str], *,
             detail: tuple[str, str] = ("", ""), at_ms: int | None = None) -> list[str]:
        now = at_ms if at_ms is not None else int(datetime.now(UTC).timestamp() * 1000)
        args = [field, now, self.ttl, self.keys.receipts(user_id, ""), *detail, *ids]
        marked = self._mark(keys=[self.keys.inbox(user_id)], args=args)
        return [m.decode() if isinstance(m, bytes) else m for m in marked]
