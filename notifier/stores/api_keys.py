"""API keys with which services call the HTTP API.

A key reads ``nk_<key id>_<secret>``. Only the SHA-256 digest of the secret is
stored: the secret is 32 random bytes, so a fast hash is as safe as a slow KDF
here and keeps every API request cheap.

A verified key is remembered in the process for ``cache_seconds`` (5 s by
default), which saves a Redis round trip on every API call; a revoked key
therefore stops working within that time. When a key is last used is recorded to
the minute: at most one write per key per minute, never on a cached call.

Each key has an allow-list of web origins (``origins``, a JSON list in its hash):
the sites whose pages may use the widget tokens the key mints. A key with an
empty list mints tokens for the service's own origin only.

Each key also has scopes (``scopes``, space-separated in its hash): ``send``,
``read``, ``manage`` and ``widget`` (:mod:`notifier.api.scopes` says which routes
each opens). A key stored without the field has every scope.

Revoking a key, or changing its scopes or origins, is published on the control
channel: every worker with a hub forgets its cached copy at once, and the open
streams of the tokens a revoked key minted close (:mod:`notifier.stores.revocation`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass

import redis

from notifier.core.keys import Keys
from notifier.stores.revocation import Revocations

_KEY = re.compile(r"^nk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")

#: How precisely ``last_used_at`` is kept, in seconds.
LAST_USED_PRECISION = 60

#: How long a create form's request id is remembered, in seconds.
REQUEST_ID_TTL = 24 * 3600

#: What a key may be allowed to do; a new key gets every scope unless told otherwise.
SCOPES = ("send", "read", "manage", "widget")


def parse_scopes(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The scopes named (in their canonical order); ValueError naming an unknown one or
    when none is named."""
    unknown = [v for v in values if v not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r} (scopes: {', '.join(SCOPES)})")
    if not values:
        raise ValueError("a key needs at least one scope")
    return tuple(s for s in SCOPES if s in values)


@dataclass(frozen=True)
class ApiKey:
    """A stored key's public facts."""

    key_id: str
    name: str
    created_at: float
    revoked: bool
    last_used_at: float | None = None
    created_by: str | None = None
    #: Origins whose pages may use the widget tokens this key mints.
    origins: tuple[str, ...] = ()
    #: What the key may do (``SCOPES``).
    scopes: tuple[str, ...] = SCOPES


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeys:
    """API key storage on one Redis client."""

    def __init__(self, client: redis.Redis, keys: Keys, *, cache_seconds: float = 5.0,
                 revocations: Revocations | None = None):
        self.client = client
        self.keys = keys
        self.cache_seconds = cache_seconds
        self.revocations = revocations or Revocations(client, keys)
        self._verified: dict[str, tuple[float, ApiKey]] = {}
        self._all_origins: tuple[float, frozenset[str]] | None = None

    def create(self, name: str, *, created_by: str | None = None,
               key_id: str | None = None,
               origins: tuple[str, ...] | list[str] = (),
               scopes: tuple[str, ...] | list[str] = SCOPES) -> tuple[ApiKey, str]:
        """A new key and its full secret value, which is not kept.

        ``origins`` must be parsed already (:func:`notifier.core.origins.parse_origins`),
        ``scopes`` too (:func:`parse_scopes`).
        """
        key_id = key_id or secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = time.time()
        fields = {"name": name, "digest": _digest(secret), "created_at": now, "revoked": 0}
        if created_by:
            fields["created_by"] = created_by
        if origins:
            fields["origins"] = json.dumps(list(origins))
        fields["scopes"] = " ".join(scopes)
        # Not one transaction: the hash and the index may live on different cluster
        # shards. The hash goes first, so a key in the index always has its fields.
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.keys.api_key(key_id), mapping=fields)
        pipe.zadd(self.keys.api_keys(), {key_id: now})
        pipe.execute()
        self._all_origins = None
        return (ApiKey(key_id, name, now, False, created_by=created_by, origins=tuple(origins),
                       scopes=tuple(scopes)), f"nk_{key_id}_{secret}")

    def set_origins(self, key_id: str, origins: tuple[str, ...] | list[str]) -> bool:
        """Replace a key's allowed origins (parsed already); False when there is no such key.

        Other workers see the change within ``cache_seconds``; tokens minted
        before it keep the origins they carry until they expire.
        """
        if not _KEY_ID.fullmatch(key_id):
            return False
        key = self.keys.api_key(key_id)
        if not self.client.exists(key):
            return False
        if origins:
            self.client.hset(key, "origins", json.dumps(list(origins)))
        else:
            self.client.hdel(key, "origins")
        self._changed(key_id)
        return True

    def set_scopes(self, key_id: str, scopes: tuple[str, ...] | list[str]) -> bool:
        """Replace a key's scopes (parsed already); False when there is no such key.

        Every worker with a hub forgets its cached copy at once; tokens the key
        minted before keep working until they expire.
        """
        if not _KEY_ID.fullmatch(key_id):
            return False
        key = self.keys.api_key(key_id)
        if not self.client.exists(key):
            return False
        self.client.hset(key, "scopes", " ".join(scopes))
        self._changed(key_id)
        return True

    def on_control(self, message: dict) -> None:
        """Forget a key another process changed or revoked (a hub's control listener)."""
        if message.get("k") in ("key", "key_changed"):
            self._forget(str(message.get("key")))

    def _changed(self, key_id: str) -> None:
        self._forget(key_id)
        self.revocations.key_changed(key_id)

    def _forget(self, key_id: str) -> None:
        self._verified = {k: v for k, v in self._verified.items() if v[1].key_id != key_id}
        self._all_origins = None

    def allowed_origins(self) -> frozenset[str]:
        """Every origin some live key allows (what a CORS preflight may be answered for),
        remembered for ``cache_seconds``."""
        cached = self._all_origins
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        found = frozenset(o for key in self.list() if not key.revoked for o in key.origins)
        if self.cache_seconds > 0:
            self._all_origins = (time.monotonic() + self.cache_seconds, found)
        return found

    def create_once(self, request_id: str, name: str, *, created_by: str | None = None,
                    scopes: tuple[str, ...] | list[str] = SCOPES,
                    ) -> tuple[ApiKey, str] | None:
        """Like :meth:`create`, but None when ``request_id`` already made a key: a form
        submitted twice (reload, back button) makes one key, whose secret is never
        shown again."""
        key_id = secrets.token_hex(8)
        claimed = self.client.set(self.keys.api_key_request(request_id), key_id,
                                  nx=True, ex=REQUEST_ID_TTL)
        if not claimed:
            return None
        return self.create(name, created_by=created_by, key_id=key_id, scopes=scopes)

    def get(self, key_id: str) -> ApiKey | None:
        """The key with id ``key_id``, revoked or not."""
        if not _KEY_ID.fullmatch(key_id):
            return None
        fields = self.client.hgetall(self.keys.api_key(key_id))
        return self._from_hash(key_id, fields) if fields else None

    def verify(self, presented: str) -> ApiKey | None:
        """The live key matching ``presented``, else None."""
        cached = self._verified.get(presented)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        match = _KEY.fullmatch(presented)
        if match is None:
            return None
        key_id, secret = match.groups()
        fields = self.client.hgetall(self.keys.api_key(key_id))
        if not fields or fields[b"revoked"] == b"1":
            return None
        if not hmac.compare_digest(fields[b"digest"].decode(), _digest(secret)):
            return None
        key = self._from_hash(key_id, fields)
        now = time.time()
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_PRECISION:
            self.client.hset(self.keys.api_key(key_id), "last_used_at", now)
        if self.cache_seconds > 0:
            if len(self._verified) > 10_000:  # bound memory under a flood of distinct keys
                self._verified.clear()
            self._verified[presented] = (time.monotonic() + self.cache_seconds, key)
        return key

    def list(self) -> list[ApiKey]:
        """Every key, oldest first, revoked ones included."""
        ids = [i.decode() for i in self.client.zrange(self.keys.api_keys(), 0, -1)]
        pipe = self.client.pipeline(transaction=False)
        for key_id in ids:
            pipe.hgetall(self.keys.api_key(key_id))
        return [self._from_hash(i, f) for i, f in zip(ids, pipe.execute(), strict=True) if f]

    def revoke(self, key_id: str) -> bool:
        """Revoke a key; False when there is no such key."""
        if not _KEY_ID.fullmatch(key_id):
            return False
        key = self.keys.api_key(key_id)
        if not self.client.exists(key):
            return False
        self.client.hset(key, "revoked", 1)
        self._forget(key_id)
        self.revocations.revoke_key(key_id)
        return True

    @staticmethod
    def _from_hash(key_id: str, fields: dict) -> ApiKey:
        return ApiKey(
            key_id=key_id,
            name=fields[b"name"].decode(),
            created_at=float(fields[b"created_at"]),
            revoked=fields[b"revoked"] == b"1",
            last_used_at=float(fields[b"last_used_at"]) if b"last_used_at" in fields else None,
            created_by=fields[b"created_by"].decode() if b"created_by" in fields else None,
            origins=tuple(json.loads(fields[b"origins"])) if b"origins" in fields else (),
            scopes=tuple(fields[b"scopes"].decode().split()) if b"scopes" in fields else SCOPES,
        )
