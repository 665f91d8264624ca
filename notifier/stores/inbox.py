"""Durable per-user inboxes: send, list, count, mark read, delete.

Each user has a Redis Stream (the durable log; an entry id is the
notification id and the position a live stream resumes from) and a sorted set
of the unread ids scored by expiry, so the unread count is one ZCOUNT. Every
write also publishes on the user's channel, in the same script, so live
streams learn of it with the stream id they need to resume.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis
from redis.crc import key_slot

from notifier import config
from notifier.core.clock import clock_position, iso_utc, now_ms
from notifier.core.idempotency import IdempotencyConflict
from notifier.core.ids import parse_notification_id
from notifier.core.keys import Keys
from notifier.model.delivery_rules import Decision, decide
from notifier.model.inbox_filter import EVERYTHING, InboxFilter
from notifier.model.notification import Notification, encode_content, is_expired
from notifier.model.requests import NotificationContent
from notifier.stores.connection import is_cluster, publish_command
from notifier.stores.lua_scripts import load_script
from notifier.stores.preferences import PreferenceStore
from notifier.stores.script_batch import ScriptBatch

if TYPE_CHECKING:
    from notifier.delivery.dispatch import Dispatcher


@dataclass(frozen=True)
class ReplayChunk:
    """Entries after a cursor, and what tells whether resuming there is possible."""

    notifications: list[Notification]
    #: Entries read from the stream (expired ones included), to page on.
    scanned: int
    last_scanned: str | None
    #: Newest id trimmed away (a cursor older than it has missed entries).
    trimmed: str | None
    #: Newest id in the inbox, if any.
    newest: str | None
    #: Redis's clock, in ms: stream ids are made from it.
    now_ms: int
    #: The user's unread count at the time of the replay.
    unread: int


@dataclass(frozen=True)
class Limit:
    """One of a sender's rate limits, as a send spends it: the moving window's list in
    Redis, how many calls it allows, and over how many seconds."""

    key: str
    amount: int
    window: int


class OverLimit(Exception):
    """A send found no room in one of its sender's rate limits (nothing was stored)."""

    def __init__(self, limit: Limit):
        super().__init__(limit.key)
        self.limit = limit


@dataclass(frozen=True)
class SendOutcome:
    """Ids of a send in recipient order; ``duplicate`` when an idempotent replay."""

    ids: list[str]
    duplicate: bool
    #: Each recipient's routing decision, in recipient order (empty for a replay).
    decisions: list[Decision] = field(default_factory=list)


def live_flags(decision: Decision) -> int:
    """The per-recipient flags ``send.lua`` adds to the live event: 1 = quiet hours
    (``"quiet":true``: no toast or sound), 2 = in-app off for the type (``"live":false``)."""
    return (1 if decision.quiet else 0) | (0 if decision.live else 2)


class Inbox:
    """Inbox operations on one Redis client under one key scheme."""

    #: How far past the cap a stream may grow before it is trimmed back to it.
    TRIM_SLACK = 100

    def __init__(self, client: redis.Redis, keys: Keys, *, cap: int, idempotency_ttl: int,
                 preferences: PreferenceStore | None = None,
                 receipt_ttl: int = config.RECEIPT_TTL, dispatcher: Dispatcher | None = None):
        self.client = client
        self.keys = keys
        self.cap = cap
        self.idempotency_ttl = idempotency_ttl
        self.receipt_ttl = receipt_ttl
        self.preferences = preferences or PreferenceStore(
            client, keys, known_types_max=config.KNOWN_TYPES_MAX)
        self._send = load_script(client, "send")
        self.on_cluster = is_cluster(client)
        #: How the scripts publish on the user's channel.
        self.publish = publish_command(client)
        self._list = load_script(client, "list")
        self._mark_read = load_script(client, "mark_read")
        self._delete = load_script(client, "delete")
        self._replay = load_script(client, "replay")
        self._archive = load_script(client, "archive")
        self._snooze = load_script(client, "snooze")
        self._unsnooze = load_script(client, "unsnooze")
        #: Queues deliveries to other channels after a send (set by the backend).
        #: Queues the deliveries beyond the inbox (web push, email ...) of each send.
        self.dispatcher = dispatcher

    # -- writing ----------------------------------------------------------
    def send(
        self,
        contents: Sequence[NotificationContent],
        deliveries: Sequence[tuple[str, int]],
        *,
        idempotency: tuple[str, str, str] | None = None,
        group: str | None = None,
        limits: Sequence[Limit] = (),
    ) -> SendOutcome:
        """Store and publish ``contents[i]`` to each ``(user_id, i)`` of ``deliveries``.

        On one Redis: one round trip (two when some recipient's preferences are
        not in the worker's cache), all recipients or none. On a cluster: one
        script call per slot, pipelined per node, each atomic; when a node fails
        the recipients stored are delivered and the error is raised.
        ``idempotency`` is ``(scope, key, fingerprint)``: each recipient keeps a
        marker, so a repeat within the TTL returns the first send's ids and
        completes only the recipients a partial failure missed; a different
        request under the same key raises :class:`IdempotencyConflict`.
        ``group`` names the group it is sent to. ``limits`` are the sender's rate
        limits (one Redis only), spent in the same script: with no room in one,
        :class:`OverLimit` is raised and nothing is stored.
        """
        if limits and self.on_cluster:
            raise ValueError("on a cluster, Flask-Limiter spends a sender's limits")
        now = datetime.now(UTC)
        created_at = iso_utc(now)
        decisions = self.route(contents, deliveries, now)
        encoded = [encode_content(content, created_at, group) for content in contents]
        header = [now_ms(), self.cap, self.TRIM_SLACK, 1 if idempotency else 0,
                  self.idempotency_ttl, idempotency[2] if idempotency else ""]
        slots = self._by_slot(deliveries) if self.on_cluster else [range(len(deliveries))]
        calls = []
        for positions in slots:
            # Each call carries only the payloads its recipients get, numbered from 1.
            if len(slots) == 1:
                used = range(len(encoded))
                local = {index: index + 1 for index in used}
            else:
                used = list(dict.fromkeys(deliveries[p][1] for p in positions))
                local = {index: number for number, index in enumerate(used, 1)}
            keys: list[str] = [limit.key for limit in limits] if not self.on_cluster else []
            for position in positions:
                user_id = deliveries[position][0]
                keys += (self.keys.inbox(user_id), self.keys.unread(user_id),
                         self.keys.trimmed(user_id), self.keys.user_channel(user_id),
                         self.keys.broadcast_state(user_id))
                if idempotency:
                    keys.append(self.keys.sent_marker(user_id, idempotency[0],
                                                      idempotency[1], position))
            args: list[Any] = [*header, len(used), 0 if self.on_cluster else len(limits),
                               repr(time.time()), self.publish]
            if not self.on_cluster:
                for limit in limits:
                    args += (limit.amount, limit.window)
            args += [encoded[index][0] for index in used]
            args += [encoded[index][1] for index in used]
            args += [local[deliveries[position][1]] for position in positions]
            args += [live_flags(decisions[position]) for position in positions]
            calls.append((keys, args))
        types = self.preferences.types_to_record({content.type for content in contents})
        results = self._run(calls, types)
        return self._outcome(deliveries, decisions, encoded, slots, results, limits)

    def _by_slot(self, deliveries: Sequence[tuple[str, int]]) -> list[list[int]]:
        """Delivery positions grouped by their recipient's cluster slot."""
        slots: dict[int, list[int]] = {}
        for position, (user_id, _) in enumerate(deliveries):
            slots.setdefault(key_slot(self.keys.inbox(user_id).encode()), []).append(position)
        return list(slots.values())

    def _run(self, calls: list[tuple[list[str], list[Any]]], types: list[str]) -> list:
        """Each call's reply (or its exception, on a cluster), types recorded beside."""
        if not self.on_cluster:
            keys, args = calls[0]
            if not types:
                return [self._send(keys=keys, args=args)]
            pipe = self.client.pipeline(transaction=False)
            self.preferences.record_types(types, pipe=pipe)
            self._send(keys=keys, args=args, client=pipe)
            return [pipe.execute()[-1]]
        if types:  # another slot: first, so that a failure stores nothing
            pipe = self.client.pipeline(transaction=False)
            self.preferences.record_types(types, pipe=pipe)
            pipe.execute()
        batch = ScriptBatch(self.client)
        for keys, args in calls:
            batch.script(self._send, keys, args)
        return batch.execute(raise_on_error=False)

    def _outcome(self, deliveries, decisions, encoded, slots, results, limits) -> SendOutcome:
        """The ids in delivery order from each call's reply; the new ones dispatched. A
        failed call raises, after the recipients stored by the others are dispatched."""
        ids: list[str] = [""] * len(deliveries)
        fresh: list[int] = []
        failure: Exception | None = None
        conflict = False
        for positions, result in zip(slots, results, strict=True):
            if isinstance(result, Exception):
                failure = failure or result
                continue
            if result and result[0] == b"limited":
                raise OverLimit(limits[int(result[1]) - 1])
            if result and result[0] == b"conflict":
                conflict = True
                continue
            for position, raw in zip(positions, result, strict=True):
                found = raw.decode()
                if found.startswith("="):
                    ids[position] = found[1:]
                else:
                    ids[position] = found
                    fresh.append(position)
        if fresh and self.dispatcher is not None and self.dispatcher.channels:
            self._dispatch([deliveries[p] for p in fresh], [ids[p] for p in fresh],
                           [decisions[p] for p in fresh], [payload for payload, _ in encoded])
        if failure is not None:
            raise failure
        if conflict:
            raise IdempotencyConflict
        duplicate = not fresh
        return SendOutcome(ids=ids, duplicate=duplicate,
                           decisions=[] if duplicate else list(decisions))

    def _dispatch(self, deliveries: Sequence[tuple[str, int]], ids: list[str],
                  decisions: list[Decision], payloads: list[str]) -> None:
        """Hand the recipients with a served channel on to the dispatcher; each payload
        is parsed once, however many recipients share it."""
        served = self.dispatcher.channels
        parsed: dict[int, Notification] = {}
        sent = []
        for (user_id, index), nid, decision in zip(deliveries, ids, decisions, strict=True):
            if served.isdisjoint(decision.channels):
                continue
            if index not in parsed:
                parsed[index] = Notification.from_stored(user_id, nid, payloads[index],
                                                         read=False)
            notification = replace(parsed[index], id=nid, user_id=user_id)
            sent.append((user_id, notification.to_dict(), decision))
        if sent:
            self.dispatcher.dispatch(sent)

    def route(self, contents: Sequence[NotificationContent],
              deliveries: Sequence[tuple[str, int]], now: datetime) -> list[Decision]:
        """Each delivery's :class:`~notifier.model.delivery_rules.Decision`, from its recipient's
        preferences (the worker's cache, or one round trip for those it lacks)."""
        found = self.preferences.for_routing(user_id for user_id, _ in deliveries)
        decided: dict[tuple[int, str, str], Decision] = {}  # recipients mostly share one
        decisions = []
        for user_id, index in deliveries:
            prefs, content = found[user_id], contents[index]
            memo = (id(prefs), content.type, content.priority)
            if memo not in decided:
                decided[memo] = decide(prefs, content.type, content.priority, now)
            decisions.append(decided[memo])
        return decisions

    def mark_read(self, user_id: str, ids: Iterable[str]) -> tuple[int, int]:
        """Mark ``ids`` read (recording their ``read_at``); returns (how many were unread,
        unread count)."""
        args = [*self._read_args(user_id, "ids"), *ids]
        changed, count = self._mark_read(keys=self._read_keys(user_id), args=args)
        return changed, count

    def mark_all_read(self, user_id: str, up_to: str | None = None) -> tuple[int, int]:
        """Mark everything read, or everything up to and including ``up_to``."""
        args = [*self._read_args(user_id, "all"), up_to or ""]
        changed, count = self._mark_read(keys=self._read_keys(user_id), args=args)
        return changed, count

    def mark_thread_read(self, user_id: str, thread: str) -> tuple[int, int]:
        """Mark every unread notification of ``thread`` read, in one script; returns (how
        many were unread, unread count). Snoozed ones stay snoozed."""
        args = [*self._read_args(user_id, "thread"), thread]
        changed, count = self._mark_read(keys=self._read_keys(user_id), args=args)
        return changed, count

    def _read_args(self, user_id: str, mode: str) -> list[Any]:
        return [now_ms(), mode, self.keys.receipts(user_id, ""), self.receipt_ttl,
                self.publish]

    def delete(self, user_id: str, notification_id: str) -> tuple[bool, int]:
        """Delete one notification and its receipts; returns (whether it existed, unread count)."""
        keys = [self.keys.inbox(user_id), self.keys.unread(user_id),
                self.keys.user_channel(user_id), self.keys.receipts(user_id, notification_id),
                self.keys.archived(user_id)]
        removed, count = self._delete(keys=keys, args=[now_ms(), notification_id,
                                                                 self.publish])
        return bool(removed), count

    def delete_many(self, user_id: str, notification_ids: Iterable[str]) -> int:
        """Delete notifications (one round trip, one script each); how many existed."""
        batch = ScriptBatch(self.client)
        for notification_id in notification_ids:
            keys = [self.keys.inbox(user_id), self.keys.unread(user_id),
                    self.keys.user_channel(user_id),
                    self.keys.receipts(user_id, notification_id), self.keys.archived(user_id)]
            batch.script(self._delete, keys, [now_ms(), notification_id, self.publish])
        return sum(removed for removed, _ in batch.execute())

    def archive(self, user_id: str, ids: Iterable[str], *, restore: bool = False
                ) -> tuple[int, int]:
        """Archive ``ids`` (they leave the inbox list, read, and streams hear "archived"),
        or ``restore`` archived ones ("restored"); returns (how many changed, unread
        count)."""
        keys = [self.keys.inbox(user_id), self.keys.unread(user_id),
                self.keys.archived(user_id), self.keys.user_channel(user_id)]
        args = [now_ms(), "restore" if restore else "archive",
                self.keys.receipts(user_id, ""), self.receipt_ttl, self.publish,
                *_stream_ids(ids)]
        changed, count = self._archive(keys=keys, args=args)
        return changed, count

    def snooze(self, user_id: str, ids: Iterable[str], until_ms: int) -> tuple[int, int]:
        """Take ``ids`` out of the inbox list and the unread count until ``until_ms``
        (streams hear "snoozed"); archived or missing ones are passed by. Returns (how many
        were snoozed, unread count). Something must call :meth:`unsnooze_due` then: the
        scheduler's ``unsnooze`` kind (notifier.scheduling.snoozes)."""
        ids = _stream_ids(ids)
        pipe = self.client.pipeline(transaction=False)  # one slot: the user's
        for notification_id in ids:
            pipe.xrange(self.keys.inbox(user_id), notification_id, notification_id, count=1)
        args: list[Any] = [now_ms(), until_ms, self.publish]
        for notification_id, entries in zip(ids, pipe.execute(), strict=True):
            if entries:
                expires = Notification.from_stored(user_id, notification_id,
                                                   entries[0][1][b"n"], read=True).expires_at
                args += [notification_id, _expiry_score(expires)]
        if len(args) == 3:
            return 0, self.unread_count(user_id)
        changed, count = self._snooze(keys=self._snooze_keys(user_id), args=args)
        return changed, count

    def unsnooze(self, user_id: str, ids: Iterable[str]) -> tuple[int, int]:
        """Bring snoozed ``ids`` back now, unread (streams hear "restored"); returns (how
        many came back, unread count)."""
        back, count, _ = self._unsnooze(keys=self._snooze_keys(user_id),
                                        args=[now_ms(), self.publish, "ids",
                                              *_stream_ids(ids)])
        return back, count

    def unsnooze_due(self, user_id: str) -> tuple[int, int | None]:
        """Bring back the user's snoozed notifications whose time has come; returns (how
        many came back, when the next one is due in ms or None)."""
        back, _, next_due = self._unsnooze(keys=self._snooze_keys(user_id),
                                           args=[now_ms(), self.publish, "due"])
        return back, int(float(next_due)) if next_due else None

    def snoozed_until(self, user_id: str, ids: Iterable[str]) -> dict[str, int]:
        """When each of ``ids`` that is snoozed returns (ms)."""
        ids = list(ids)
        if not ids:
            return {}
        scores = self.client.zmscore(self.keys.snoozed(user_id), ids)
        return {i: int(score) for i, score in zip(ids, scores, strict=True)
                if score is not None}

    def _snooze_keys(self, user_id: str) -> list[str]:
        return [self.keys.inbox(user_id), self.keys.unread(user_id),
                self.keys.archived(user_id), self.keys.snoozed(user_id),
                self.keys.snoozed_unread(user_id), self.keys.user_channel(user_id)]

    def _read_keys(self, user_id: str) -> list[str]:
        return [self.keys.unread(user_id), self.keys.user_channel(user_id),
                self.keys.inbox(user_id)]

    # -- reading ----------------------------------------------------------
    def replay(self, user_id: str, after: str, *, count: int = 200) -> ReplayChunk:
        """Up to ``count`` entries after ``after``, oldest first, expired ones skipped."""
        return self.parse_replay(user_id, self._replay(keys=self._replay_keys(user_id),
                                                       args=[after, count]))

    def replay_on(self, batch: ScriptBatch, user_id: str, after: str,
                  count: int = 200) -> None:
        """Queue :meth:`replay` on ``batch``; parse its result with :meth:`parse_replay`."""
        batch.script(self._replay, self._replay_keys(user_id), [after, count])

    def _replay_keys(self, user_id: str) -> list[str]:
        return [self.keys.inbox(user_id), self.keys.unread(user_id), self.keys.trimmed(user_id),
                self.keys.archived(user_id), self.keys.snoozed(user_id)]

    @staticmethod
    def parse_replay(user_id: str, result: list) -> ReplayChunk:
        """A :class:`ReplayChunk` from the replay script's reply (archived and snoozed
        entries are scanned, not replayed)."""
        trimmed, newest, redis_ms, unread_count, *flat = result
        at = now_ms()
        found = []
        for i in range(0, len(flat), 4):
            entry_id, payload, score = flat[i].decode(), flat[i + 1], flat[i + 2]
            if flat[i + 3]:
                continue
            unread = score is not None and float(score) > at
            item = Notification.from_stored(user_id, entry_id, payload, read=not unread)
            if not is_expired(item.expires_at, at):
                found.append(item)
        return ReplayChunk(
            notifications=found, scanned=len(flat) // 4,
            last_scanned=flat[-4].decode() if flat else None,
            trimmed=trimmed.decode() if trimmed else None,
            newest=newest.decode() if newest else None, now_ms=int(redis_ms),
            unread=int(unread_count),
        )

    def position(self, user_id: str) -> str:
        """A cursor for "everything from now on": the newest id, or Redis's clock.

        A page renders it so its stream replays whatever arrived between
        rendering and connecting, even when the inbox is empty.
        """
        inbox = self.keys.inbox(user_id)
        batch = ScriptBatch(self.client)  # one round trip, on the node of the inbox
        batch.command(inbox, "XREVRANGE", inbox, "+", "-", "COUNT", 1)
        batch.command(inbox, "TIME")
        newest, (seconds, micros) = batch.execute()
        clock = clock_position(seconds * 1000 + micros // 1000)
        if not newest:
            return clock
        newest_id = newest[0][0].decode()
        return max(newest_id, clock, key=parse_notification_id)

    def get(self, user_id: str, notification_id: str) -> Notification | None:
        """One of the user's notifications, or None when it is gone or has expired."""
        pipe = self.client.pipeline(transaction=False)
        pipe.xrange(self.keys.inbox(user_id), notification_id, notification_id, count=1)
        pipe.zscore(self.keys.unread(user_id), notification_id)
        entries, unread_score = pipe.execute()
        if not entries:
            return None
        notification = Notification.from_stored(
            user_id, notification_id, entries[0][1][b"n"], read=unread_score is None)
        return None if is_expired(notification.expires_at, now_ms()) else notification

    def unread_count(self, user_id: str) -> int:
        """Unread, unexpired notifications of the user."""
        return self.client.zcount(self.keys.unread(user_id), f"({now_ms()}", "+inf")

    def page(
        self, user_id: str, *, limit: int, before: str | None = None,
        only: InboxFilter = EVERYTHING, archived: bool = False, snoozed: bool = False,
    ) -> tuple[list[Notification], str | None]:
        """Up to ``limit`` notifications older than ``before`` that ``only`` lets through,
        newest first.

        Returns the page and the cursor of the next one (None at the end).
        ``archived`` lists the archived ones instead of the others, ``snoozed`` the
        snoozed ones (those due come back first).
        Expired notifications are skipped. A filter may scan the whole stream, which
        holds at most ``cap`` + ``TRIM_SLACK`` entries.
        """
        if before is not None and parse_notification_id(before) == (0, 0):
            return [], None  # nothing is older than the smallest id
        found: list[Notification] = []
        bound = f"({before}" if before else "+"
        chunk = max(limit + 1, 200 if only.narrows or archived or snoozed else 50)
        self.unsnooze_due(user_id)
        at = now_ms()
        place = 1 if archived else 2 if snoozed else 0
        keys = [self.keys.inbox(user_id), self.keys.unread(user_id),
                self.keys.archived(user_id), self.keys.snoozed(user_id)]
        while len(found) <= limit:
            flat = self._list(keys=keys, args=[bound, chunk])
            for i in range(0, len(flat), 4):
                entry_id, payload, score = flat[i].decode(), flat[i + 1], flat[i + 2]
                if flat[i + 3] != place:
                    continue
                unread = score is not None and float(score) > at
                if only.read is not None and only.read == unread:
                    continue
                item = Notification.from_stored(user_id, entry_id, payload, read=not unread)
                if not is_expired(item.expires_at, at) and only.matches(item):
                    found.append(item)
            if len(flat) < chunk * 4:
                break
            bound = f"({flat[-4].decode()}"
        if len(found) > limit:
            return found[:limit], found[limit - 1].id
        return found, None


def _stream_ids(ids: Iterable[str]) -> list[str]:
    """``ids`` that can be entries of a stream, each once, as Redis writes them (an id out
    of a stream's range cannot be in it, and Redis would refuse it)."""
    parsed = (parse_notification_id(i) for i in ids)
    return list(dict.fromkeys(f"{p[0]}-{p[1]}" for p in parsed if p is not None))


def _expiry_score(expires_at: str | None) -> str:
    """The unread score of a notification expiring at ``expires_at``: ms, or +inf."""
    if not expires_at:
        return "+inf"
    return str(int(datetime.fromisoformat(expires_at).timestamp() * 1000))
