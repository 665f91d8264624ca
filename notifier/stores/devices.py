"""A user's push targets: browser subscriptions (web push) and mobile device tokens.

Each user's devices live in one hash (``Keys.devices``): device id -> JSON. The
id is derived from what identifies the device to its push service (the
subscription's endpoint, the FCM or APNs token), so registering the same device
again refreshes it instead of adding a second one. A user keeps at most
``max_devices``; registering one more drops the one registered longest ago
(a browser that stopped being used is the likeliest to be gone).

A device belongs to one user at a time (``Keys.device_owner``): when a second
user signs in on a shared browser or phone and registers it, it leaves the
first user's devices, so their notifications stop showing there. Registering
is two steps (the user's hash, then the owner key, in different slots); when two
users register the same device at the same moment, the later owner write wins.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import redis

from notifier.core.clock import iso_utc
from notifier.core.keys import Keys
from notifier.model.channels import Target
from notifier.stores.lua_scripts import load_script

#: Where a device receives pushes: a browser (web push) or a mobile push service.
PLATFORMS = ("web", "fcm", "apns")
#: The mobile platforms, registered through the API.
MOBILE_PLATFORMS = ("fcm", "apns")
_ID_PREFIX = {"web": "wp", "fcm": "fcm", "apns": "apns"}

#: A device id: platform prefix and 24 hex digits of the SHA-256 of its endpoint or token.
DEVICE_ID_PATTERN = r"^(wp|fcm|apns)_[0-9a-f]{24}$"
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)

#: The channel each platform's devices serve, and the adapter kind of each.
_CHANNEL_PLATFORMS = {"web_push": ("web",), "mobile_push": MOBILE_PLATFORMS}
_KIND = {"web": "webpush", "fcm": "fcm", "apns": "apns"}


def device_id(platform: str, endpoint_or_token: str) -> str:
    """The stable id of the device a push service knows by ``endpoint_or_token``."""
    digest = hashlib.sha256(endpoint_or_token.encode()).hexdigest()[:24]
    return f"{_ID_PREFIX[platform]}_{digest}"


def is_device_id(value: object) -> bool:
    """Whether ``value`` is a well-formed device id."""
    return isinstance(value, str) and _DEVICE_ID.fullmatch(value) is not None


def endpoint_allowed(endpoint: str, allowed_hosts: list[str] | tuple[str, ...]) -> bool:
    """Whether a subscription's endpoint is an https URL on a push service we send to.

    The worker POSTs to whatever endpoint a browser hands over, so an open list
    would let any signed-in user aim the server at internal addresses. A host
    pattern ``*.example.com`` matches any subdomain of ``example.com``.
    """
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host or parts.username or parts.password:
        return False
    for pattern in allowed_hosts:
        pattern = pattern.strip().lower()
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and host != pattern[2:]:
            return True
        if host == pattern:
            return True
    return False


@dataclass(frozen=True)
class Device:
    """One registered device as stored."""

    id: str
    platform: str
    label: str
    created_at: str
    registered_at: str
    #: Web push: the subscription's endpoint and its ``p256dh`` / ``auth`` keys.
    endpoint: str | None = None
    keys: dict[str, str] | None = None
    #: Mobile: the FCM registration token or APNs device token.
    token: str | None = None

    @classmethod
    def from_json(cls, device_id: str, raw: bytes | str) -> Device:
        """The device stored under ``device_id``."""
        data = json.loads(raw)
        return cls(id=device_id, platform=data["platform"], label=data.get("label", ""),
                   created_at=data["created_at"], registered_at=data["registered_at"],
                   endpoint=data.get("endpoint"), keys=data.get("keys"),
                   token=data.get("token"))

    def to_public(self) -> dict[str, Any]:
        """What pages and the API show: never the token or the subscription's keys."""
        shown: dict[str, Any] = {"id": self.id, "platform": self.platform, "label": self.label,
                                 "created_at": self.created_at,
                                 "registered_at": self.registered_at}
        if self.endpoint is not None:
            shown["push_service"] = urlsplit(self.endpoint).hostname or ""
        return shown

    def target(self) -> Target:
        """The delivery target this device is for its adapter."""
        if self.platform == "web":
            address: dict[str, Any] = {"endpoint": self.endpoint, "keys": dict(self.keys or {})}
        else:
            address = {"token": self.token}
        return Target(id=self.id, kind=_KIND[self.platform], address=address)


@dataclass(frozen=True)
class Registered:
    """What registering a device did."""

    device: Device
    #: False when the same device was registered before (it was refreshed).
    created: bool
    #: Devices dropped to keep the user within the cap.
    evicted: tuple[str, ...] = ()
    #: The user this device was registered to before, if another one.
    previous_owner: str | None = None


class Devices:
    """Device storage on one Redis client."""

    def __init__(self, client: redis.Redis, keys: Keys, *, max_devices: int):
        self.client = client
        self.keys = keys
        self.max_devices = max_devices
        self._add = load_script(client, "device_add")
        self._release = load_script(client, "device_release")

    def add_web(self, user_id: str, endpoint: str, keys: dict[str, str],
                label: str = "") -> Registered:
        """Register a browser's push subscription (validated by the caller)."""
        return self._register(user_id, device_id("web", endpoint), {
            "platform": "web", "label": label, "endpoint": endpoint,
            "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}})

    def add_mobile(self, user_id: str, platform: str, token: str, label: str = "") -> Registered:
        """Register an FCM or APNs device token (validated by the caller)."""
        if platform not in MOBILE_PLATFORMS:
            raise ValueError(f"unknown mobile platform {platform!r}")
        return self._register(user_id, device_id(platform, token),
                              {"platform": platform, "label": label, "token": token})

    def _register(self, user_id: str, new_id: str, fields: dict[str, Any]) -> Registered:
        now = iso_utc(datetime.now(UTC))
        result = self._add(keys=[self.keys.devices(user_id)],
                           args=[new_id, json.dumps(fields), now, self.max_devices])
        evicted = tuple(e.decode() for e in result[1:])
        for gone in evicted:
            self._release(keys=[self.keys.device_owner(gone)], args=[user_id])
        previous = self.client.set(self.keys.device_owner(new_id), user_id, get=True)
        previous_owner = previous.decode() if previous is not None else None
        if previous_owner == user_id:
            previous_owner = None
        elif previous_owner is not None:
            self.client.hdel(self.keys.devices(previous_owner), new_id)
        device = Device(id=new_id, created_at=now, registered_at=now, **fields)
        if not result[0]:  # refreshed: it kept its first created_at
            device = self.get(user_id, new_id) or device
        return Registered(device=device, created=bool(result[0]), evicted=evicted,
                          previous_owner=previous_owner)

    def list(self, user_id: str) -> list[Device]:
        """The user's devices, most recently registered first."""
        stored = self.client.hgetall(self.keys.devices(user_id))
        devices = [Device.from_json(k.decode(), v) for k, v in stored.items()]
        return sorted(devices, key=lambda d: (d.registered_at, d.id), reverse=True)

    def get(self, user_id: str, device_id: str) -> Device | None:
        """One of the user's devices, or None."""
        raw = self.client.hget(self.keys.devices(user_id), device_id)
        return None if raw is None else Device.from_json(device_id, raw)

    def remove(self, user_id: str, device_id: str) -> bool:
        """Forget one of the user's devices (after a ``gone`` outcome, or on request)."""
        removed = bool(self.client.hdel(self.keys.devices(user_id), device_id))
        if removed:
            self._release(keys=[self.keys.device_owner(device_id)], args=[user_id])
        return removed

    def targets(self, user_id: str, channel: str) -> list[Target]:
        """Where ``channel`` delivers for the user: one target per device of its platforms."""
        platforms = _CHANNEL_PLATFORMS.get(channel, ())
        return [d.target() for d in self.list(user_id) if d.platform in platforms]
