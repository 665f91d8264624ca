"""SMS through a provider's HTTP API shaped like Twilio's Messages API.

``POST {base}/2010-04-01/Accounts/{sid}/Messages.json`` with a form (``To``,
``From``, ``Body``) and HTTP basic auth (account sid, auth token). 201 with the
message's ``sid``: accepted. 429 and 5xx: try again later (after
``Retry-After`` when given). 400 and other 4xx with the provider's error
``code``: failed for good. Timeouts and connection errors: try again.

Configured by ``NOTIFIER_SMS_ACCOUNT_SID``, ``NOTIFIER_SMS_AUTH_TOKEN`` and
``NOTIFIER_SMS_FROM`` (off while any is empty), ``NOTIFIER_SMS_BASE_URL`` and
``NOTIFIER_SMS_TIMEOUT``.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPParseError

from notifier.delivery.channels import PROVIDERS, is_configured
from notifier.delivery.channels.settings import text_setting
from notifier.model.channels import Message, Outcome, Target

log = logging.getLogger(__name__)

#: Longest text sent: Twilio's limit for one message (it splits it into segments).
MAX_TEXT = 1600


def _line(notification: dict[str, Any]) -> str:
    return " ".join(str(notification.get("title") or "").split())


def sms_text(message: Message) -> str:
    """The plain text of ``message``: title, body and link; a digest lists the titles."""
    notes = message.notifications
    if len(notes) == 1:
        note = notes[0]
        parts = [str(note.get("title") or ""), str(note.get("body") or ""),
                 str(note.get("link") or "")]
        text = "\n".join(part.strip() for part in parts if part and part.strip())
    else:
        text = f"{len(notes)} new notifications:\n" + "\n".join(
            f"- {_line(note)}" for note in notes)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "\u2026"


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _provider_error(status: int, data: bytes) -> str:
    doc = _json(data)
    if isinstance(doc, dict) and (doc.get("code") or doc.get("message")):
        return f"HTTP {status}, error {doc.get('code')}: {doc.get('message')}"
    return f"HTTP {status}"


class SmsAdapter:
    """Sends text messages through the provider's Messages API."""

    kind = "sms"

    def __init__(self, *, account_sid: str, auth_token: str, sender: str,
                 base_url: str = "https://api.twilio.com", timeout: float = 10.0,
                 connections: int = 64):
        self.sender = sender
        self.base_url = base_url.rstrip("/")
        self.path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Accept": "application/json",
                        "Content-Type": "application/x-www-form-urlencoded"}
        # A pool of keep-alive connections made for greenlets (a C HTTP parser: about
        # a quarter of the CPU per request of urllib3's); a send waits for a free one.
        self.client = HTTPClient.from_url(self.base_url, concurrency=connections,
                                          connection_timeout=timeout, network_timeout=timeout)

    def send(self, message: Message, target: Target) -> Outcome:
        """Send ``message`` as one text to the target's ``phone``."""
        form = urlencode({"To": target.address["phone"], "From": self.sender,
                          "Body": sms_text(message)})
        try:
            response = self.client.post(self.path, body=form, headers=self.headers)
            try:
                status, data = response.status_code, response.read()
                wait = response.get("Retry-After")
            finally:
                response.release()
        except TimeoutError:
            return Outcome("retry", "the SMS provider did not answer in time")
        except (OSError, HTTPParseError) as exc:
            return Outcome("retry", f"could not reach the SMS provider: "
                           f"{exc or type(exc).__name__}")
        if status in (200, 201):
            doc = _json(data)
            return Outcome("accepted", str(doc.get("sid") or "") if isinstance(doc, dict)
                           else "")
        if status == 429 or status >= 500:
            return Outcome("retry", _provider_error(status, data), retry_after(wait))
        return Outcome("failed", _provider_error(status, data))

    def close(self) -> None:
        """Close the pooled connections."""
        self.client.close()


def from_config(config, instance_path: str) -> SmsAdapter | None:
    """The adapter when the SMS settings are all there, else None."""
    if not is_configured(config, "sms"):
        return None
    sid, token, sender = (text_setting(config, name) for name in PROVIDERS["sms"][1])
    return SmsAdapter(account_sid=sid, auth_token=token, sender=sender,
                      base_url=str(config.get("SMS_BASE_URL") or "https://api.twilio.com"),
                      timeout=float(config.get("SMS_TIMEOUT") or 10),
                      connections=int(config.get("DELIVERY_CONCURRENCY") or 64))
