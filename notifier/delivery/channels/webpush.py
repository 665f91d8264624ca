"""Web Push (RFC 8030/8291/8292): browser notifications through each browser's push service.

The payload is the notification as JSON, encrypted for the subscription
(``aes128gcm``, by pywebpush and http_ece), and signed for with this server's
VAPID key (py-vapid), which is made on first use and kept in the instance folder
(``vapid_private.pem``, mode 0600). The page subscribes with its public half.

Push services answer 201; 404/410 mean the subscription is gone; 429 and 5xx are
retried (after Retry-After when given); 400, 413 and other errors fail the message.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

import requests
from py_vapid import Vapid, VapidException
from pywebpush import WebPusher, WebPushException

from notifier.delivery.channels import is_configured
from notifier.delivery.channels.retry import parse_retry_after
from notifier.delivery.channels.settings import inbox_url, text_setting
from notifier.delivery.channels.summary import shorten, summarize
from notifier.delivery.channels.vapid import check_subject, load_vapid
from notifier.model.channels import Message, Outcome, Target
from notifier.stores.clicks import click_token

log = logging.getLogger(__name__)

#: Largest payload before encryption, in bytes. Push services take 4096-byte bodies;
#: aes128gcm adds 86 bytes of header and 17 per record, so this leaves room to spare.
MAX_PAYLOAD = 3072

#: How long one VAPID token is reused for a push service, and how long it is valid.
_VAPID_REUSE = 3600
_VAPID_LIFETIME = 12 * 3600

#: RFC 8030 Urgency for each notification priority.
URGENCY = {"low": "low", "normal": "normal", "high": "high", "urgent": "high"}


def _encode(shown: dict[str, Any]) -> bytes:
    return json.dumps(shown, ensure_ascii=False, separators=(",", ":")).encode()


def payload(message: Message, inbox_url: str, click_url: str | None = None) -> bytes:
    """What the service worker receives: JSON it shows as a notification, at most
    :data:`MAX_PAYLOAD` bytes (a long body is shortened, ``data`` is left out).

    A single notification also carries its actions and ``click``, the signed link
    that records a click before leading on (``?target=link`` or an action's index).
    """
    shown = asdict(summarize(message, inbox_url))
    if click_url and not message.is_digest:
        shown["click"] = click_url
        shown["actions"] = [{"action": str(index), "title": action["label"], "url": action["url"]}
                            for index, action in enumerate(message.notifications[-1].get(
                                "actions") or [])]
    encoded = _encode(shown)
    while len(encoded) > MAX_PAYLOAD and shown["body"]:
        over = len(encoded) - MAX_PAYLOAD  # a character is at most 4 bytes of UTF-8
        shown["body"] = shorten(shown["body"], len(shown["body"]) - over // 4 - 2)
        encoded = _encode(shown)
    if len(encoded) > MAX_PAYLOAD and shown.get("actions"):  # long action URLs: no buttons
        shown["actions"] = []
        encoded = _encode(shown)
    if len(encoded) > MAX_PAYLOAD:  # a 2 KB link and a long title: send to the inbox
        shown["url"] = inbox_url
        encoded = _encode(shown)
    return encoded


def outcome_for(status: int, reason: str, text: str, retry_after: str | None) -> Outcome:
    """How a push service's answer counts (pure; tested directly)."""
    detail = f"{status} {reason}".strip()
    if text.strip():
        detail += ": " + " ".join(text.split())[:200]
    if status in (200, 201, 202):
        return Outcome("accepted", detail)
    if status in (404, 410):
        return Outcome("gone", detail)
    if status == 429 or status >= 500:
        return Outcome("retry", detail, parse_retry_after(retry_after))
    return Outcome("failed", detail)


class WebPushAdapter:
    """Sends notifications to browsers' push subscriptions."""

    kind = "webpush"

    def __init__(self, vapid: Vapid, subject: str, *, inbox_url: str, ttl: int = 86400,
                 timeout: float = 10.0, secret: str = "", public_url: str = ""):
        self.vapid = vapid
        self.subject = check_subject(subject)
        self.inbox_url = inbox_url
        #: Signs click links (``/r/<token>``); without it pushes carry no click link.
        self.secret = secret
        self.public_url = public_url.rstrip("/")
        self.ttl = int(ttl)
        self.timeout = timeout
        # One session keeps connections to each push service open between sends.
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=8, pool_maxsize=32)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._tokens: dict[str, tuple[float, dict[str, str]]] = {}

    def _vapid_headers(self, endpoint: str) -> dict[str, str]:
        """A VAPID Authorization header for the endpoint's push service, reused for an hour."""
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        cached = self._tokens.get(audience)
        if cached is None or cached[0] < now - _VAPID_REUSE:
            headers = self.vapid.sign({"aud": audience, "sub": self.subject,
                                       "exp": int(now) + _VAPID_LIFETIME})
            cached = (now, headers)
            self._tokens[audience] = cached
        return dict(cached[1])

    def _click_url(self, message: Message) -> str | None:
        if not self.secret or message.is_digest:
            return None
        token = click_token(self.secret, message.user_id, message.notifications[-1]["id"])
        return f"{self.public_url}/r/{token}"

    def send(self, message: Message, target: Target) -> Outcome:
        """Encrypt the notification for the subscription and hand it to its push service."""
        endpoint = target.address.get("endpoint", "")
        try:
            headers = self._vapid_headers(endpoint)
            headers["Urgency"] = URGENCY[summarize(message, "").priority]
            pusher = WebPusher(dict(target.address), requests_session=self.session)
            response = pusher.send(payload(message, self.inbox_url, self._click_url(message)),
                                   headers, ttl=self.ttl,
                                   content_encoding="aes128gcm", timeout=self.timeout)
        except (WebPushException, VapidException, ValueError, TypeError) as exc:
            return Outcome("failed", f"unusable subscription: {exc}")
        except requests.RequestException as exc:
            return Outcome("retry", f"push service unreachable: {type(exc).__name__}")
        outcome = outcome_for(response.status_code, response.reason or "", response.text,
                              response.headers.get("Retry-After"))
        if outcome.status == "accepted":
            return Outcome("accepted", response.headers.get("Location", "") or outcome.detail)
        return outcome

    def close(self) -> None:
        """Close the connections to push services."""
        self.session.close()


def from_config(config: Mapping[str, Any], instance_path: str) -> WebPushAdapter | None:
    """The adapter, or None while ``NOTIFIER_WEBPUSH_SUBJECT`` is not set."""
    if not is_configured(config, "webpush"):
        return None
    subject = text_setting(config, "WEBPUSH_SUBJECT")
    return WebPushAdapter(load_vapid(instance_path), subject, inbox_url=inbox_url(config),
                          ttl=int(config.get("WEBPUSH_TTL", 86400)),
                          timeout=float(config.get("PROVIDER_TIMEOUT", 10)),
                          secret=str(config.get("SECRET_KEY") or ""),
                          public_url=str(config.get("PUBLIC_URL") or ""))
