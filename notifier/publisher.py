"""Send from Python code that shares the server's Redis, without HTTP.

::

    from notifier import publisher

    publisher.configure(redis_url="redis://localhost:6379/0")
    publisher.send("alice", title="Your export is ready")

A send goes the way of ``POST /api/v1/notifications`` (:mod:`notifier.sending`): the
same request models and error codes, the user's preferences, the inbox, the live
streams and the other channels, ``send_at`` scheduling and idempotency keys (scoped
to the publisher, apart from every API key's). A bad field raises
:class:`~notifier.core.errors.ApiError` naming it, as the API answers 422.

The configuration (``KEY_PREFIX``, ``INBOX_MAX``, channels ...) is the server's: an app
is built with :func:`notifier.create_app`, so the ``NOTIFIER_*`` environment and the
instance's ``config.py`` count as they do for the server.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Flask, current_app, has_app_context
from pydantic import BaseModel, ValidationError

from notifier import sending
from notifier.core.errors import ApiError, from_validation_error
from notifier.model.requests import BatchRequest, SendRequest

#: Idempotency scope of the publisher's sends (API key ids are hex, never this).
IDEMPOTENCY_SCOPE = "pub"


@dataclass(frozen=True)
class Sent:
    """A send stored now: each recipient with the id of their notification."""

    #: ``(user_id, notification id)`` in recipient order.
    notifications: list[tuple[str, str]]
    #: True when an idempotency key repeated an earlier send: nothing new was stored.
    replayed: bool

    @property
    def ids(self) -> list[str]:
        """The notification ids, in recipient order."""
        return [notification_id for _, notification_id in self.notifications]


@dataclass(frozen=True)
class Scheduled:
    """A send scheduled for ``send_at`` (``id`` cancels it through the API)."""

    id: str
    kind: str
    send_at: datetime
    replayed: bool


def _json_value(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _validated(model: type[BaseModel], fields: Mapping[str, Any], root_field: str | None):
    """``fields`` as the API would read them from a JSON body (same rules, same errors)."""
    try:
        raw = json.dumps(dict(fields), default=_json_value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ApiError(422, "invalid_body", f"Every field must be a JSON value: {exc}.",
                       root_field) from None
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise from_validation_error(exc, root_field) from None


class Publisher:
    """Sends through one app's backend (its Redis, key prefix and settings)."""

    def __init__(self, app: Flask, *, scope: str = IDEMPOTENCY_SCOPE):
        self.app = app
        self.scope = scope

    @classmethod
    def from_url(cls, redis_url: str, **config: Any) -> Publisher:
        """A publisher for the server whose Redis is at ``redis_url`` (``config``
        overrides settings, e.g. ``KEY_PREFIX``)."""
        from notifier import create_app

        return cls(create_app({"REDIS_URL": redis_url, "BOOTSTRAP_ADMIN": False, **config}))

    def send(self, user_id: str, /, **fields: Any) -> Sent | Scheduled:
        """Send one notification to ``user_id``: ``title`` and the other fields of
        ``POST /api/v1/notifications`` (``send_at`` schedules it)."""
        return self._publish(SendRequest, {"user_id": user_id, **fields}, "user_id")

    def send_many(self, user_ids: Iterable[str], /, **fields: Any) -> Sent | Scheduled:
        """Send one notification to each of ``user_ids`` (up to 1000), all or none."""
        return self._publish(SendRequest, {"user_ids": list(user_ids), **fields}, "user_ids")

    def batch(self, notifications: Iterable[Mapping[str, Any]], /, *,
              idempotency_key: str | None = None,
              send_at: datetime | None = None) -> Sent | Scheduled:
        """Send different notifications (each with its ``user_id``) in one atomic call."""
        fields: dict[str, Any] = {"notifications": [dict(n) for n in notifications]}
        if idempotency_key is not None:
            fields["idempotency_key"] = idempotency_key
        if send_at is not None:
            fields["send_at"] = send_at
        return self._publish(BatchRequest, fields, None)

    def _publish(self, model: type[SendRequest | BatchRequest], fields: Mapping[str, Any],
                 root_field: str | None) -> Sent | Scheduled:
        with self.app.app_context():
            body = _validated(model, fields, root_field)
            if body.send_at is not None:
                item = sending.schedule(body, self.scope, created_by="publisher")
                return Scheduled(id=item.id, kind=item.kind, send_at=item.send_at,
                                 replayed=item.replayed)
            recipients, outcome = sending.send_now(body, self.scope)
        return Sent(notifications=list(zip(recipients, outcome.ids, strict=True)),
                    replayed=outcome.duplicate)


_configured: Publisher | None = None


def configure(*, redis_url: str | None = None, app: Flask | None = None,
              **config: Any) -> Publisher:
    """Set where the module-level :func:`send`, :func:`send_many` and :func:`batch` go:
    an ``app`` built by :func:`notifier.create_app`, or the server's ``redis_url``."""
    global _configured
    if (redis_url is None) == (app is None):
        raise TypeError("configure() takes exactly one of redis_url and app")
    _configured = Publisher(app) if app is not None else Publisher.from_url(redis_url, **config)
    return _configured


def current() -> Publisher:
    """The configured publisher; inside the server's own app context, that app's."""
    if _configured is not None:
        return _configured
    if has_app_context() and "notifier" in current_app.extensions:
        return Publisher(current_app._get_current_object())
    raise RuntimeError("call notifier.publisher.configure(redis_url=...) first")


def send(user_id: str, /, **fields: Any) -> Sent | Scheduled:
    """:meth:`Publisher.send` on the configured publisher."""
    return current().send(user_id, **fields)


def send_many(user_ids: Iterable[str], /, **fields: Any) -> Sent | Scheduled:
    """:meth:`Publisher.send_many` on the configured publisher."""
    return current().send_many(user_ids, **fields)


def batch(notifications: Iterable[Mapping[str, Any]], /, **options: Any) -> Sent | Scheduled:
    """:meth:`Publisher.batch` on the configured publisher."""
    return current().batch(notifications, **options)
