"""When to try a request again, and how long to wait first.

Capped exponential backoff with full jitter; a ``Retry-After`` the server sent wins
(up to ``max_retry_after``). What may be retried depends on the operation:

* ``SAFE`` operations (reads, replacements, sends with an idempotency key, stateless
  token minting) are retried after any transport error and on 429, 502, 503 and 504:
  repeating them cannot do anything twice;
* ``UNSENT_ONLY`` operations (deletes, cancels, sign-in links) only when the request
  surely never reached the server: a failed connection, or a 429 (the rate limit
  refuses a request before it does anything).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from time import time

SAFE = "safe"
UNSENT_ONLY = "unsent-only"

#: Statuses worth another try: over the rate limit, and a proxy or server not ready.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to try a request and how long to wait between tries."""

    #: Tries in all, the first included (1: never retry).
    attempts: int = 5
    #: The first backoff's upper bound, in seconds; it doubles each try.
    base: float = 0.25
    #: Largest backoff, in seconds.
    cap: float = 8.0
    #: Largest Retry-After honoured; a longer one gives up at once.
    max_retry_after: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (1 for the first): full jitter under
        ``min(cap, base * 2 ** (retry - 1))``."""
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** (retry - 1)))

    def wait(self, retry: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number ``retry``; None to give up."""
        if retry >= self.attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return self.backoff(retry)


def retries_status(status: int, kind: str) -> bool:
    """Whether an answer with ``status`` is worth another try for an operation of ``kind``."""
    if kind == SAFE:
        return status in RETRY_STATUSES
    return status == 429


def retries_transport_error(connected: bool, kind: str) -> bool:
    """Whether a failed exchange is worth another try: ``connected`` is False when the
    connection was never made (so the server cannot have seen the request)."""
    return kind == SAFE or not connected


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header (seconds, or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time() if now is None else now))
