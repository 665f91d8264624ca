"""How many streams and sockets one user may hold open: the newest win.

Every open stream (``/events`` or ``/ws``, on any worker of any node) is recorded
in the user's sorted set of open streams. When one more would pass the cap, the
oldest are taken out of the set and told to close, through the control channel
that every worker's hub listens on (:mod:`notifier.stores.revocation`); each closes with
a long ``retry:`` so that a tab left open in the background does not take its
place back at once. Entries of a worker that died are never closed by it: they
are the oldest, so they are the first taken out, and the set expires a day after
the user's last stream opened. Opens and closes are recorded in batches
(:class:`notifier.live.caps.CapsRecorder`), never in a stream's own setup.
"""

from __future__ import annotations

import itertools
import json
import secrets

import redis

from notifier.core.keys import Keys
from notifier.stores.lua_scripts import load_script
from notifier.stores.script_batch import ScriptBatch

#: Seconds the set of a user's open streams outlives the newest stream's opening.
KEEP_SECONDS = 24 * 3600


class StreamCaps:
    """The per-user cap on open streams, on one Redis client."""

    def __init__(self, client: redis.Redis, keys: Keys, *, per_user: int):
        self.client = client
        self.keys = keys
        self.per_user = per_user
        #: Names this process's streams apart from every other process's.
        self._process = secrets.token_hex(4)
        self._numbers = itertools.count(1)
        self._open = load_script(client, "stream_open")

    def new_id(self) -> str:
        """An id for a stream about to open, unique across processes."""
        return f"{self._process}:{next(self._numbers)}"

    def apply(self, opened: list[tuple[str, str, int]], closed: list[tuple[str, str]]) -> int:
        """Record the streams ``opened`` (user id, stream id, when in ms) and forget the
        ``closed`` ones, in one round trip; tell the oldest streams past each user's cap to
        close. Returns how many were told. Opens go first, so a stream that opened and
        closed within one batch is gone."""
        if self.per_user <= 0 or not (opened or closed):
            return 0
        batch = ScriptBatch(self.client)
        for user_id, stream_id, at_ms in opened:
            batch.script(self._open, [self.keys.open_streams(user_id)],
                         [stream_id, at_ms, self.per_user, KEEP_SECONDS])
        for user_id, stream_id in closed:
            key = self.keys.open_streams(user_id)
            batch.command(key, "ZREM", key, stream_id)
        results = batch.execute()[:len(opened)]
        told = 0
        for (user_id, _, _), oldest in zip(opened, results, strict=True):
            if oldest:
                ids = [i.decode() for i in oldest]
                told += len(ids)
                message = {"k": "evict", "u": user_id, "ids": ids}
                self.client.publish(self.keys.control_channel(),
                                    json.dumps(message, separators=(",", ":")))
        return told
