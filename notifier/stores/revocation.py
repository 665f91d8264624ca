"""Taking credentials back: a stamp that outdates a user's tokens, and word to every hub.

"Sign out everywhere" and disabling an account stamp the user: widget tokens and
sign-in links issued at or before the stamp are refused from then on (checked each
time one is used), and every worker's hub closes the user's open streams and sockets
at once, through a message on the control channel. Revoking an API key refuses the
tokens it minted and closes their streams the same way. Sessions themselves are
revoked by deleting them (:mod:`notifier.stores.accounts`).

Control messages are JSON objects: ``{"k": "user", "u", "before", "keep"}``,
``{"k": "sessions", "u", "keep"}``, ``{"k": "session", "u", "s"}``, ``{"k": "key",
"key"}`` and ``{"k": "evict", "u", "ids"}`` (:mod:`notifier.stores.stream_caps`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

from notifier.core.clock import now_ms
from notifier.core.keys import Keys
from notifier.core.widget_tokens import MAX_TTL

if TYPE_CHECKING:
    from notifier.core.widget_tokens import WidgetToken

#: How long a stamp is kept, in seconds: past the longest life of anything it outdates.
STAMP_TTL = MAX_TTL + 3600


@dataclass(frozen=True, slots=True)
class Credential:
    """What opened a stream: when it was issued (epoch ms), and the session or API key
    behind it (a widget token names the key that minted it)."""

    issued_at: int
    session: str | None = None
    key_id: str | None = None

    def revoked_by(self, message: dict) -> bool:
        """Whether the control ``message`` takes this credential back."""
        kind = message.get("k")
        if kind == "user":
            keep = message.get("keep")
            return self.issued_at <= message["before"] and (
                self.session is None or self.session != keep)
        if kind == "sessions":
            return self.session is not None and self.session != message.get("keep")
        if kind == "session":
            return self.session is not None and self.session == message.get("s")
        if kind == "key":
            return self.key_id is not None and self.key_id == message.get("key")
        return False


class Revocations:
    """Revocation stamps and control messages on one Redis client."""

    def __init__(self, client: redis.Redis, keys: Keys):
        self.client = client
        self.keys = keys

    def revoke_user(self, user_id: str) -> int:
        """Outdate every token and sign-in link of the user issued until now, and close
        the user's open streams everywhere; the stamp (epoch ms)."""
        stamp = now_ms()
        self.client.set(self.keys.revoked_before(user_id), stamp, ex=STAMP_TTL)
        self._publish({"k": "user", "u": user_id, "before": stamp})
        return stamp

    def end_sessions(self, user_id: str, *, keep: str | None = None) -> None:
        """Close the streams of the user's signed-in sessions, all but ``keep``."""
        self._publish({"k": "sessions", "u": user_id, "keep": keep})

    def end_session(self, user_id: str, session: str) -> None:
        """Close the streams of one signed-out session."""
        self._publish({"k": "session", "u": user_id, "s": session})

    def revoke_key(self, key_id: str) -> None:
        """Close the streams opened with tokens that API key minted."""
        self._publish({"k": "key", "key": key_id})

    def key_changed(self, key_id: str) -> None:
        """Tell every worker to forget its cached copy of a changed key."""
        self._publish({"k": "key_changed", "key": key_id})

    def token_is_live(self, grant: WidgetToken) -> bool:
        """Whether neither a stamp of its user nor its key's revocation outdates ``grant``."""
        return self.is_live(grant.user_id, grant.issued_at, grant.key_id)

    def is_live(self, user_id: str, issued_at: int, key_id: str | None) -> bool:
        """Whether something issued for ``user_id`` at ``issued_at`` (epoch ms) by the API
        key ``key_id`` is outdated neither by a stamp of the user nor by the key's
        revocation (a key that no longer exists counts as revoked)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.keys.revoked_before(user_id))
        if key_id:
            pipe.hget(self.keys.api_key(key_id), "revoked")
        stamp, *key_state = pipe.execute()
        if stamp is not None and issued_at <= int(stamp):
            return False
        return not key_state or key_state[0] == b"0"

    def _publish(self, message: dict) -> None:
        self.client.publish(self.keys.control_channel(), _encode(message))


def _encode(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))
