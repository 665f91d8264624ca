"""Channels a notification is delivered to besides the in-app inbox.

Each provider is a small adapter behind one interface (:mod:`notifier.model.channels`);
an adapter is off until the settings in :data:`PROVIDERS` configure it. The web app
(which only queues jobs) and the delivery worker (which builds the adapters) both
decide from that one table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from notifier.delivery.channels.settings import text_setting

#: Each provider (adapter kind): the channel it serves and the settings that turn it on.
PROVIDERS = {
    "webpush": ("web_push", ("WEBPUSH_SUBJECT",)),
    "email": ("email", ("SMTP_HOST",)),
    "fcm": ("mobile_push", ("FCM_CREDENTIALS",)),
    "apns": ("mobile_push", ("APNS_KEY_PATH", "APNS_KEY_ID", "APNS_TEAM_ID", "APNS_TOPIC")),
    "sms": ("sms", ("SMS_ACCOUNT_SID", "SMS_AUTH_TOKEN", "SMS_FROM")),
}


def is_configured(config: Mapping[str, Any], kind: str) -> bool:
    """Whether every setting the provider ``kind`` needs is given."""
    return all(text_setting(config, name) for name in PROVIDERS[kind][1])


def configured_channels(config: Mapping[str, Any]) -> frozenset[str]:
    """The delivery channels with at least one provider configured."""
    return frozenset(channel for kind, (channel, _) in PROVIDERS.items()
                     if is_configured(config, kind))
