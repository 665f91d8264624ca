"""The blocking client."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from notifier_client import transport
from notifier_client.operations import OPERATIONS
from notifier_client.retries import RetryPolicy
from notifier_client.surface import Methods


class Notifier(Methods):
    """notifier's HTTP API at ``base_url`` (the server's root URL) with ``api_key``.

    Use it as a context manager, or call :meth:`close`, to release its connections.
    ``sleep`` waits between retries (``time.sleep``).
    """

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 10.0,
                 retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(**transport.client_options(base_url, api_key, timeout))

    def _call(self, name: str, params: dict[str, Any] | None = None,
              body: dict[str, Any] | None = None, query: dict[str, Any] | None = None) -> Any:
        op = OPERATIONS[name]
        args = transport.request_args(op, params or {}, body, query)
        retry = 1
        while True:
            try:
                response = self._http.request(**args)
            except httpx.TransportError as exc:
                wait = transport.wait_after_failure(self.retry, op, retry, exc)
                if wait is None:
                    raise transport.gave_up(op, retry, exc) from exc
            else:
                if response.is_success:
                    return transport.result(op, response)
                wait = transport.wait_after_answer(self.retry, op, retry, response)
                if wait is None:
                    raise transport.error(response)
            self._sleep(wait)
            retry += 1

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
