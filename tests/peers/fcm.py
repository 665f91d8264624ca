"""The FCM HTTP v1 API and the OAuth2 token endpoint a service account uses.

The token endpoint checks the service account's signed JWT (RS256 with the
account's key, issuer, audience, scope, expiry) and issues access tokens;
``messages:send`` requires one and answers in FCM's JSON error format
(``google.rpc.Status`` with a ``FcmError`` detail), including UNREGISTERED for
tokens it was told are gone and INVALID_ARGUMENT for malformed ones.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from functools import cache
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .http_peer import Answer, HttpPeer, Request

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
#: The audience Google's token endpoint requires in the assertion, wherever it is reached.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


@cache
def _service_account_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def fcm_error(status: int, code: str, message: str, *, field: str | None = None,
              retry_after: str | None = None) -> Answer:
    status_names = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                    404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                    503: "UNAVAILABLE"}
    details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": code}]
    if field:
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": field, "description": message}]})
    body = {"error": {"code": status, "message": message,
                      "status": status_names.get(status, "UNKNOWN"), "details": details}}
    headers = {"Content-Type": "application/json; charset=UTF-8"}
    if retry_after:
        headers["Retry-After"] = retry_after
    return Answer(status, headers, json.dumps(body).encode())


class FcmService(HttpPeer):
    def __init__(self, project_id: str = "demo-project"):
        super().__init__()
        self.project_id = project_id
        self.key = _service_account_key()
        self.client_email = f"notifier@{project_id}.iam.gserviceaccount.com"
        self.access_tokens: dict[str, float] = {}
        self.token_requests = 0
        self.unregistered: set[str] = set()
        self.sent: list[dict] = []
        self.expires_in = 3600
        self._ids = itertools.count(1)

    def credentials_json(self) -> dict:
        """The service account key file Firebase's console hands out."""
        pem = self.key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()
        return {"type": "service_account", "project_id": self.project_id,
                "private_key_id": "k1", "private_key": pem, "client_email": self.client_email,
                "client_id": "1", "token_uri": f"{self.url}/token"}

    def scriptable(self, request: Request) -> bool:
        return request.path != "/token"  # scripted errors are the API's, not the token's

    def answer(self, request: Request) -> Answer:
        if request.path == "/token" and request.method == "POST":
            return self._token(request)
        path = f"/v1/projects/{self.project_id}/messages:send"
        if request.path == path and request.method == "POST":
            return self._send(request)
        return fcm_error(404, "UNSPECIFIED_ERROR", "no such method")

    def _token(self, request: Request) -> Answer:
        self.token_requests += 1
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return Answer(400, {}, b'{"error": "unsupported_grant_type"}')
        try:
            claims = jwt.decode(form.get("assertion", ""), self.key.public_key(),
                                algorithms=["RS256"], audience=GOOGLE_TOKEN_AUDIENCE,
                                issuer=self.client_email,
                                options={"require": ["exp", "iat", "iss", "aud"]})
        except jwt.InvalidTokenError as exc:
            return Answer(400, {"Content-Type": "application/json"}, json.dumps(
                {"error": "invalid_grant", "error_description": str(exc)}).encode())
        if SCOPE not in claims.get("scope", "").split():
            return Answer(400, {}, b'{"error": "invalid_scope"}')
        token = "ya29." + os.urandom(16).hex()
        self.access_tokens[token] = time.time() + self.expires_in
        return Answer(200, {"Content-Type": "application/json"}, json.dumps(
            {"access_token": token, "expires_in": self.expires_in,
             "token_type": "Bearer"}).encode())

    def _send(self, request: Request) -> Answer:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or self.access_tokens.get(token, 0) < time.time():
            return fcm_error(401, "UNAUTHENTICATED",
                             "Request had invalid authentication credentials.")
        try:
            message = json.loads(request.body)["message"]
        except (ValueError, KeyError, TypeError):
            return fcm_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        device = message.get("token", "")
        if not re.fullmatch(r"[A-Za-z0-9_:.-]{20,}", device):
            return fcm_error(400, "INVALID_ARGUMENT", "The registration token is not a valid "
                             "FCM registration token", field="message.token")
        if device in self.unregistered:
            return fcm_error(404, "UNREGISTERED", "Requested entity was not found.")
        data = message.get("data", {})
        if not all(isinstance(v, str) for v in data.values()):
            return fcm_error(400, "INVALID_ARGUMENT", "Invalid value at 'message.data'",
                             field="message.data")
        self.sent.append(message)
        name = f"projects/{self.project_id}/messages/{next(self._ids)}"
        return Answer(200, {"Content-Type": "application/json"},
                      json.dumps({"name": name}).encode())
