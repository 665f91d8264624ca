"""Firebase Cloud Messaging, HTTP v1 API: pushes to Android (and FCM-registered iOS) apps.

Authenticates with a service account (google-auth: a signed JWT exchanged for an
OAuth2 access token at the ``token_uri`` of the account's JSON, refreshed before
it expires). Errors follow FCM's documented codes: UNREGISTERED, or
INVALID_ARGUMENT about the token -> gone; QUOTA_EXCEEDED (429), UNAVAILABLE (503),
INTERNAL (500) -> retry, after Retry-After when given; anything else -> failed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import requests
from google.auth import exceptions as auth_errors
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

from notifier.delivery.channels import is_configured
from notifier.delivery.channels.retry import parse_retry_after
from notifier.delivery.channels.settings import inbox_url, text_setting
from notifier.delivery.channels.summary import shorten, summarize
from notifier.model.channels import Message, Outcome, Target

log = logging.getLogger(__name__)

#: The OAuth2 scope that may send FCM messages.
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
_RETRY_CODES = {"QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"}


def fcm_message(message: Message, token: str, inbox: str) -> dict[str, Any]:
    """The ``messages:send`` body: a notification the system shows, and data for the app
    (FCM data values are strings)."""
    shown = summarize(message, inbox)
    urgent = shown.priority in ("high", "urgent")
    return {"message": {
        "token": token,
        "notification": {"title": shorten(shown.title, 200), "body": shorten(shown.body, 1000)},
        "data": {"notification_id": shown.id, "type": shown.type, "url": shown.url,
                 "priority": shown.priority, "count": str(shown.count),
                 "user_id": message.user_id},
        "android": {"priority": "HIGH" if urgent else "NORMAL",
                    "notification": {"tag": shown.tag}},
        "apns": {"headers": {"apns-priority": "10" if urgent else "5"}},
    }}


def outcome_for(status: int, body: bytes, retry_after: str | None) -> Outcome:
    """How an answer of ``messages:send`` counts (pure; tested directly)."""
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if status == 200:
        return Outcome("accepted", str(answer.get("name", "")))
    error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
    details = error.get("details") if isinstance(error.get("details"), list) else []
    details = [d for d in details if isinstance(d, dict)]
    code = next((d.get("errorCode") for d in details if d.get("@type") == _FCM_ERROR), None)
    code = code or error.get("status") or str(status)
    message = " ".join(str(error.get("message", "")).split())[:200]
    detail = f"{status} {code}" + (f": {message}" if message else "")
    if code == "UNREGISTERED":
        return Outcome("gone", detail)
    if code == "INVALID_ARGUMENT" and _about_the_token(details, message):
        return Outcome("gone", detail)
    if code in _RETRY_CODES or status in (429, 500, 502, 503, 504):
        return Outcome("retry", detail, parse_retry_after(retry_after))
    return Outcome("failed", detail)


def _about_the_token(details: list[dict], message: str) -> bool:
    for detail in details:
        if detail.get("@type") == _BAD_REQUEST:
            violations = detail.get("fieldViolations") or []
            if any(isinstance(v, dict) and v.get("field") == "message.token"
                   for v in violations):
                return True
    return "registration token" in message.lower()


class FcmAdapter:
    """Sends notifications to FCM registration tokens of one Firebase project."""

    kind = "fcm"

    def __init__(self, credentials: service_account.Credentials, *, inbox_url: str,
                 endpoint: str = "https://fcm.googleapis.com", timeout: float = 10.0):
        self.project_id = credentials.project_id
        self.url = f"{endpoint.rstrip('/')}/v1/projects/{self.project_id}/messages:send"
        self.inbox_url = inbox_url
        self.timeout = timeout
        # Refreshes the access token when it is about to expire, and once on a 401.
        self.session = AuthorizedSession(credentials, refresh_timeout=timeout)

    def send(self, message: Message, target: Target) -> Outcome:
        """POST the message to ``messages:send`` for the target's token."""
        token = str(target.address.get("token") or "")
        if not token:
            return Outcome("failed", "the target has no FCM token")
        try:
            response = self.session.post(self.url, json=fcm_message(message, token,
                                                                    self.inbox_url),
                                         timeout=self.timeout)
        except auth_errors.RefreshError as exc:
            status = "retry" if getattr(exc, "retryable", False) else "failed"
            return Outcome(status, f"FCM access token refused: {exc}")
        except (auth_errors.TransportError, requests.RequestException) as exc:
            return Outcome("retry", f"FCM unreachable: {type(exc).__name__}")
        return outcome_for(response.status_code, response.content,
                           response.headers.get("Retry-After"))

    def close(self) -> None:
        """Close the connections to FCM."""
        self.session.close()


def from_config(config: Mapping[str, Any], instance_path: str) -> FcmAdapter | None:
    """The adapter, or None while ``NOTIFIER_FCM_CREDENTIALS`` is not set."""
    if not is_configured(config, "fcm"):
        return None
    path = text_setting(config, "FCM_CREDENTIALS")
    credentials = service_account.Credentials.from_service_account_file(path, scopes=[SCOPE])
    if not credentials.project_id:
        raise ValueError(f"{path} names no project_id")
    return FcmAdapter(credentials, inbox_url=inbox_url(config),
                      endpoint=str(config.get("FCM_ENDPOINT") or "https://fcm.googleapis.com"),
                      timeout=float(config.get("PROVIDER_TIMEOUT", 10)))
