"""Queue each notification's deliveries to the channels its recipient's preferences turn on.

Runs in the sending process right after the inbox stored the send: one
pipeline for the whole send. Only channels whose provider is configured get
jobs (a server with no SMTP server queues no email), so a default install
queues nothing. A recipient with no target on a channel (no email address, no
device) still gets a job: the worker records it as skipped on the timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import redis

from notifier.delivery.queue import DeliveryQueue
from notifier.model.delivery_rules import Decision

log = logging.getLogger(__name__)

class Dispatcher:
    """Turns a stored send's routing decisions into delivery jobs."""

    def __init__(self, client: redis.Redis, queue: DeliveryQueue, channels: frozenset[str]):
        self.client = client
        self.queue = queue
        self.channels = channels

    def dispatch(self, sent: Sequence[tuple[str, dict[str, Any], Decision]]) -> int:
        """Queue the jobs of each ``(user_id, notification dict, decision)``; returns how many.

        The inbox already holds every notification: when Redis fails here the
        error is logged and the send still succeeds (its pushes are what is lost).
        """
        if not self.channels:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for user_id, notification, decision in sent:
            for channel, hold_until in decision.channels.items():
                if channel in self.channels:
                    self.queue.enqueue(user_id, notification, channel,
                                       not_before=hold_until, pipeline=pipe)
        queued = len(pipe)
        if queued:
            try:
                pipe.execute()
            except redis.RedisError:
                log.exception("could not queue %d deliveries of a stored send", queued)
                return 0
        return queued
