"""A user's feed: their own inbox merged with the broadcasts meant for them.

Broadcasts are stored once (:mod:`notifier.stores.broadcasts`); a user sees those
created since they appeared (first sent to, signed up, or first read), and those
announcing a window that had not ended when they appeared (maintenance under way
concerns newcomers too), minus the ones they dismissed, and reads them with marks
kept in their own slot. A place in the feed is a *position*, ``<inbox
position>_<broadcast log position>``: live streams use it as their event id, so a
reconnect resumes in both sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis

from notifier.core.clock import now_ms
from notifier.core.ids import format_id, parse_broadcast_id, parse_notification_id
from notifier.core.keys import Keys
from notifier.model.inbox_filter import EVERYTHING, InboxFilter
from notifier.model.notification import Notification
from notifier.stores.broadcasts import Broadcast, BroadcastChunk, Broadcasts, newest_position
from notifier.stores.connection import publish_command
from notifier.stores.inbox import Inbox, ReplayChunk
from notifier.stores.lua_scripts import load_script
from notifier.stores.script_batch import ScriptBatch

Pos = tuple[int, int]

#: The largest part of an entry id.
_MAX_PART = 2**64 - 1
#: Marks of broadcasts older than this many ms that are not alive are pruned.
_PRUNE_GRACE_MS = 60_000


def parse_position(value: object) -> tuple[Pos, Pos] | None:
    """(inbox position, broadcast position) of ``<a>_<b>``; a lone id stands for both."""
    if not isinstance(value, str):
        return None
    own, _, bcast = value.partition("_")
    own_pos = parse_notification_id(own)
    bcast_pos = parse_notification_id(bcast) if bcast else own_pos
    if own_pos is None or bcast_pos is None:
        return None
    return own_pos, bcast_pos


def format_position(own: Pos, bcast: Pos) -> str:
    """The string form of a feed position."""
    return f"{own[0]}-{own[1]}_{bcast[0]}-{bcast[1]}"


@dataclass
class BroadcastView:
    """What one user has done with broadcasts."""

    since: int = 0
    upto: Pos | None = None
    # Empty until the first mark: every open stream holds a view, and most stay empty.
    read: frozenset[str] = frozenset()
    dismissed: frozenset[str] = frozenset()
    #: Broadcasts from before the user appeared whose window had not ended by then.
    windowed: frozenset[str] = frozenset()

    @classmethod
    def from_flat(cls, flat: list[bytes]) -> BroadcastView:
        """Parse the state hash as HGETALL returns it (a flat list).

        A user who has not appeared yet (no ``since``) sees no broadcasts.
        """
        view = cls(since=2**63)
        read, dismissed = [], []
        for i in range(0, len(flat), 2):
            name, value = flat[i].decode(), flat[i + 1].decode()
            if name == "since":
                view.since = int(value)
            elif name == "upto":
                view.upto = parse_notification_id(value)
            elif name.startswith("r:"):
                read.append(name[2:])
            elif name.startswith("d:"):
                dismissed.append(name[2:])
        view.mark("read", read)
        view.mark("dismissed", dismissed)
        return view

    def admit_windows(self, windows: dict[str, float]) -> BroadcastView:
        """Let in the broadcasts (Redis id -> window end, ms) whose window had not ended
        when the user appeared; returns the view."""
        self.windowed = frozenset(key for key, end in windows.items() if end > self.since)
        return self

    def mark(self, kind: str, keys: Iterable[str]) -> None:
        """Note broadcasts as ``read`` or ``dismissed``."""
        keys = frozenset(keys)
        if keys:
            setattr(self, kind, getattr(self, kind) | keys)

    def visible(self, key: str, position: Pos | None = None) -> bool:
        """Whether the broadcast with this Redis id (``position``: the id parsed, when the
        caller has it) is in the user's feed."""
        pos = position or parse_notification_id(key)
        return (pos is not None and (pos[0] >= self.since or key in self.windowed)
                and key not in self.dismissed)

    def is_read(self, key: str, position: Pos | None = None) -> bool:
        """Whether the user has read it."""
        if key in self.read:
            return True
        return self.upto is not None and (position or parse_notification_id(key)) <= self.upto

    def unread(self, alive: dict[str, float]) -> dict[str, float]:
        """Of the live broadcasts (id -> expiry), the ones this user has not read."""
        return {key: expiry for key, expiry in alive.items()
                if self.visible(key) and not self.is_read(key)}


def count_live(unread: dict[str, float], at_ms: float) -> int:
    """How many of ``unread`` (id -> expiry) have not expired at ``at_ms``."""
    count = 0
    for expiry in unread.values():  # a plain loop: run for every stream of a broadcast
        if expiry > at_ms:
            count += 1
    return count


def as_notification(broadcast: Broadcast, user_id: str, read: bool) -> Notification:
    """A broadcast as an item of one user's feed."""
    doc = broadcast.to_dict()
    return Notification(user_id=user_id, read=read, source="broadcast", **doc)  # no actions


class Feed:
    """Per-user reads and writes across the inbox and the broadcasts."""

    def __init__(self, client: redis.Redis, keys: Keys, inbox: Inbox, broadcasts: Broadcasts):
        self.client = client
        self.keys = keys
        self.inbox = inbox
        self.broadcasts = broadcasts
        self._view = load_script(client, "user_view")
        self._marks = load_script(client, "broadcast_marks")
        self.publish = publish_command(client)

    # -- reading ----------------------------------------------------------
    def _view_on(self, batch: ScriptBatch, user_id: str, *, appear: bool = False) -> None:
        """Queue the user's view on ``batch``; ``appear`` records the user's first appearance.

        Reads for a user never seen (no account, never sent to, no stream) write
        nothing: such a user sees no broadcasts until they appear.
        """
        batch.script(self._view, [self.keys.broadcast_state(user_id), self.keys.unread(user_id)],
                     [now_ms(), "1" if appear else "0"])

    def _alive_on(self, batch: ScriptBatch) -> None:
        alive, windows = self.keys.broadcast_alive(), self.keys.broadcast_windows()
        batch.command(alive, "ZRANGEBYSCORE", alive, f"({now_ms()}", "+inf", "WITHSCORES")
        batch.command(windows, "ZRANGE", windows, 0, -1, "WITHSCORES")

    def state(self, user_id: str) -> tuple[int, BroadcastView, dict[str, float]]:
        """(own unread count, the user's broadcast view, live broadcasts id -> expiry)."""
        batch = ScriptBatch(self.client)
        self._view_on(batch, user_id)
        self._alive_on(batch)
        (own, flat), alive, windows = batch.execute()
        view = BroadcastView.from_flat(flat).admit_windows(_scores(windows))
        return int(own), view, _scores(alive)

    def unread_count(self, user_id: str) -> int:
        """Unread, unexpired notifications and broadcasts of the user."""
        own, view, alive = self.state(user_id)
        return own + len(view.unread(alive))

    def position(self, user_id: str) -> str:
        """"Everything from now on" in both sources (pages hand it to their stream)."""
        batch = ScriptBatch(self.client)
        self._view_on(batch, user_id, appear=True)  # a page or a stream opens
        inbox, log = self.keys.inbox(user_id), self.keys.broadcast_log()
        batch.command(inbox, "XREVRANGE", inbox, "+", "-", "COUNT", 1)
        batch.command(log, "XREVRANGE", log, "+", "-", "COUNT", 1)
        # Each source's clock is that of the node writing its ids (on a cluster the
        # inbox and the log may live on machines whose clocks differ).
        batch.command(inbox, "TIME")
        batch.command(log, "TIME")
        _, own_newest, log_newest, own_clock, log_clock = batch.execute()
        own = newest_position(own_newest[0][0].decode() if own_newest else None,
                              _ms(own_clock))
        bcast = newest_position(log_newest[0][0].decode() if log_newest else None,
                                _ms(log_clock))
        return f"{own}_{bcast}"

    def page(self, user_id: str, *, limit: int, before: str | None = None,
             only: InboxFilter = EVERYTHING, archived: bool = False, snoozed: bool = False
             ) -> tuple[list[Notification], str | None]:
        """Up to ``limit`` items older than ``before`` (an item id) that ``only`` lets
        through, newest first; ``archived``: the archived notifications instead,
        ``snoozed``: the snoozed ones.

        Returns the page and the next page's cursor (None at the end).
        """
        # Feed order is by id time; a notification before a broadcast of the same id.
        bcast_before = own_before = None
        if before is not None and before.startswith("b"):
            bcast_before = parse_broadcast_id(before)
            own_before = _just_after(bcast_before)  # a notification of the same id is older
        elif before is not None:
            own_before, bcast_before = before, parse_notification_id(before)
        own_items, own_more = self.inbox.page(user_id, limit=limit, before=own_before,
                                              only=only, archived=archived,
                                              snoozed=snoozed)
        if archived or snoozed:  # broadcasts are dismissed, never archived or snoozed
            return own_items, own_more
        _, view, alive = self.state(user_id)
        keys = []
        for key in alive:
            pos = parse_notification_id(key)
            if not view.visible(key) or (only.read is not None
                                         and view.is_read(key) != only.read):
                continue
            if bcast_before is not None and pos >= bcast_before:
                continue
            keys.append(key)
        keys.sort(key=parse_notification_id, reverse=True)
        # Unfiltered, no more than a page is needed; filtered, every live one is looked at.
        broadcasts = self.broadcasts.docs(keys if only.narrows else keys[:limit + 1])
        shown = [as_notification(b, user_id, view.is_read(b.key)) for b in broadcasts]
        merged = own_items + [item for item in shown if only.matches(item)][:limit + 1]
        merged.sort(key=_order, reverse=True)
        more = len(merged) > limit or own_more is not None
        page = merged[:limit]
        return page, (page[-1].id if more and page else None)

    # -- writing ----------------------------------------------------------
    def _mark(self, user_id: str, mode: str, keys: Iterable[str], bound: str = "",
              alive: dict[str, float] | None = None) -> tuple[int, list[str]]:
        """Run the marks script; returns (own unread count, newly marked Redis ids)."""
        oldest = min(alive, key=parse_notification_id) if alive else None
        prune = oldest or format_id((now_ms() - _PRUNE_GRACE_MS, 0))
        result = self._marks(
            keys=[self.keys.broadcast_state(user_id), self.keys.unread(user_id),
                  self.keys.user_channel(user_id)],
            args=[now_ms(), mode, bound, prune, self.publish, *keys])
        return int(result[0]), [k.decode() for k in result[1:]]

    def mark_read(self, user_id: str, ids: Iterable[str]) -> tuple[int, int]:
        """Mark notifications and broadcasts read; returns (newly read, unread count)."""
        ids = list(ids)
        own_ids = [i for i in ids if not i.startswith("b")]
        bcast_keys = {i[1:] for i in ids if i.startswith("b")}
        changed = 0
        if own_ids:
            changed, _ = self.inbox.mark_read(user_id, own_ids)
        own, view, alive = self.state(user_id)
        targets = [k for k in bcast_keys if k in alive and view.visible(k)]
        if targets:
            own, marked = self._mark(user_id, "read", targets, alive=alive)
            changed += len(marked)
            view.mark("read", marked)
        return changed, own + len(view.unread(alive))

    def mark_all_read(self, user_id: str, up_to: str | None = None) -> tuple[int, int]:
        """Mark everything read, or everything not newer than the position ``up_to``."""
        bounds = parse_position(up_to) if up_to else None
        changed, _ = self.inbox.mark_all_read(
            user_id, format_id(bounds[0]) if bounds else None)
        own, view, alive = self.state(user_id)
        unread = view.unread(alive)
        if bounds is None:
            bound = max(alive, key=parse_notification_id) if alive else ""
        else:
            bound = format_id(bounds[1])
        targets = [k for k in unread if bound and parse_notification_id(k)
                   <= parse_notification_id(bound)]
        if targets or bound:
            own, marked = self._mark(user_id, "all", targets, bound=bound, alive=alive)
            changed += len(marked)
            for key in marked:
                unread.pop(key, None)
        return changed, own + len(unread)

    def delete(self, user_id: str, item_id: str) -> tuple[bool, int]:
        """Delete a notification or dismiss a broadcast; returns (whether it was there, unread)."""
        if not item_id.startswith("b"):
            existed, _ = self.inbox.delete(user_id, item_id)
            return existed, self.unread_count(user_id)
        key = item_id[1:]
        own, view, alive = self.state(user_id)
        if key not in alive or not view.visible(key):
            return False, own + len(view.unread(alive))
        own, marked = self._mark(user_id, "dismiss", [key], alive=alive)
        view.mark("dismissed", marked)
        return bool(marked), own + len(view.unread(alive))

    def delete_many(self, user_id: str, item_ids: Iterable[str]) -> tuple[int, int]:
        """Delete notifications and dismiss broadcasts; returns (how many were there,
        unread count)."""
        item_ids = list(dict.fromkeys(item_ids))
        own = [i for i in item_ids if not i.startswith("b")]
        removed = self.inbox.delete_many(user_id, own) if own else 0
        for item_id in item_ids:
            if item_id.startswith("b"):
                removed += self.delete(user_id, item_id)[0]
        return removed, self.unread_count(user_id)

    # -- live streams -----------------------------------------------------
    def replay(self, user_id: str, own_after: str, bcast_after: str | None, *,
               count: int = 200, own: bool = True
               ) -> tuple[ReplayChunk | None, BroadcastChunk, BroadcastView]:
        """One round trip: the inbox after ``own_after`` (when ``own``), the broadcast
        log after ``bcast_after`` (None: no entries), and the user's broadcast view."""
        batch = ScriptBatch(self.client)
        if own:
            self.inbox.replay_on(batch, user_id, own_after, count)
        self._view_on(batch, user_id, appear=True)  # a subscriber appears
        # Broadcasts.replay_on queues on a pipeline: its script and keys, on the batch.
        batch.script(self.broadcasts._replay, self.broadcasts._replay_keys(),
                     [bcast_after or "", count])
        results = batch.execute()
        own_chunk = self.inbox.parse_replay(user_id, results.pop(0)) if own else None
        (_, flat), bcast_result = results
        bcast_chunk = Broadcasts.parse_replay(bcast_result)
        view = BroadcastView.from_flat(flat).admit_windows(bcast_chunk.windows)
        return own_chunk, bcast_chunk, view


def _ms(time_reply: tuple[int, int]) -> int:
    """Epoch ms of a ``TIME`` reply."""
    seconds, micros = time_reply
    return seconds * 1000 + micros // 1000


def _scores(flat: list) -> dict[str, float]:
    """Member -> score of a sorted set range read ``WITHSCORES`` as a plain command."""
    return {flat[i].decode(): float(flat[i + 1]) for i in range(0, len(flat), 2)}


def _just_after(position: Pos) -> str | None:
    """The smallest entry id after ``position``; None when it is the largest one."""
    ms, seq = position
    if seq < _MAX_PART:
        return format_id((ms, seq + 1))
    if ms < _MAX_PART:
        return format_id((ms + 1, 0))
    return None


def _order(item: Notification) -> tuple[int, int, int]:
    """Feed order: by id time; a notification before a broadcast of the same id."""
    if item.id.startswith("b"):
        return (*parse_broadcast_id(item.id), 1)
    return (*parse_notification_id(item.id), 0)

