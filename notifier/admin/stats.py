"""What the admin overview shows: per-worker rates, Redis's memory and clients, who is online.

Workers report cumulative counters (:mod:`notifier.stores.worker_stats`); a rate is the
difference between two reports of one worker divided by the time between
them, so it needs two reads. :class:`RateTracker` keeps the previous report of
each worker for one reader (an admin event stream, or nothing for a first
paint, whose rates are unknown).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis

from notifier.core.clock import iso_utc
from notifier.stores.nodes import masters
from notifier.stores.presence import Presence
from notifier.stores.worker_stats import WorkerReports

#: Online users the overview lists (the count covers everyone).
PRESENCE_LIST = 50


@dataclass
class _Seen:
    at: int
    sent: int
    delivered: int
    sent_per_s: float | None = None
    delivered_per_s: float | None = None


@dataclass
class RateTracker:
    """Turns successive sets of worker reports into per-second rates."""

    _seen: dict[str, _Seen] = field(default_factory=dict)

    def update(self, reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One row per reporting worker, with ``sent_per_s`` and ``delivered_per_s``.

        A rate is None until the worker has reported twice to this tracker. A
        report read again (the same ``at``) keeps the rates it gave; counters
        that went down (a restarted worker reusing its id) start over.
        """
        rows, seen = [], {}
        for report in reports:
            worker = str(report.get("worker", ""))
            at, sent, delivered = (_int(report.get(k)) for k in ("at", "sent", "delivered"))
            previous = self._seen.get(worker)
            current = _Seen(at, sent, delivered)
            if previous is not None and at == previous.at:
                current = previous
            elif (previous is not None and at > previous.at and sent >= previous.sent
                  and delivered >= previous.delivered):
                seconds = (at - previous.at) / 1000
                current.sent_per_s = (sent - previous.sent) / seconds
                current.delivered_per_s = (delivered - previous.delivered) / seconds
            seen[worker] = current
            rows.append({
                "worker": worker, "host": str(report.get("host", "")),
                "pid": _int(report.get("pid")), "streams": _int(report.get("streams")),
                "users": _int(report.get("users")), "sent_per_s": _round(current.sent_per_s),
                "delivered_per_s": _round(current.delivered_per_s),
            })
        self._seen = seen
        return rows


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _round(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 2)


def _total(rows: list[dict[str, Any]], name: str) -> float | None:
    """The sum of the known rates (None when no worker's is known yet)."""
    known = [row[name] for row in rows if row[name] is not None]
    return round(sum(known), 2) if known else None


def redis_figures(client: redis.Redis | redis.RedisCluster) -> dict[str, int | None]:
    """Redis's used memory, its limit (0: none) and connected clients, one round trip per
    server; on a cluster, summed over its masters (the limit is 0 when one has none)."""
    used = limit = clients = 0
    unlimited = False
    try:
        for node in masters(client):
            pipe = node.pipeline(transaction=False)
            pipe.info("memory")
            pipe.info("clients")
            memory, connected = pipe.execute()
            used += memory.get("used_memory", 0)
            limit += memory.get("maxmemory", 0)
            unlimited = unlimited or not memory.get("maxmemory")
            clients += connected.get("connected_clients", 0)
    except redis.ResponseError:  # INFO disabled (some managed services rename it away)
        return {"used_memory": None, "maxmemory": None, "connected_clients": None}
    return {"used_memory": used, "maxmemory": 0 if unlimited else limit,
            "connected_clients": clients}


def stats_payload(reports: WorkerReports, client: redis.Redis,
                  tracker: RateTracker) -> dict[str, Any]:
    """The ``stats`` event: workers with their rates, totals and Redis's figures."""
    rows = tracker.update(reports.read_workers())
    return {
        "at": int(time.time() * 1000),
        "streams": sum(row["streams"] for row in rows),
        "sent_per_s": _total(rows, "sent_per_s"),
        "delivered_per_s": _total(rows, "delivered_per_s"),
        "workers": rows,
        "redis": redis_figures(client),
    }


def presence_payload(presence: Presence, limit: int = PRESENCE_LIST) -> dict[str, Any]:
    """The ``presence`` event: how many users are online and the first ``limit`` of them."""
    page = presence.online_page(limit)
    return {"count": page.count,
            "users": [{"user_id": user_id, "since": iso_utc(since) if since else None}
                      for user_id, since in page.users]}


def format_bytes(size: int | None) -> str:
    """``512 B``, ``1.5 KiB``, ``12.3 MiB``, ``2.0 GiB`` (static/admin-overview.js mirrors it)."""
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def online_for(since: str, now: datetime | None = None) -> str:
    """How long a user has been online: ``just now``, ``for 5 min``, ``for 3 h``, ``for 2 d``
    (static/admin-overview.js mirrors it)."""
    seconds = ((now or datetime.now(UTC)) - datetime.fromisoformat(since)).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"for {int(seconds // 60)} min"
    if seconds < 86400:
        return f"for {int(seconds // 3600)} h"
    return f"for {int(seconds // 86400)} d"


def format_rate(rate: float | None) -> str:
    """A per-second rate for a card or a cell (``—`` while unknown)."""
    if rate is None:
        return "—"
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.1f}"
