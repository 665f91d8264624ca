"""The asyncio client: the methods of :class:`~notifier_client.Notifier`, each a
coroutine."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from notifier_client import transport
from notifier_client.operations import OPERATIONS
from notifier_client.retries import RetryPolicy
from notifier_client.surface import Methods


class AsyncNotifier(Methods):
    """notifier's HTTP API at ``base_url`` with ``api_key``, for asyncio code.

    ``async with AsyncNotifier(...) as notifier: await notifier.send(...)``; or call
    :meth:`aclose`. ``sleep`` waits between retries (``asyncio.sleep``).
    """

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 10.0,
                 retry: RetryPolicy | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.AsyncClient(**transport.client_options(base_url, api_key, timeout))

    async def _call(self, name: str, params: dict[str, Any] | None = None,
                    body: dict[str, Any] | None = None,
                    query: dict[str, Any] | None = None) -> Any:
        op = OPERATIONS[name]
        args = transport.request_args(op, params or {}, body, query)
        retry = 1
        while True:
            try:
                response = await self._http.request(**args)
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
            await self._sleep(wait)
            retry += 1

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncNotifier:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
