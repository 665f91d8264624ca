"""APNs: HTTP/2 only, over TLS (ALPN h2 and nothing else, as Apple's servers), by
hypercorn in a thread with the test CA's certificate.

It checks the provider token (ES256 by the team's key, ``kid``, ``iss``, not older
than an hour), the topic and push type, the device token and the payload size,
and answers with APNs' status codes and ``{"reason": ...}`` bodies.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypercorn.asyncio import serve
from hypercorn.config import Config

from .tls import TlsFiles


@dataclass
class Push:
    device: str
    headers: dict[str, str]
    payload: dict
    http_version: str
    client: tuple
    provider_token: str


class ApnsService:
    def __init__(self, tls: TlsFiles, *, key_id: str = "ABC123DEFG", team_id: str = "TEAM123456",
                 topic: str = "com.example.notifier"):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.key_id, self.team_id, self.topic = key_id, team_id, topic
        self.unregistered: set[str] = set()
        self.pushes: list[Push] = []
        self.refused: list[tuple[int, str]] = []
        self.http_versions: list[str] = []
        self._scripted: collections.deque = collections.deque()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"
        config = Config()
        config.bind = [f"127.0.0.1:{self.port}"]
        config.certfile, config.keyfile = str(tls.cert), str(tls.key)
        config.alpn_protocols = ["h2"]
        config.accesslog = config.errorlog = None
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        started = threading.Event()

        async def run() -> None:
            started.set()
            await serve(self._app, config, shutdown_trigger=self._stop.wait)

        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(run(),),
                                        daemon=True)
        self._thread.start()
        started.wait(5)
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            assert time.monotonic() < deadline, "APNs peer did not start"
            time.sleep(0.02)

    def signing_key_pem(self) -> str:
        """The ``AuthKey_<key id>.p8`` Apple's developer site hands out."""
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()

    def script(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        """Answer the next push with this error."""
        self._scripted.append((status, reason, headers or {}))

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _app(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                kind = event["type"].rsplit(".", 1)[-1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.http_versions.append(scope["http_version"])
        status, reply, extra = self._decide(scope, headers, body)
        response_headers = [(b"apns-id", headers.get("apns-id", str(uuid.uuid4())).encode())]
        response_headers += [(k.encode(), v.encode()) for k, v in extra.items()]
        if reply is not None:
            response_headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status,
                    "headers": response_headers})
        await send({"type": "http.response.body",
                    "body": json.dumps(reply).encode() if reply is not None else b""})

    def _refuse(self, status: int, reason: str, **extra) -> tuple[int, dict, dict]:
        self.refused.append((status, reason))
        return status, {"reason": reason, **extra}, {}

    def _decide(self, scope, headers, body) -> tuple[int, dict | None, dict]:
        if scope["http_version"] != "2":
            return self._refuse(505, "HTTP/2 only")
        match = re.fullmatch(r"/3/device/([^/]+)", scope["path"])
        if scope["method"] != "POST" or not match:
            return self._refuse(404, "BadPath")
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return self._refuse(403, "MissingProviderToken")
        try:
            if jwt.get_unverified_header(token).get("kid") != self.key_id:
                return self._refuse(403, "InvalidProviderToken")
            claims = jwt.decode(token, self.key.public_key(), algorithms=["ES256"],
                                issuer=self.team_id, options={"require": ["iat", "iss"]})
        except jwt.InvalidTokenError:
            return self._refuse(403, "InvalidProviderToken")
        if claims["iat"] < time.time() - 3600:
            return self._refuse(403, "ExpiredProviderToken")
        if self._scripted:
            status, reason, extra = self._scripted.popleft()
            self.refused.append((status, reason))
            return status, {"reason": reason}, extra
        if headers.get("apns-topic") != self.topic:
            return self._refuse(400, "TopicDisallowed")
        if headers.get("apns-push-type") not in ("alert", "background"):
            return self._refuse(400, "InvalidPushType")
        device = match.group(1)
        if not re.fullmatch(r"[0-9a-f]{64}", device):
            return self._refuse(400, "BadDeviceToken")
        if device in self.unregistered:
            return self._refuse(410, "Unregistered", timestamp=int(time.time() * 1000))
        if len(body) > 4096:
            return self._refuse(413, "PayloadTooLarge")
        try:
            payload = json.loads(body)
        except ValueError:
            return self._refuse(400, "PayloadEmpty")
        self.pushes.append(Push(device, headers, payload, scope["http_version"],
                                tuple(scope["client"]), token))
        return 200, None, {"apns-unique-id": str(uuid.uuid4())}
