"""Apple Push Notification service: HTTP/2 with token-based authentication.

Each request carries a JWT (ES256, signed with the team's ``.p8`` key, ``kid`` =
key id, ``iss`` = team id). Apple wants it refreshed at most every 20 minutes and
at least every 60, so one token is reused for ``TOKEN_LIFETIME`` and then made
anew. One HTTP/2 connection carries every request (httpx with h2), as Apple asks.

410 Unregistered and 400 BadDeviceToken -> gone; 429 TooManyRequests and 5xx ->
retry; 403 ExpiredProviderToken -> retry with a new token; anything else -> failed
(DeviceTokenNotForTopic too: it means a wrong APNS_TOPIC as often as a bad token,
and removing every device for a configuration mistake would lose them all).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import jwt

from notifier.delivery.channels import PROVIDERS
from notifier.delivery.channels.retry import parse_retry_after
from notifier.delivery.channels.settings import inbox_url, text_setting
from notifier.delivery.channels.summary import shorten, summarize
from notifier.model.channels import Message, Outcome, Target

log = logging.getLogger(__name__)

#: Seconds one provider token is used before a new one is signed (Apple: 20-60 min).
TOKEN_LIFETIME = 50 * 60
_DEVICE_TOKEN = re.compile(r"^[0-9a-fA-F]{64,200}$")
_GONE_REASONS = {"BadDeviceToken", "Unregistered"}


def apns_payload(message: Message, inbox: str) -> dict[str, Any]:
    """The JSON body: the alert the system shows, and what the app needs on a tap."""
    shown = summarize(message, inbox)
    aps: dict[str, Any] = {"alert": {"title": shorten(shown.title, 200),
                                     "body": shorten(shown.body, 1000)},
                           "thread-id": shown.type}
    if shown.priority in ("high", "urgent"):
        aps["sound"] = "default"
    if shown.priority == "urgent":
        aps["interruption-level"] = "time-sensitive"
    return {"aps": aps, "notification_id": shown.id, "type": shown.type, "url": shown.url,
            "count": shown.count}


def outcome_for(status: int, body: bytes, apns_id: str, retry_after: str | None) -> Outcome:
    """How an APNs answer counts (pure; tested directly)."""
    if status == 200:
        return Outcome("accepted", apns_id)
    try:
        reason = str(json.loads(body or b"{}").get("reason", ""))
    except (ValueError, AttributeError):
        reason = ""
    detail = f"{status} {reason}".strip()
    if status == 410 or (status == 400 and reason in _GONE_REASONS):
        return Outcome("gone", detail)
    if status == 429 or status >= 500 or reason == "ExpiredProviderToken":
        return Outcome("retry", detail, parse_retry_after(retry_after))
    return Outcome("failed", detail)


class ApnsAdapter:
    """Sends notifications to iOS devices of one app (``topic``)."""

    kind = "apns"

    def __init__(self, signing_key: str, key_id: str, team_id: str, topic: str, *,
                 inbox_url: str, endpoint: str = "https://api.push.apple.com",
                 timeout: float = 10.0):
        self.signing_key = signing_key
        self.key_id, self.team_id, self.topic = key_id, team_id, topic
        self.endpoint = endpoint.rstrip("/")
        self.inbox_url = inbox_url
        self.client = httpx.Client(http1=False, http2=True, timeout=timeout)
        self._token: tuple[float, str] | None = None
        self._lock = threading.Lock()
        jwt.encode({"iss": team_id, "iat": 0}, signing_key, algorithm="ES256")  # fail early

    def provider_token(self) -> str:
        """The current JWT, signed anew every ``TOKEN_LIFETIME`` seconds."""
        now = time.time()
        with self._lock:
            if self._token is None or now - self._token[0] >= TOKEN_LIFETIME:
                token = jwt.encode({"iss": self.team_id, "iat": int(now)}, self.signing_key,
                                   algorithm="ES256", headers={"kid": self.key_id})
                self._token = (now, token)
            return self._token[1]

    def _forget_token(self, token: str) -> None:
        with self._lock:
            if self._token is not None and self._token[1] == token:
                self._token = None

    def send(self, message: Message, target: Target) -> Outcome:
        """POST the alert to ``/3/device/<token>``."""
        device = str(target.address.get("token") or "")
        if not _DEVICE_TOKEN.fullmatch(device):
            return Outcome("gone", "malformed device token")
        shown = summarize(message, self.inbox_url)
        token = self.provider_token()
        headers = {"authorization": f"bearer {token}", "apns-topic": self.topic,
                   "apns-push-type": "alert",
                   "apns-priority": "10" if shown.priority != "low" else "5",
                   "apns-collapse-id": shown.tag[:64]}
        try:
            response = self.client.post(f"{self.endpoint}/3/device/{device}", headers=headers,
                                        content=json.dumps(apns_payload(message,
                                                                        self.inbox_url)))
        except httpx.HTTPError as exc:
            return Outcome("retry", f"APNs unreachable: {type(exc).__name__}: {exc}")
        outcome = outcome_for(response.status_code, response.content,
                              response.headers.get("apns-id", ""),
                              response.headers.get("retry-after"))
        if "ProviderToken" in outcome.detail:
            self._forget_token(token)
        return outcome

    def close(self) -> None:
        """Close the HTTP/2 connection."""
        self.client.close()


def from_config(config: Mapping[str, Any], instance_path: str) -> ApnsAdapter | None:
    """The adapter, or None while none of the APNS_* settings is given."""
    values = {name: text_setting(config, name) for name in PROVIDERS["apns"][1]}
    if not any(values.values()):
        return None
    missing = [f"NOTIFIER_{name}" for name, value in values.items() if not value]
    if missing:
        raise ValueError(f"APNs needs {', '.join(missing)} as well")
    return ApnsAdapter(Path(values["APNS_KEY_PATH"]).read_text(), values["APNS_KEY_ID"],
                       values["APNS_TEAM_ID"], values["APNS_TOPIC"],
                       inbox_url=inbox_url(config),
                       endpoint=str(config.get("APNS_ENDPOINT") or "https://api.push.apple.com"),
                       timeout=float(config.get("PROVIDER_TIMEOUT", 10)))
