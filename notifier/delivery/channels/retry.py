"""Reading a provider's ``Retry-After`` (RFC 9110: seconds, or an HTTP date)."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

#: Longest wait a provider's Retry-After is taken at; beyond it the worker's own backoff rules.
MAX_RETRY_AFTER = 3600.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait before trying again, or None when ``value`` says nothing usable.

    ``120`` and ``Fri, 21 Nov 2026 12:00:00 GMT`` are both accepted; a date in the
    past means now (0), and anything above :data:`MAX_RETRY_AFTER` is capped.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment is None or moment.tzinfo is None:
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
