"""Per-user delivery budgets: at most N jobs per window, per user and channel.

A budget is written like ``"20/hour,5/minute"`` (also ``3/10s``, ``100/day``): every
window must have room for a job to be sent. Each window is a sliding log (a
sorted set of the jobs sent in it, checked and updated by one Lua script), so
the boundaries are exact: N jobs within any window pass, the N+1st is held
until the oldest of them leaves the window. Held jobs are collapsed into one
digest per channel when it reopens (see :mod:`notifier.delivery.queue`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import redis

from notifier.core.keys import Keys
from notifier.delivery.queue import Job
from notifier.stores.lua_scripts import load_script
from notifier.stores.script_batch import ScriptBatch

_UNITS = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "minute": 60,
          "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400,
          "days": 86400}
_WINDOW = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Window:
    """At most ``limit`` jobs in any ``window_ms``."""

    limit: int
    window_ms: int


def parse_budget(text: str | None) -> tuple[Window, ...]:
    """``"20/hour,5/minute"`` as windows; empty or None: no budget.

    Raises ValueError naming what is wrong.
    """
    if text is None or not str(text).strip():
        return ()
    windows = []
    for part in str(text).split(","):
        match = _WINDOW.fullmatch(part.lower())
        if not match or match.group(3) not in _UNITS:
            raise ValueError(f"budget {part.strip()!r} is not like 20/hour or 3/10s")
        limit = int(match.group(1))
        window_ms = round(float(match.group(2) or 1) * _UNITS[match.group(3)] * 1000)
        if limit < 1 or window_ms < 1:
            raise ValueError(f"budget {part.strip()!r} must allow at least 1 in a window")
        windows.append(Window(limit, window_ms))
    return tuple(windows)


class Budgets:
    """The budgets of every channel, checked in Redis."""

    def __init__(self, client: redis.Redis, keys: Keys, limits: dict[str, tuple[Window, ...]]):
        self.client = client
        self.keys = keys
        self.limits = {channel: windows for channel, windows in limits.items() if windows}
        self._check = load_script(client, "delivery_budget")

    @classmethod
    def from_config(cls, client: redis.Redis, keys: Keys, config) -> Budgets:
        """Budgets from ``BUDGET_<CHANNEL>`` settings."""
        from notifier.model.channels import DELIVERY_CHANNELS

        limits = {}
        for channel in DELIVERY_CHANNELS:
            name = f"BUDGET_{channel.upper()}"
            try:
                limits[channel] = parse_budget(config.get(name))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return cls(client, keys, limits)

    def applies(self, job: Job) -> bool:
        """Whether ``job``'s channel has a budget."""
        return job.channel in self.limits

    def check(self, job: Job, batch: ScriptBatch | None = None):
        """Take room for ``job`` in its user's windows (queued on ``batch`` when given).

        The reply (or the batch's result for it) is ``[1, 0]`` when it fits, else
        ``[0, ms when there is room again]``.
        """
        windows = self.limits[job.channel]
        keys = [self.keys.delivery_budget(job.user_id, job.channel, w.window_ms)
                for w in windows]
        args = [job.job_id]
        for window in windows:
            args += [window.limit, window.window_ms]
        if batch is None:
            return self._check(keys=keys, args=args)
        return batch.script(self._check, keys, args)
