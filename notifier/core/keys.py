"""Every Redis key and channel name the service uses, built in one place.

Per-user names carry the Redis Cluster hash tag ``{u:<user_id>}`` so that all
of one user's keys (inbox stream, unread set, account, sessions) and the user's
Pub/Sub channel live in the same slot: a Lua script may touch several of them,
and sharded Pub/Sub (SPUBLISH) routes the channel to the shard holding them.

Every key of scheduled sends carries the hash tag ``{sched}``: the claim,
cancel and finish scripts touch several of them at once.

User ids are validated (``notifier.core.ids``) before any name is built, and they
cannot contain ``{``, ``}``, ``*``, ``?`` or ``[``, so they never break a hash
tag or act as a pattern.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from functools import cache

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

#: Hash partitions of the keys every worker writes often (presence, worker reports):
#: each lives in its own slot, so a cluster spreads them over its masters.
PARTITIONS = 16


@cache
def partition_tags(name: str, count: int = PARTITIONS) -> tuple[str, ...]:
    """``count`` hash tags ``<name>.<n>``, the i-th one's slot in the i-th of ``count``
    equal ranges of the slot space: however a cluster assigns contiguous slot ranges to
    its masters, the partitions spread over them evenly (consecutive numbers as tags
    would not: their slots cluster)."""
    width = REDIS_CLUSTER_HASH_SLOTS / count
    tags = []
    for part in range(count):
        n = 0
        while key_slot(f"{name}.{n}".encode()) // width != part:
            n += 1
        tags.append(f"{name}.{n}")
    return tuple(tags)


def partition_of(member: str, count: int = PARTITIONS) -> int:
    """The partition of ``member`` (a user id, a worker id): a stable hash of it."""
    return zlib.crc32(member.encode()) % count


@dataclass(frozen=True)
class Keys:
    """Key and channel names under one configurable prefix."""

    prefix: str = "notifier"

    def everything(self) -> str:
        """SCAN pattern of every key under the prefix (backups), never of another
        prefix: its glob characters are escaped."""
        escaped = "".join(f"\\{char}" if char in "*?[]\\" else char for char in self.prefix)
        return f"{escaped}:*"

    # -- per user ---------------------------------------------------------
    def _user(self, user_id: str, suffix: str) -> str:
        return f"{self.prefix}:{{u:{user_id}}}:{suffix}"

    def inbox(self, user_id: str) -> str:
        """Stream of the user's notifications; entry id = notification id."""
        return self._user(user_id, "inbox")

    def unread(self, user_id: str) -> str:
        """Sorted set of unread notification ids scored by expiry (ms, or +inf)."""
        return self._user(user_id, "unread")

    def archived(self, user_id: str) -> str:
        """Sorted set of the user's archived notification ids, scored by the ms part of
        the id (entries older than the inbox's oldest are pruned as it is trimmed)."""
        return self._user(user_id, "archived")

    def snoozed(self, user_id: str) -> str:
        """Sorted set of the user's snoozed notification ids, scored by when each returns
        (ms)."""
        return self._user(user_id, "snoozed")

    def snoozed_unread(self, user_id: str) -> str:
        """Hash: snoozed notification id -> the unread score (expiry ms or +inf) it gets
        back when it returns."""
        return self._user(user_id, "snoozed-unread")

    def trimmed(self, user_id: str) -> str:
        """Id of the newest entry trimmed from the inbox: older cursors cannot resume."""
        return self._user(user_id, "trimmed")

    def user_channel(self, user_id: str) -> str:
        """Pub/Sub channel carrying the user's live events."""
        return self._user(user_id, "events")

    def user_of_channel(self, channel: str) -> str:
        """The user whose :meth:`user_channel` ``channel`` is."""
        return channel[len(self.prefix) + 4:-len("}:events")]

    def account(self, user_id: str) -> str:
        """Hash of the account whose username is ``user_id``."""
        return self._user(user_id, "account")

    def sessions(self, user_id: str) -> str:
        """Sorted set of the account's live session tokens scored by creation time."""
        return self._user(user_id, "sessions")

    def revoked_before(self, user_id: str) -> str:
        """Epoch ms of the user's latest "sign out everywhere" (or disabling): widget
        tokens and sign-in links issued at or before it are refused."""
        return self._user(user_id, "revoked")

    def open_streams(self, user_id: str) -> str:
        """Sorted set of the user's open streams and sockets, ``<worker>:<n>`` scored by
        when each opened (ms): beyond the per-user cap the oldest are told to close."""
        return self._user(user_id, "streams")

    def broadcast_state(self, user_id: str) -> str:
        """Hash of the user's view of broadcasts.

        ``since``: when the user appeared (ms; broadcasts from then on are theirs),
        ``upto``: newest broadcast id marked read by "mark all read",
        ``r:<id>`` / ``d:<id>``: one broadcast read / dismissed by the user.
        """
        return self._user(user_id, "broadcasts")

    def preferences(self, user_id: str) -> str:
        """Hash of the user's delivery preferences.

        ``email``, ``phone`` (E.164), ``timezone`` (IANA), ``quiet_start`` /
        ``quiet_end`` (``HH:MM`` in that zone, absent: no quiet hours), and
        ``ch:<type>:<channel>`` = ``1``/``0`` for each switch the user set
        (type ``*`` is the default row; an absent switch takes its default).
        """
        return self._user(user_id, "prefs")

    def devices(self, user_id: str) -> str:
        """Hash of the user's push targets: device id -> JSON (web push subscription or
        mobile token with its platform)."""
        return self._user(user_id, "devices")

    def traces(self, user_id: str) -> list[str]:
        """The user's keys that a send, a preference write or a device registration
        creates (``since`` in :meth:`broadcast_state` outlives a deleted inbox): while any
        exists, senders have addressed the id and registration may not claim it."""
        return [self.inbox(user_id), self.unread(user_id), self.trimmed(user_id),
                self.broadcast_state(user_id), self.preferences(user_id),
                self.devices(user_id)]

    # -- preferences (helper "prefs") ----------------------------------------------
    def known_types(self) -> str:
        """Sorted set of the notification types sent so far, scored by when each was last
        recorded (ms); the settings page shows a row per type. Trimmed to the newest."""
        return f"{self.prefix}:types"

    def type_catalog(self) -> str:
        """Hash of the described notification types: slug -> JSON (label, description,
        default channels, whether users may turn it off, category)."""
        return f"{self.prefix}:types:meta"

    # -- devices (channels) ------------------------------------------------------
    def device_owner(self, device_id: str) -> str:
        """The user a device (browser subscription, mobile token) is registered to now.

        A browser or phone belongs to one user at a time: when another user
        registers it, it leaves the previous user's devices.
        """
        return f"{self.prefix}:device-owner:{device_id}"

    # -- broadcasts (one slot: ``{b}``) ----------------------------------------
    def _broadcast(self, suffix: str) -> str:
        return f"{self.prefix}:{{b}}:{suffix}"

    def broadcast_log(self) -> str:
        """Stream of broadcast events (created, updated); live streams resume in it."""
        return self._broadcast("log")

    def broadcast_items(self) -> str:
        """Hash of broadcast id -> the broadcast's current JSON."""
        return self._broadcast("items")

    def broadcast_alive(self) -> str:
        """Sorted set of retained broadcast ids scored by expiry (ms, or +inf)."""
        return self._broadcast("alive")

    def broadcast_windows(self) -> str:
        """Sorted set of retained broadcast ids that announce a window, scored by the
        window's end (ms): a user who first appears before it ends sees the broadcast."""
        return self._broadcast("windows")

    def broadcast_trimmed(self) -> str:
        """Id of the newest entry trimmed from the broadcast log."""
        return self._broadcast("trimmed")

    def broadcast_idempotency(self, scope: str, idempotency_key: str) -> str:
        """The broadcast created with ``idempotency_key`` by ``scope`` (same slot)."""
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        return self._broadcast(f"idem:{scope}:{digest}")

    def broadcast_channel(self) -> str:
        """Channel every worker's hub subscribes to once: broadcasts, live."""
        return self._broadcast("events")

    # -- groups (one slot per group: ``{g:<name>}``) ----------------------------
    def group(self, name: str) -> str:
        """Hash describing a group (name, description, created_at)."""
        return f"{self.prefix}:{{g:{name}}}:meta"

    def group_members(self, name: str) -> str:
        """Sorted set of a group's member user ids scored by when they joined (ms)."""
        return f"{self.prefix}:{{g:{name}}}:members"

    def groups(self) -> str:
        """Sorted set of all group names scored by creation time (ms)."""
        return f"{self.prefix}:groups"

    # -- global -----------------------------------------------------------
    def accounts(self) -> str:
        """Sorted set of all account usernames scored by creation time."""
        return f"{self.prefix}:accounts"

    def account_names(self) -> str:
        """Sorted set for username prefix search: members ``<lowercased name>\\0<name>``, all
        scored 0, so ZRANGEBYLEX finds a prefix in O(log N) without any pattern matching."""
        return f"{self.prefix}:accounts:names"

    def set_password_link(self, digest: str) -> str:
        """Hash of one invite or password-reset link, named by the SHA-256 digest of its
        token: ``user_id``, ``purpose`` (``invite``/``reset``), ``issued_at`` (ms)."""
        return f"{self.prefix}:set-password-link:{digest}"

    def sign_in_link(self, digest: str) -> str:
        """Hash of one sign-in link minted through the API, named by the SHA-256 digest of
        its token: ``user_id``, ``next`` (a local path or empty), ``issued_at`` (ms)."""
        return f"{self.prefix}:sign-in-link:{digest}"

    def api_key(self, key_id: str) -> str:
        """Hash of one API key (its secret only as a SHA-256 digest)."""
        return f"{self.prefix}:apikey:{key_id}"

    def api_keys(self) -> str:
        """Sorted set of API key ids scored by creation time."""
        return f"{self.prefix}:apikeys"

    def api_key_request(self, request_id: str) -> str:
        """The id of the key made by one submission of the admin's create form (1 day), so
        submitting that form again does not create a second key."""
        return f"{self.prefix}:apikey-request:{request_id}"

    def idempotency(self, scope: str, idempotency_key: str) -> str:
        """The stored outcome of a send made with ``idempotency_key`` by ``scope``.

        The sender's key is hashed so any printable string of up to 255
        characters makes a short, safe key name.
        """
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        return f"{self.prefix}:idem:{scope}:{digest}"

    def sent_marker(self, user_id: str, scope: str, idempotency_key: str, index: int) -> str:
        """``<fingerprint>\n<notification id>``: delivery ``index`` of the send made with
        ``idempotency_key`` by ``scope`` reached ``user_id``, in the user's own slot, so a
        retry on a cluster completes only the recipients a partial failure missed."""
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        return self._user(user_id, f"sent:{scope}:{digest}:{index}")

    def idempotent_members(self, scope: str, idempotency_key: str) -> str:
        """The member list a group send with ``idempotency_key`` went to (retries reuse it)."""
        return self.idempotency(scope, idempotency_key) + ":members"
    # -- scheduled sends: one slot, {sched}, so every script may touch all --
    def _sched(self, suffix: str) -> str:
        return f"{self.prefix}:{{sched}}:{suffix}"

    def sched_due(self) -> str:
        """Sorted set of waiting schedule ids scored by when they are due (epoch ms)."""
        return self._sched("due")

    def sched_running(self) -> str:
        """Sorted set of claimed schedule ids scored by their lease's deadline (epoch ms)."""
        return self._sched("running")

    def sched_failed(self) -> str:
        """Sorted set of schedule ids that used up their attempts, scored by when (ms)."""
        return self._sched("failed")

    def sched_index(self) -> str:
        """Sorted set (all scores 0) of ``<send_at ms, 13 digits>:<id>``: the listing order."""
        return self._sched("index")

    def sched_meta(self) -> str:
        """Hash of schedule id to its JSON description (kind, send_at, creator, summary)."""
        return self._sched("meta")

    def sched_body(self) -> str:
        """Hash of schedule id to the JSON body its executor receives."""
        return self._sched("body")

    def sched_attempts(self) -> str:
        """Hash of schedule id to how many times it was claimed."""
        return self._sched("attempts")

    def sched_errors(self) -> str:
        """Hash of schedule id to the error of its last failed attempt."""
        return self._sched("errors")

    def sched_idempotency(self, scope: str, idempotency_key: str) -> str:
        """The schedule id created with ``idempotency_key`` by ``scope`` (same slot)."""
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        return self._sched(f"idem:{scope}:{digest}")


    def probe_channel(self, number: int) -> str:
        """Channel ``number`` of the hubs' probes: on a cluster each hub publishes to a
        channel of each master's own slots and must hear it back."""
        return f"{self.prefix}:{{probe:{number}}}:hub"

    def control_channel(self) -> str:
        """Channel every worker's hub listens on for revocations and stream evictions."""
        return f"{self.prefix}:control"

    def rate_limit_prefix(self) -> str:
        """Prefix under which Flask-Limiter keeps its counters."""
        return f"{self.prefix}:rl"

    def worker_reports(self) -> list[str]:
        """The partitions of the live web workers' stats: hashes of worker id -> JSON
        report (a worker reports into the one :func:`partition_of` its id names)."""
        return self._reports("workers")

    def delivery_worker_reports(self) -> list[str]:
        """The partitions of the live delivery workers' reports (what each did so far),
        like :meth:`worker_reports`."""
        return self._reports("delivery-workers")

    def scheduler_reports(self) -> list[str]:
        """The partitions of the live schedulers' reports (standalone or in a web
        worker), like :meth:`worker_reports`."""
        return self._reports("schedulers")

    def _reports(self, name: str) -> list[str]:
        return [f"{self.prefix}:{{{tag}}}" for tag in partition_tags(name)]

    def data_format(self) -> str:
        """String: the version of the data's format, set on first start and by
        ``notifier migrate``."""
        return f"{self.prefix}:format"

    # -- delivery queue (PARTITIONS partitions) and per-user delivery state -------
    # The queue is split into PARTITIONS by user id. Every name of one partition carries
    # its hash tag {d.<n>}: the scripts that hold, retry and dead-letter a job touch the
    # partition's job stream and one of the others at once, so all share one slot.
    def _delivery(self, part: int, suffix: str) -> str:
        return f"{self.prefix}:{{{partition_tags('d')[part]}}}:{suffix}"

    def delivery_partition(self, user_id: str) -> int:
        """The delivery partition of ``user_id``'s jobs, held buckets and dead letters."""
        return partition_of(user_id)

    def delivery_jobs(self, part: int) -> str:
        """Stream of a partition's delivery jobs, read by the workers' consumer group; an
        entry is deleted once acknowledged, so it holds only jobs waiting or in progress."""
        return self._delivery(part, "jobs")

    def delivery_delayed(self, part: int) -> str:
        """Sorted set of a partition's jobs waiting to be retried: member = the job's
        fields as JSON (next attempt), score = when it is due (epoch ms)."""
        return self._delivery(part, "delayed")

    def delivery_held(self, part: int) -> str:
        """Sorted set of a partition's held buckets, ``<user id>|<channel>|<reason>``,
        scored by when they are released (epoch ms): the end of quiet hours, or of a
        budget window."""
        return self._delivery(part, "held")

    def delivery_held_jobs(self, part: int) -> str:
        """Sorted set (all scores 0) of a partition's held jobs, ``<bucket>\\0<job
        JSON>``: a bucket's jobs are one lexicographic range, released together as one
        digest."""
        return self._delivery(part, "held-jobs")

    def delivery_dead(self, part: int) -> str:
        """Stream of a partition's dead letters: a job's fields, its last ``error`` and
        ``failed_at``."""
        return self._delivery(part, "dead")

    def receipts(self, user_id: str, notification_id: str) -> str:
        """Hash of one notification's receipts: ``seen_at``, ``read_at``, ``clicked_at``
        (epoch ms, each the first time) and ``clicked`` (``link`` or an action's index).
        ``receipts(user_id, "")`` is the prefix the scripts add ids to (same slot)."""
        return self._user(user_id, f"receipts:{notification_id}")

    def delivery_records(self, user_id: str, job_id: str) -> str:
        """Hash of target id -> what the provider answered, for every target that accepted
        job ``job_id`` of the user: a retried or reclaimed job skips these targets."""
        return self._user(user_id, f"delivered:{job_id}")

    def delivery_timeline(self, user_id: str, notification_id: str) -> str:
        """List of the notification's delivery events (JSON, oldest first): every attempt
        per channel and target with its time, outcome and error."""
        return self._user(user_id, f"deliveries:{notification_id}")

    def delivery_budget(self, user_id: str, channel: str, window_ms: int) -> str:
        """Sorted set of the jobs sent to the user on ``channel`` in the last ``window_ms``,
        scored by when (ms): the sliding window of one per-user budget."""
        return self._user(user_id, f"budget:{channel}:{window_ms}")

    # -- presence ---------------------------------------------------------
    # Presence is split into PARTITIONS by user id. Every name of one partition carries
    # its hash tag {presence.<n>}: the presence scripts touch several of them and the
    # partition's per-user entries at once, so all share one slot.
    def _presence(self, part: int, suffix: str) -> str:
        return f"{self.prefix}:{{{partition_tags('presence')[part]}}}:{suffix}"

    def presence_partition(self, user_id: str) -> int:
        """The presence partition holding ``user_id``."""
        return partition_of(user_id)

    def presence_entries(self, user_id: str) -> str:
        """Sorted set of the workers holding a stream of the user, scored by expiry (ms)."""
        return self._presence(self.presence_partition(user_id), f"u:{user_id}")

    def presence_until(self, part: int) -> str:
        """Sorted set of a partition's online users scored by their latest entry's
        expiry (ms)."""
        return self._presence(part, "until")

    def presence_online(self, part: int) -> str:
        """Sorted set of a partition's online users, all scored 0: user id order, for
        paging."""
        return self._presence(part, "online")

    def presence_since(self, part: int) -> str:
        """Hash: online user of the partition -> when they came online (ms)."""
        return self._presence(part, "since")

    def presence_last_seen(self, part: int) -> str:
        """Hash: user of the partition -> when they last went offline (ms)."""
        return self._presence(part, "last_seen")

    def presence_channel(self, part: int) -> str:
        """Channel carrying the online/offline transitions of a partition's users, once
        each (a sharded channel on a cluster: SSUBSCRIBE)."""
        return self._presence(part, "events")

    def presence_channels(self) -> list[str]:
        """Every partition's :meth:`presence_channel`."""
        return [self.presence_channel(part) for part in range(PARTITIONS)]

    # -- data format 1 (read only by the step that upgrades it) -------------------
    def format1_presence(self, suffix: str) -> str:
        """A presence name of format 1, all in one ``{presence}`` slot (``until``,
        ``online``, ``since``, ``last_seen``, ``u:<id>``)."""
        return f"{self.prefix}:{{presence}}:{suffix}"

    def format1_reports(self) -> list[str]:
        """The single report hashes of format 1: web workers, delivery workers, schedulers."""
        return [f"{self.prefix}:workers", f"{self.prefix}:delivery-workers",
                f"{self.prefix}:schedulers"]

    # -- data format 2 (read only by the step that upgrades it) -------------------
    def format2_delivery(self, suffix: str) -> str:
        """A delivery queue name of format 2, all in one ``{d}`` slot (``jobs``,
        ``delayed``, ``held``, ``held-jobs``, ``dead``)."""
        return f"{self.prefix}:{{d}}:{suffix}"
