"""The app's connection to Redis and the stores built on it.

Built once per app in ``create_app`` and kept in ``app.extensions``; views
reach it through :func:`backend`.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from pathlib import Path

import redis
from flask import Flask, current_app

from notifier.core.keys import Keys
from notifier.delivery.channels import configured_channels
from notifier.delivery.dispatch import Dispatcher
from notifier.delivery.queue import DeliveryQueue
from notifier.delivery.records import Deliveries
from notifier.scheduling.scheduler import Scheduler
from notifier.stores.accounts import Accounts
from notifier.stores.api_keys import ApiKeys
from notifier.stores.broadcasts import Broadcasts
from notifier.stores.connection import connect
from notifier.stores.data_format import DataFormat
from notifier.stores.devices import Devices
from notifier.stores.embedded_redis import EmbeddedRedis
from notifier.stores.feed import Feed
from notifier.stores.groups import Groups
from notifier.stores.inbox import Inbox
from notifier.stores.preferences import PreferenceStore
from notifier.stores.presence import Presence
from notifier.stores.receipts import Receipts
from notifier.stores.revocation import Revocations
from notifier.stores.set_password_links import SetPasswordLinks
from notifier.stores.sign_in_links import SignInLinks
from notifier.stores.stream_caps import StreamCaps
from notifier.stores.types import TypeStore
from notifier.stores.worker_stats import DELIVERY_WORKER_BEAT, SCHEDULER_BEAT, WorkerReports


@dataclass
class Backend:
    """Everything that talks to Redis, for one app."""

    redis_url: str
    redis: redis.Redis
    keys: Keys
    inbox: Inbox
    broadcasts: Broadcasts
    feed: Feed
    groups: Groups
    accounts: Accounts
    api_keys: ApiKeys
    scheduler: Scheduler
    preferences: PreferenceStore
    #: The described notification types (labels, default channels).
    types: TypeStore
    #: The embedded redis-server when there is no REDIS_URL (``owner`` if this process started it).
    presence: Presence
    worker_reports: WorkerReports
    #: The live delivery workers' reports (``notifier worker`` processes).
    delivery_workers: WorkerReports
    #: The version of the data's format, checked before serving or working on it.
    data_format: DataFormat
    #: The live schedulers' reports (``notifier scheduler`` and the web workers' own).
    schedulers: WorkerReports
    #: Delivery jobs (web push, email, mobile push, SMS) and what became of them.
    delivery_queue: DeliveryQueue
    deliveries: Deliveries
    devices: Devices
    #: When each notification was first seen, read and clicked.
    receipts: Receipts
    #: Invite and password-reset links (admin console, CLI).
    set_password_links: SetPasswordLinks
    #: Sign-in links minted by host applications through the API.
    sign_in_links: SignInLinks
    #: Revocation stamps, and the control messages that close revoked streams.
    revocations: Revocations
    #: The per-user cap on open streams and sockets.
    stream_caps: StreamCaps
    embedded: EmbeddedRedis | None = None


def init_app(app: Flask) -> Backend:
    """Connect to ``REDIS_URL``, or to the embedded server when it is empty."""
    url = app.config["REDIS_URL"]
    embedded = None
    if not url:
        embedded = EmbeddedRedis(Path(app.instance_path) / "redis").ensure()
        if embedded.owner:
            atexit.register(embedded.stop)
        url = embedded.url
    # A blocking pool: under a burst (a reconnect storm) requests wait for one of
    # a few connections instead of opening one each.
    client = connect(url, pool_size=app.config["REDIS_POOL_SIZE"],
                     client_name=f"notifier:{os.getpid()}")  # CLIENT LIST shows which process
    keys = Keys(app.config["KEY_PREFIX"])
    lifetime = app.permanent_session_lifetime.total_seconds()
    types = TypeStore(client, keys)
    preferences = PreferenceStore(client, keys, known_types_max=app.config["KNOWN_TYPES_MAX"],
                                  types=types)
    delivery_queue = DeliveryQueue(client, keys)
    inbox = Inbox(client, keys, cap=app.config["INBOX_MAX"],
                  idempotency_ttl=app.config["IDEMPOTENCY_TTL"], preferences=preferences,
                  receipt_ttl=app.config["RECEIPT_TTL"],
                  dispatcher=Dispatcher(client, delivery_queue, configured_channels(app.config)))
    broadcasts = Broadcasts(client, keys, cap=app.config["BROADCAST_MAX"],
                            idempotency_ttl=app.config["IDEMPOTENCY_TTL"])
    revocations = Revocations(client, keys)
    state = Backend(
        redis_url=url,
        redis=client,
        keys=keys,
        inbox=inbox,
        broadcasts=broadcasts,
        feed=Feed(client, keys, inbox, broadcasts),
        groups=Groups(client, keys, inbox, max_members=app.config["GROUP_MAX_MEMBERS"]),
        accounts=Accounts(client, keys, session_lifetime=lifetime, revocations=revocations),
        api_keys=ApiKeys(client, keys, cache_seconds=app.config["API_KEY_CACHE_SECONDS"],
                         revocations=revocations),
        scheduler=Scheduler(client, keys, lease_seconds=app.config["SCHEDULER_LEASE"],
                            max_attempts=app.config["SCHEDULER_MAX_ATTEMPTS"],
                            idempotency_ttl=app.config["IDEMPOTENCY_TTL"]),
        preferences=preferences,
        types=types,
        embedded=embedded,
        presence=Presence(client, keys, interval=app.config["PRESENCE_INTERVAL"]),
        worker_reports=WorkerReports(client, keys, interval=app.config["STATS_INTERVAL"]),
        delivery_workers=WorkerReports(client, keys, interval=DELIVERY_WORKER_BEAT,
                                       partitions=keys.delivery_worker_reports()),
        data_format=DataFormat(client, keys),
        schedulers=WorkerReports(client, keys, interval=SCHEDULER_BEAT,
                                 partitions=keys.scheduler_reports()),
        delivery_queue=delivery_queue,
        deliveries=Deliveries(client, keys, ttl_seconds=app.config["DELIVERY_RECORD_TTL"]),
        devices=Devices(client, keys, max_devices=app.config["DEVICES_MAX"]),
        receipts=Receipts(client, keys, ttl_seconds=app.config["RECEIPT_TTL"]),
        set_password_links=SetPasswordLinks(client, keys,
                                            ttl=int(app.config["INVITE_LINK_TTL"])),
        sign_in_links=SignInLinks(client, keys, ttl=int(app.config["SIGN_IN_LINK_TTL"]),
                                  revocations=revocations),
        revocations=revocations,
        stream_caps=StreamCaps(client, keys, per_user=app.config["STREAMS_PER_USER"]),
    )
    app.extensions["notifier"] = state
    return state


def backend() -> Backend:
    """The current app's backend."""
    return current_app.extensions["notifier"]
