"""Sign-in links: minted by a host application through the API, each signs one user
in once, within ``SIGN_IN_LINK_TTL`` seconds.

Every check a link must pass when it is used belongs in :meth:`SignInLinks.consume`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from notifier.core.ids import is_user_id
from notifier.core.keys import Keys
from notifier.stores.one_time_links import OneTimeLinks
from notifier.stores.revocation import Revocations


@dataclass(frozen=True)
class SignInLink:
    """A sign-in link that was live when it was consumed."""

    user_id: str
    next: str  # a local path, or "" for the inbox
    issued_at: int  # epoch ms
    key_id: str | None = None  # the API key that minted it


class SignInLinks:
    """Sign-in links on one Redis client, valid ``ttl`` seconds."""

    def __init__(self, client: redis.Redis, keys: Keys, *, ttl: int,
                 revocations: Revocations | None = None):
        self.links = OneTimeLinks(client, keys.sign_in_link, ttl=ttl)
        self.revocations = revocations or Revocations(client, keys)

    @property
    def ttl(self) -> int:
        """Seconds a link is valid."""
        return self.links.ttl

    def mint(self, user_id: str, next_path: str = "", *,
             key_id: str | None = None) -> tuple[str, float]:
        """A new link's token for ``user_id``, minted by the API key ``key_id``, and when it
        expires (epoch seconds)."""
        if not is_user_id(user_id):
            raise ValueError("invalid user id")
        now = time.time()
        token = self.links.issue({"user_id": user_id, "next": next_path,
                                  "issued_at": int(now * 1000), "key_id": key_id or ""})
        return token, now + self.ttl

    def consume(self, token: str) -> SignInLink | None:
        """The link behind ``token`` if it is live; it cannot be used again either way.

        A link is dead once used, expired, issued before its user signed out
        everywhere (or was disabled), or minted by an API key revoked since.
        """
        fields = self.links.take(token)
        if not fields or not is_user_id(fields.get("user_id")):
            return None
        link = SignInLink(fields["user_id"], fields.get("next", ""),
                          int(fields.get("issued_at", 0)), fields.get("key_id") or None)
        if not self.revocations.is_live(link.user_id, link.issued_at, link.key_id):
            return None
        return link
