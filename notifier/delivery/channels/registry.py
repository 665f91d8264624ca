"""The configured adapters, and where each user's deliveries go on each channel.

Each adapter module exposes ``from_config(config, instance_path) -> Adapter | None``
(None while its settings are missing). Targets come from the user's preferences
(``email`` and ``phone`` fields) and, for web and mobile push, from a devices
provider with ``targets(user_id, channel) -> list[Target]`` and
``remove(user_id, target_id) -> None``; without one those channels have no targets.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from typing import Protocol

from notifier.model.channels import Adapter, Target
from notifier.stores.preferences import PreferenceStore

log = logging.getLogger(__name__)

#: Modules of the adapters the worker builds, each with ``from_config``.
ADAPTER_MODULES = tuple(f"notifier.delivery.channels.{name}"
                        for name in ("webpush", "email", "fcm", "apns", "sms"))

#: Channels whose one target is a field of the user's preferences: channel -> (field,
#: target kind, address key).
PREFERENCE_TARGETS = {"email": ("email", "email", "email"), "sms": ("phone", "sms", "phone")}

#: Channels whose targets are the user's devices.
DEVICE_CHANNELS = ("web_push", "mobile_push")


class Devices(Protocol):
    """Where push targets come from (browser subscriptions, mobile tokens)."""

    def targets(self, user_id: str, channel: str) -> list[Target]:
        """The user's targets on ``channel``."""
        ...

    def remove(self, user_id: str, target_id: str) -> None:
        """Forget a target the provider says is gone."""
        ...


def build_adapters(config, instance_path: str,
                   modules: Iterable[str] = ADAPTER_MODULES) -> dict[str, Adapter]:
    """Every configured adapter, by kind."""
    adapters: dict[str, Adapter] = {}
    for name in modules:
        adapter = importlib.import_module(name).from_config(config, instance_path)
        if adapter is not None:
            adapters[adapter.kind] = adapter
            log.info("delivery adapter %s is configured", adapter.kind)
    return adapters


class Registry:
    """Adapters by kind, and each user's targets by channel."""

    def __init__(self, preferences: PreferenceStore, adapters: dict[str, Adapter],
                 devices: Devices | None = None):
        self.preferences = preferences
        self.adapters = adapters
        self.devices = devices

    def adapter(self, kind: str) -> Adapter | None:
        """The adapter serving targets of ``kind``, if configured."""
        return self.adapters.get(kind)

    def targets(self, wanted: list[tuple[str, str]]) -> list[list[Target]]:
        """The targets of each (user id, channel); preference fields in one round trip."""
        values = iter(self.preferences.contacts(
            [(user_id, PREFERENCE_TARGETS[channel][0]) for user_id, channel in wanted
             if channel in PREFERENCE_TARGETS]))
        found: list[list[Target]] = []
        for user_id, channel in wanted:
            if channel in PREFERENCE_TARGETS:
                value = next(values)
                _, kind, address_key = PREFERENCE_TARGETS[channel]
                found.append([Target(id=kind, kind=kind,
                                     address={address_key: value})] if value else [])
            elif channel in DEVICE_CHANNELS and self.devices is not None:
                found.append(list(self.devices.targets(user_id, channel)))
            else:
                found.append([])
        return found

    def remove(self, user_id: str, target: Target) -> None:
        """Forget a target the provider says is gone (devices only)."""
        if self.devices is not None and target.kind not in ("email", "sms"):
            self.devices.remove(user_id, target.id)
