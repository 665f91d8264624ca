"""A web push service (RFC 8030) over https that checks what a real one checks.

It verifies the VAPID token (RFC 8292: ES256 signature by the key in ``k``, the
audience, expiry and subject, and that ``k`` is the key the subscription was
made with), requires ``aes128gcm``, a TTL and an Urgency it knows, and DECRYPTS
each message with the subscription's private key and auth secret (RFC 8291,
http_ece), so tests read what the browser would read.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .http_peer import Answer, HttpPeer, Request
from .tls import TlsFiles


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscription:
    id: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: str
    endpoint: str

    def info(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` gives a page."""
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64(public), "auth": b64(self.auth)}}


@dataclass
class Delivered:
    subscription: str
    payload: dict[str, Any]
    ttl: int
    urgency: str
    vapid_claims: dict[str, Any]
    vapid_token: str


class PushService(HttpPeer):
    def __init__(self, tls: TlsFiles):
        super().__init__(tls)
        self.subscriptions: dict[str, Subscription] = {}
        self.expired: set[str] = set()
        self.delivered: list[Delivered] = []
        self.rejected: list[str] = []
        self._ids = itertools.count(1)

    def subscribe(self, application_server_key: str) -> Subscription:
        """What a browser gets from ``pushManager.subscribe`` with this VAPID key."""
        sub_id = b64(os.urandom(12))
        sub = Subscription(sub_id, ec.generate_private_key(ec.SECP256R1()), os.urandom(16),
                           application_server_key, f"{self.url}/push/{sub_id}")
        self.subscriptions[sub_id] = sub
        return sub

    def _reject(self, status: int, why: str) -> Answer:
        self.rejected.append(why)
        return Answer(status, {"Content-Type": "application/json"},
                      json.dumps({"code": status, "errno": 109, "error": why}).encode())

    def answer(self, request: Request) -> Answer:
        path = urlsplit(request.path).path
        if request.method != "POST" or not path.startswith("/push/"):
            return self._reject(404, "no such resource")
        sub_id = path.removeprefix("/push/")
        if sub_id in self.expired:
            return self._reject(410, "subscription expired")
        sub = self.subscriptions.get(sub_id)
        if sub is None:
            return self._reject(404, "no such subscription")
        scheme, _, params = request.headers.get("authorization", "").partition(" ")
        fields = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        if scheme.lower() != "vapid" or "t" not in fields or "k" not in fields:
            return self._reject(401, "missing VAPID authorization")
        if fields["k"] != sub.application_server_key:
            return self._reject(403, "VAPID key differs from the subscription's")
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(fields["k"]))
        try:
            claims = jwt.decode(fields["t"], key, algorithms=["ES256"], audience=self.url,
                                options={"require": ["aud", "exp", "sub"]})
        except jwt.InvalidTokenError as exc:
            return self._reject(401, f"bad VAPID token: {exc}")
        if claims["exp"] > time.time() + 24 * 3600:
            return self._reject(401, "VAPID token expires more than 24 h ahead")
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            return self._reject(401, "VAPID subject must be mailto: or https:")
        if request.headers.get("content-encoding") != "aes128gcm":
            return self._reject(400, "Content-Encoding must be aes128gcm")
        ttl = request.headers.get("ttl", "")
        if not ttl.isdigit():
            return self._reject(400, "TTL header missing")
        urgency = request.headers.get("urgency", "normal")
        if urgency not in ("very-low", "low", "normal", "high"):
            return self._reject(400, "unknown Urgency")
        if len(request.body) > 4096:
            return self._reject(413, "payload too large")
        try:
            plain = http_ece.decrypt(request.body, private_key=sub.private_key,
                                     auth_secret=sub.auth, version="aes128gcm")
        except Exception as exc:  # noqa: BLE001 - any decryption failure is a bad request
            return self._reject(400, f"cannot decrypt: {exc!r}")
        self.delivered.append(Delivered(sub_id, json.loads(plain), int(ttl), urgency, claims,
                                        fields["t"]))
        location = f"{self.url}/m/{next(self._ids)}"
        return Answer(201, {"Location": location})
