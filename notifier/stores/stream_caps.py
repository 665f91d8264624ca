"""How many streams and sockets one user may hold open: the newest win.

Every open stream (``/events`` or ``/ws``, on any worker of any node) is recorded
in the user's sorted set of open streams. When one more would pass the cap, the
oldest are taken out of the set and told to close, through the control channel
that every worker's hub listens on (:mod:`notifier.stores.revocation`); each closes with
a long ``retry:`` so that a tab left open in the background does not take its
place back at once. Entries of a worker that died are never closed by it: they
are the oldest, so they are the first taken out, and the set expires a day after
the user's last stream opened.
"""

from __future__ import annotations

import itertools
import json
import logging
import secrets

import redis

from notifier.core.clock import now_ms
from notifier.core.keys import Keys
from notifier.stores.lua_scripts import load_script

log = logging.getLogger(__name__)

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

    def opened(self, user_id: str, stream_id: str) -> list[str]:
        """Record the stream; the ids of the oldest ones told to close to keep the cap."""
        if self.per_user <= 0:
            return []
        oldest = [i.decode() for i in self._open(
            keys=[self.keys.open_streams(user_id)],
            args=[stream_id, now_ms(), self.per_user, KEEP_SECONDS])]
        if oldest:
            message = {"k": "evict", "u": user_id, "ids": oldest}
            self.client.publish(self.keys.control_channel(),
                                json.dumps(message, separators=(",", ":")))
        return oldest

    def closed(self, user_id: str, stream_id: str) -> None:
        """Forget a closed stream (while Redis is unreachable its entry just expires)."""
        if self.per_user <= 0:
            return
        try:
            self.client.zrem(self.keys.open_streams(user_id), stream_id)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.info("could not forget stream %s of %s: %s", stream_id, user_id, exc)
