"""Queue each notification's deliveries to the channels its recipient's preferences turn on.

Runs in the sending process right after the inbox stored the send: one
pipeline for the whole send. Only channels whose provider is configured get
jobs (a server with no SMTP server queues no email), so a default install
queues nothing. A recipient with no target on a channel (no email address, no
device) still gets a job: the worker records it as skipped on the timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import redis

from notifier.delivery.channels.settings import text_setting
from notifier.delivery.queue import DeliveryQueue
from notifier.model.delivery_rules import Decision

log = logging.getLogger(__name__)

#: Each delivery channel and the settings that all must be set for it to be on.
CHANNEL_SETTINGS = {
    "web_push": (("WEBPUSH_SUBJECT",),),
    "email": (("SMTP_HOST",),),
    "mobile_push": (("FCM_CREDENTIALS",), ("APNS_KEY_PATH", "APNS_KEY_ID", "APNS_TEAM_ID",
                                           "APNS_TOPIC")),
    "sms": (("SMS_ACCOUNT_SID", "SMS_AUTH_TOKEN", "SMS_FROM"),),
}


def configured_channels(config: Mapping[str, Any]) -> frozenset[str]:
    """The delivery channels with at least one provider configured."""
    return frozenset(
        channel for channel, providers in CHANNEL_SETTINGS.items()
        if any(all(text_setting(config, name) for name in names) for names in providers))


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
