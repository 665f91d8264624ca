"""Invite and password-reset links: one-time links that let their holder set an
account's password (and sign in). Admins make them in the console."""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from notifier.core.ids import is_user_id
from notifier.core.keys import Keys
from notifier.stores.one_time_links import OneTimeLinks

#: What a link is for: a new account's first password, or a new one for an account.
PURPOSES = ("invite", "reset")


@dataclass(frozen=True)
class SetPasswordLink:
    """A live set-password link."""

    user_id: str
    purpose: str
    issued_at: int  # epoch ms


class SetPasswordLinks:
    """Set-password links on one Redis client, valid ``ttl`` seconds."""

    def __init__(self, client: redis.Redis, keys: Keys, *, ttl: int):
        self.links = OneTimeLinks(client, keys.set_password_link, ttl=ttl)

    @property
    def ttl(self) -> int:
        """Seconds a link is valid."""
        return self.links.ttl

    def issue(self, user_id: str, purpose: str) -> str:
        """A new link's token for ``user_id``."""
        if not is_user_id(user_id) or purpose not in PURPOSES:
            raise ValueError("invalid user id or purpose")
        return self.links.issue({"user_id": user_id, "purpose": purpose,
                                 "issued_at": int(time.time() * 1000)})

    def peek(self, token: str) -> SetPasswordLink | None:
        """The link, if live, without using it."""
        return _link(self.links.peek(token))

    def consume(self, token: str) -> SetPasswordLink | None:
        """The link, if live; it cannot be used again."""
        return _link(self.links.take(token))


def _link(fields: dict[str, str] | None) -> SetPasswordLink | None:
    if not fields or not is_user_id(fields.get("user_id")):
        return None
    return SetPasswordLink(fields["user_id"], fields.get("purpose", "reset"),
                           int(fields.get("issued_at", 0)))
