"""One-time link tokens: random, stored only as a SHA-256 digest, taken once.

A link's fields live in a Redis hash named by the digest of its token and expire
with it. Taking a link reads and deletes that hash in one MULTI/EXEC, so when two
requests race with the same token exactly one of them gets the fields.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable

import redis

#: What :func:`secrets.token_urlsafe` (32 bytes) makes; anything else is never looked up.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


class OneTimeLinks:
    """Tokens whose fields are kept under ``key(sha256(token))`` for ``ttl`` seconds."""

    def __init__(self, client: redis.Redis, key: Callable[[str], str], *, ttl: int):
        self.client = client
        self.key = key
        self.ttl = ttl

    def issue(self, fields: dict[str, str | int]) -> str:
        """Store ``fields`` under a new token and return the token."""
        token = secrets.token_urlsafe(32)
        pipe = self.client.pipeline(transaction=True)  # one key: a MULTI on a cluster too
        pipe.hset(self._name(token), mapping=fields)
        pipe.expire(self._name(token), self.ttl)
        pipe.execute()
        return token

    def peek(self, token: str) -> dict[str, str] | None:
        """The fields of a live token, leaving it usable."""
        if not _TOKEN.fullmatch(token):
            return None
        return _decode(self.client.hgetall(self._name(token)))

    def take(self, token: str) -> dict[str, str] | None:
        """The fields of a live token, which is gone from then on."""
        if not _TOKEN.fullmatch(token):
            return None
        pipe = self.client.pipeline(transaction=True)  # MULTI/EXEC: read and delete as one
        pipe.hgetall(self._name(token))
        pipe.delete(self._name(token))
        fields, _ = pipe.execute()
        return _decode(fields)

    def _name(self, token: str) -> str:
        return self.key(hashlib.sha256(token.encode()).hexdigest())


def _decode(fields: dict[bytes, bytes]) -> dict[str, str] | None:
    return {k.decode(): v.decode() for k, v in fields.items()} or None
