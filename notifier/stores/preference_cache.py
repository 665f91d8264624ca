"""A worker's copy of the preferences its sends read, kept true by the hub.

Every write of a user's preferences is followed by the user's id on the control
channel, and the worker's hub, subscribed to it, tells the cache to forget that
user. The cache serves only while that subscription stands: it starts serving
when the hub's subscription to the control channel is confirmed and empties and
stops when the connection is lost, so no change can be missed.

A read races a change when its reply is older than an invalidation the hub has
already handled: each read notes the cache's generation before it starts, and
its result is kept only if no invalidation came in meanwhile.
"""

from __future__ import annotations

from notifier.model.preferences import Preferences


class PreferenceCache:
    """Up to ``size`` users' preferences, served only while invalidations are heard."""

    def __init__(self, size: int):
        self.size = size
        self._entries: dict[str, Preferences] = {}
        self._live = False
        #: Bumped by every invalidation, so a read that began before one is not kept.
        self.generation = 0

    @property
    def serving(self) -> bool:
        """Whether entries may be used (the hub hears invalidations)."""
        return self._live and self.size > 0

    def get(self, user_id: str) -> Preferences | None:
        """The user's preferences, when cached and serving."""
        return self._entries.get(user_id) if self._live else None

    def keep(self, found: dict[str, Preferences], generation: int) -> None:
        """Remember ``found``, read when the generation was ``generation``, unless an
        invalidation came in since."""
        if not self.serving or generation != self.generation:
            return
        if len(self._entries) + len(found) > self.size:
            self._entries.clear()  # bounded memory; hot users come back at once
        self._entries.update(found)

    def forget(self, user_id: str) -> None:
        """Drop one user's entry (their preferences changed)."""
        self.generation += 1
        self._entries.pop(user_id, None)

    def start(self) -> None:
        """Serve from now on: the hub's subscription to invalidations is confirmed."""
        self.generation += 1
        self._entries.clear()
        self._live = True

    def stop(self) -> None:
        """Empty and stop serving: the hub lost its connection, changes may be missed."""
        self.generation += 1
        self._entries.clear()
        self._live = False

    def on_control(self, message: dict) -> None:
        """A hub's control listener: forget the user whose preferences changed."""
        if message.get("k") == "prefs" and isinstance(message.get("u"), str):
            self.forget(message["u"])

    def __len__(self) -> int:
        return len(self._entries)
