"""A real local SMS provider speaking the wire format of Twilio's Messages API.

``POST /2010-04-01/Accounts/{sid}/Messages.json`` with a form (``To``, ``From``,
``Body``) and basic auth: 201 with a JSON message resource (``sid`` ``SM...``);
401 with error 20003 for bad credentials; 400 with 21604/21602/21211 for a
missing ``To``, a missing ``Body`` or a malformed number. Tests script other
answers per number (500, 503, 429 with ``Retry-After``, 400 with a code, a delay,
or no answer at all) or a random failure rate, and read what it accepted.

It runs an asyncio server in a thread of the test process (``SmsProvider``), or
as a process of its own (``python tests/peers/sms_provider.py --port N``) that
serves its counts at ``GET /_stats``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import re
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs

_PATH = re.compile(r"^/2010-04-01/Accounts/([A-Za-z0-9]+)/Messages\.json$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")

#: Reasons of the statuses the peer answers.
_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized",
            404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}


@dataclass
class Answer:
    """One scripted answer: a status (with an error code or Retry-After), a delay
    before answering, or ``hang`` (read the request, never answer)."""

    status: int = 201
    code: int | None = None
    retry_after: str | None = None
    delay: float = 0.0
    hang: bool = False


@dataclass
class Received:
    """One request the peer read."""

    at: float
    to: str
    body: str
    status: int | None
    sid: str | None = None


@dataclass
class State:
    """What the peer was told to do and what it saw."""

    account_sid: str
    auth_token: str
    scripts: dict[str, deque[Answer]] = field(default_factory=dict)
    failure_rates: dict[int, float] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    received: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def answer_for(self, to: str) -> Answer:
        queued = self.scripts.get(to)
        if queued:
            return queued.popleft()
        roll = self.rng.random()
        for status, rate in self.failure_rates.items():
            if roll < rate:
                return Answer(status, code=21211 if status == 400 else None)
            roll -= rate
        return Answer(201)


def _response(status: int, doc: dict | None, headers: dict[str, str] | None = None) -> bytes:
    body = json.dumps(doc).encode() if doc is not None else b""
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
             "Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _error(status: int, code: int, message: str, headers=None) -> bytes:
    return _response(status, {"code": code, "message": message,
                              "more_info": f"https://www.twilio.com/docs/errors/{code}",
                              "status": status}, headers)


class Handler:
    """Serves the Messages API from one ``State``."""

    def __init__(self, state: State):
        self.state = state
        self.hanging: list[asyncio.StreamWriter] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                reply = await self.handle(method, path, headers, body)
                if reply is None:  # hang: never answer this request
                    self.hanging.append(writer)
                    return
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
            pass
        finally:
            if writer not in self.hanging:
                writer.close()

    async def handle(self, method: str, path: str, headers: dict, body: bytes):
        state = self.state
        if method == "GET" and path == "/_stats":
            return _response(200, {"received": len(state.received),
                                   "accepted": len(state.accepted),
                                   "statuses": dict(state.statuses)})
        match = _PATH.match(path)
        if method != "POST" or not match:
            return _error(404, 20404, "The requested resource was not found")
        expected = base64.b64encode(
            f"{state.account_sid}:{state.auth_token}".encode()).decode()
        if match.group(1) != state.account_sid or headers.get("authorization") != \
                f"Basic {expected}":
            return _error(401, 20003, "Authenticate")
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        to, text = form.get("To", ""), form.get("Body", "")
        record = Received(at=time.monotonic(), to=to, body=text, status=None)
        state.received.append(record)
        if not to:
            return self._done(record, _error(400, 21604, "A 'To' phone number is required."))
        if not form.get("From"):
            return self._done(record, _error(400, 21603, "A 'From' phone number is required."))
        if not text:
            return self._done(record, _error(400, 21602, "Message body is required."))
        if not _E164.match(to):
            return self._done(record, _error(
                400, 21211, f"The 'To' number {to} is not a valid phone number."))
        answer = state.answer_for(to)
        if answer.hang:
            return None
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.status in (200, 201):
            record.sid = "SM" + secrets.token_hex(16)
            state.accepted.append(record)
            return self._done(record, _response(answer.status, {
                "sid": record.sid, "account_sid": state.account_sid, "to": to,
                "from": form["From"], "body": text, "status": "queued",
                "num_segments": "1", "direction": "outbound-api"}))
        headers_out = {"Retry-After": answer.retry_after} if answer.retry_after else None
        if answer.status == 429:
            return self._done(record, _error(429, 20429, "Too Many Requests", headers_out))
        if answer.status >= 500:
            return self._done(record, _error(answer.status, 20500, "Internal Server Error",
                                             headers_out))
        return self._done(record, _error(answer.status, answer.code or 21211,
                                          "Scripted failure"))

    def _done(self, record: Received, reply: bytes) -> bytes:
        record.status = int(reply.split(b" ", 2)[1])
        self.state.statuses[record.status] += 1
        return reply


class SmsProvider:
    """The peer in a background thread of this process, on a free port."""

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "token-123",
                 port: int = 0):
        self.state = State(account_sid, auth_token)
        self.handler = Handler(self.state)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._port = port
        self._thread = threading.Thread(target=self._run, daemon=True, name="sms-peer")
        self._thread.start()
        self._ready.wait(10)
        self.url = f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start():
            server = await asyncio.start_server(self.handler.serve, "127.0.0.1", self._port,
                                                backlog=1024)
            self.port = server.sockets[0].getsockname()[1]
            self._server = server
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    def env(self) -> dict[str, str]:
        """The settings that point notifier's SMS adapter at this peer."""
        return {"NOTIFIER_SMS_ACCOUNT_SID": self.state.account_sid,
                "NOTIFIER_SMS_AUTH_TOKEN": self.state.auth_token,
                "NOTIFIER_SMS_FROM": "+15550000000", "NOTIFIER_SMS_BASE_URL": self.url}

    def config(self) -> dict[str, str]:
        """The same as app settings (without the NOTIFIER_ prefix)."""
        return {name.removeprefix("NOTIFIER_"): value for name, value in self.env().items()}

    def script(self, to: str, *answers: Answer) -> None:
        """Answer the next requests to ``to`` like this, in order (then 201 again)."""
        self._loop.call_soon_threadsafe(
            lambda: self.state.scripts.setdefault(to, deque()).extend(answers))

    def fail_randomly(self, rates: dict[int, float], seed: int = 7) -> None:
        """Answer a random share of requests with these statuses (e.g. {500: 0.2})."""
        def apply():
            self.state.failure_rates = dict(rates)
            self.state.rng = random.Random(seed)
        self._loop.call_soon_threadsafe(apply)

    @property
    def accepted(self) -> list[Received]:
        return list(self.state.accepted)

    @property
    def received(self) -> list[Received]:
        return list(self.state.received)

    def accepted_for(self, to: str) -> list[Received]:
        return [r for r in self.state.accepted if r.to == to]

    def received_for(self, to: str) -> list[Received]:
        return [r for r in self.state.received if r.to == to]

    def stop(self) -> None:
        def close():
            self._server.close()
            for writer in self.handler.hanging:
                writer.close()
            self._loop.stop()
        self._loop.call_soon_threadsafe(close)
        self._thread.join(5)


def main() -> None:
    """Serve the peer in this process until killed (the benchmark runs it so)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sid", default="AC" + "0" * 32)
    parser.add_argument("--token", default="token-123")
    args = parser.parse_args()
    handler = Handler(State(args.sid, args.token))

    async def serve():
        server = await asyncio.start_server(handler.serve, "127.0.0.1", args.port,
                                            backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
