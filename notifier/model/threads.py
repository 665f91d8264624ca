"""Threads on a page: the items of a list that share a thread, shown as one row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from notifier.model.notification import Notification


@dataclass(frozen=True)
class ThreadRow:
    """One row of a list: an item, and the older items of its thread under it."""

    head: Notification
    others: tuple[Notification, ...] = ()

    @property
    def count(self) -> int:
        """How many items the row holds."""
        return 1 + len(self.others)

    @property
    def unread(self) -> int:
        """How many of them are unread."""
        return sum(not n.read for n in (self.head, *self.others))


def thread_rows(items: Iterable[Notification]) -> list[ThreadRow]:
    """``items`` (newest first) as rows: the items of one thread join the row of its
    first (newest) item, wherever they are in the list; an unthreaded item is a row alone."""
    rows: list[tuple[Notification, list[Notification]]] = []
    by_thread: dict[str, list[Notification]] = {}
    for item in items:
        if item.thread is not None and item.thread in by_thread:
            by_thread[item.thread].append(item)
            continue
        others: list[Notification] = []
        rows.append((item, others))
        if item.thread is not None:
            by_thread[item.thread] = others
    return [ThreadRow(head, tuple(others)) for head, others in rows]
