"""What the sync and async clients share around one HTTP exchange: building the
request, reading the answer, and deciding whether and when to try again."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import httpx

from notifier_client import models
from notifier_client.errors import NotifierConnectionError, NotifierError
from notifier_client.operations import API_ROOT, Operation
from notifier_client.retries import (
    RetryPolicy,
    parse_retry_after,
    retries_status,
    retries_transport_error,
)

USER_AGENT = "notifier-client/0.1"

#: Transport errors raised before the request could reach the server.
NOT_CONNECTED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def new_idempotency_key() -> str:
    """A fresh idempotency key (random, 32 hex digits)."""
    return uuid.uuid4().hex


def _json_value(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def client_options(base_url: str, api_key: str, timeout: float) -> dict[str, Any]:
    """Arguments of the ``httpx.Client`` or ``httpx.AsyncClient`` the clients use."""
    return {"base_url": base_url.rstrip("/") + API_ROOT, "timeout": timeout,
            "headers": {"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT,
                        "Accept": "application/json"}}


def request_args(op: Operation, params: dict[str, Any], body: dict[str, Any] | None = None,
                 query: dict[str, Any] | None = None) -> dict[str, Any]:
    """The arguments of ``httpx.Client.request`` for one call of ``op``; built once per
    call, so every retry carries the same idempotency key."""
    path = op.path
    for name in op.params:
        path = path.replace("{" + name + "}", quote(str(params[name]), safe=""))
    args: dict[str, Any] = {"method": op.method, "url": path}
    if query:
        args["params"] = {name: _query_value(value) for name, value in query.items()
                          if value is not None}
    if body is not None:
        body = {name: value for name, value in body.items() if value is not None}
        if op.idempotent_key and "idempotency_key" not in body:
            body["idempotency_key"] = new_idempotency_key()
        args["content"] = json.dumps(body, default=_json_value)
        args["headers"] = {"Content-Type": "application/json"}
    return args


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def result(op: Operation, response: httpx.Response) -> Any:
    """The typed result of a success answer."""
    answer = op.answers.get(response.status_code)
    if answer is None:
        if response.status_code in op.answers:
            return None
        raise NotifierError(response.status_code, "unexpected_status",
                            f"{op.method} {op.path} answered {response.status_code}")
    doc = response.json()
    if answer.unwrap:
        doc = doc[answer.unwrap]
    return models.from_json(answer.model, doc, response.headers)


def error(response: httpx.Response) -> NotifierError:
    """The :class:`NotifierError` of an error answer (a proxy's page too)."""
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    try:
        doc = response.json()["error"]
        return NotifierError(response.status_code, str(doc["code"]), str(doc["message"]),
                             doc.get("field"), retry_after=retry_after,
                             errors=doc.get("errors"))
    except (ValueError, KeyError, TypeError):
        return NotifierError(response.status_code, f"http_{response.status_code}",
                             response.reason_phrase or "error", retry_after=retry_after)


def wait_after_answer(policy: RetryPolicy, op: Operation, retry: int,
                      response: httpx.Response) -> float | None:
    """Seconds to wait before retry number ``retry`` after an error answer; None: raise."""
    if not retries_status(response.status_code, op.retry):
        return None
    return policy.wait(retry, parse_retry_after(response.headers.get("Retry-After")))


def wait_after_failure(policy: RetryPolicy, op: Operation, retry: int,
                       exc: httpx.TransportError) -> float | None:
    """Seconds to wait before retry number ``retry`` after a failed exchange; None: raise."""
    if not retries_transport_error(not isinstance(exc, NOT_CONNECTED), op.retry):
        return None
    return policy.wait(retry, None)


def gave_up(op: Operation, tries: int, exc: httpx.TransportError) -> NotifierConnectionError:
    """The error raised when a call found no server to answer it."""
    return NotifierConnectionError(
        f"{op.method} {op.path}: no answer after {tries} tries ({type(exc).__name__}: {exc})")
