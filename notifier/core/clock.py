"""Time as the service writes it: epoch milliseconds, ISO 8601 in UTC, and cursors."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def clock_position(at_ms: int) -> str:
    """A cursor just before anything created at or after ``at_ms`` (ids are ``<ms>-<seq>``)."""
    return f"{at_ms - 1}-{2**64 - 1}"


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return int(time.time() * 1000)


def iso_utc(moment: datetime) -> str:
    """``2026-11-21T12:00:00.123Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
