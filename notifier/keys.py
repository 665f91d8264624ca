"""Every Redis key and channel name the service uses, built in one place.

Per-user names carry the Redis Cluster hash tag ``{u:<user_id>}`` so that all
of one user's keys (inbox stream, unread set, account, sessions) and the user's
Pub/Sub channel live in the same slot: a Lua script may touch several of them,
and sharded Pub/Sub (SPUBLISH) routes the channel to the shard holding them.

User ids are validated (``notifier.ids``) before any name is built, and they
cannot contain ``{``, ``}``, ``*``, ``?`` or ``[``, so they never break a hash
tag or act as a pattern.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    """Key and channel names under one configurable prefix."""

    prefix: str = "notifier"

    # -- per user ---------------------------------------------------------
    def _user(self, user_id: str, suffix: str) -> str:
        return f"{self.prefix}:{{u:{user_id}}}:{suffix}"

    def inbox(self, user_id: str) -> str:
        """Stream of the user's notifications; entry id = notification id."""
        return self._user(user_id, "inbox")

    def unread(self, user_id: str) -> str:
        """Sorted set of unread notification ids scored by expiry (ms, or +inf)."""
        return self._user(user_id, "unread")

    def trimmed(self, user_id: str) -> str:
        """Id of the newest entry trimmed from the inbox: older cursors cannot resume."""
        return self._user(user_id, "trimmed")

    def user_channel(self, user_id: str) -> str:
        """Pub/Sub channel carrying the user's live events."""
        return self._user(user_id, "events")

    def account(self, user_id: str) -> str:
        """Hash of the account whose username is ``user_id``."""
        return self._user(user_id, "account")

    def sessions(self, user_id: str) -> str:
        """Sorted set of the account's live session tokens scored by creation time."""
        return self._user(user_id, "sessions")

    # -- global -----------------------------------------------------------
    def accounts(self) -> str:
        """Sorted set of all account usernames scored by creation time."""
        return f"{self.prefix}:accounts"

    def api_key(self, key_id: str) -> str:
        """Hash of one API key (its secret only as a SHA-256 digest)."""
        return f"{self.prefix}:apikey:{key_id}"

    def api_keys(self) -> str:
        """Sorted set of API key ids scored by creation time."""
        return f"{self.prefix}:apikeys"

    def idempotency(self, scope: str, idempotency_key: str) -> str:
        """The stored outcome of a send made with ``idempotency_key`` by ``scope``.

        The sender's key is hashed so any printable string of up to 255
        characters makes a short, safe key name.
        """
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        return f"{self.prefix}:idem:{scope}:{digest}"

    def hub_channel(self) -> str:
        """Channel every worker's hub is subscribed to for as long as it is connected."""
        return f"{self.prefix}:hub"

    def rate_limit_prefix(self) -> str:
        """Prefix under which Flask-Limiter keeps its counters."""
        return f"{self.prefix}:rl"
