"""The client's methods, written once: :class:`~notifier_client.Notifier` runs each
call at once, :class:`~notifier_client.AsyncNotifier` returns it as a coroutine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from notifier_client.models import Preferences


class Methods:
    """One method per operation of :data:`notifier_client.operations.OPERATIONS`.

    Sends take the fields of ``POST /api/v1/notifications`` as keyword arguments
    (``body``, ``type``, ``priority``, ``link``, ``data``, ``expires_at``, ``actions``,
    ``thread``, ``idempotency_key``, ``send_at``); without an ``idempotency_key`` one is
    generated, so the automatic retries never send twice.
    """

    def _call(self, name: str, params: dict[str, Any] | None = None,
              body: dict[str, Any] | None = None, query: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError

    def send(self, user_id: str, title: str, **fields: Any):
        """Send one notification to ``user_id``: a :class:`~notifier_client.SendResult`
        (a :class:`~notifier_client.Scheduled` when ``send_at`` is given)."""
        return self._call("send", body={"user_id": user_id, "title": title, **fields})

    def send_many(self, user_ids: Iterable[str], title: str, **fields: Any):
        """Send one notification to each of ``user_ids`` (up to 1000), all or none."""
        return self._call("send", body={"user_ids": list(user_ids), "title": title,
                                        **fields})

    def batch(self, notifications: Iterable[Mapping[str, Any]], *,
              idempotency_key: str | None = None, send_at: datetime | None = None):
        """Send different notifications, each with its ``user_id``, in one atomic call."""
        return self._call("batch", body={
            "notifications": [dict(n) for n in notifications],
            "idempotency_key": idempotency_key, "send_at": send_at})

    def schedule(self, user_id: str | Iterable[str], title: str, *, send_at: datetime,
                 **fields: Any):
        """Schedule a send to one user (a string) or to several (any other iterable) for
        ``send_at``, an aware datetime: a :class:`~notifier_client.Scheduled`."""
        target = ({"user_id": user_id} if isinstance(user_id, str)
                  else {"user_ids": list(user_id)})
        return self._call("send", body={**target, "title": title, "send_at": send_at,
                                        **fields})

    def broadcast(self, title: str, **fields: Any):
        """Announce something to every user: a :class:`~notifier_client.Broadcast` (a
        :class:`~notifier_client.Scheduled` with ``send_at``)."""
        return self._call("broadcast", body={"title": title, **fields})

    def cancel(self, schedule_id: str):
        """Cancel a scheduled send that has not started (``not_found`` error otherwise)."""
        return self._call("cancel", {"schedule_id": schedule_id})

    def list(self, user_id: str, *, limit: int | None = None, before: str | None = None,
             unread: bool | None = None, read: bool | None = None,
             types: Iterable[str] | None = None, priorities: Iterable[str] | None = None,
             q: str | None = None):
        """A :class:`~notifier_client.NotificationPage` of the user's notifications, newest
        first; pass its ``next`` as ``before`` for the following page. ``unread``/``read``
        keep unread/read ones only, ``types`` and ``priorities`` those named, ``q`` those
        whose title or body holds each of its words."""
        joined = {name: None if values is None else ",".join(values)
                  for name, values in (("type", types), ("priority", priorities))}
        return self._call("list", {"user_id": user_id},
                          query={"limit": limit, "before": before, "unread": unread,
                                 "read": read, **joined, "q": q})

    def unread_count(self, user_id: str):
        """An :class:`~notifier_client.UnreadCount`: how many unread the user has."""
        return self._call("unread_count", {"user_id": user_id})

    def mark_read(self, user_id: str, ids: Iterable[str] | None = None, *,
                  all: bool = False, up_to: str | None = None):
        """Mark ``ids`` read, or ``all`` of them (up to the position ``up_to``)."""
        body = ({"all": True, "up_to": up_to} if all
                else {"ids": None if ids is None else list(ids)})
        return self._call("mark_read", {"user_id": user_id}, body=body)

    def mark_thread_read(self, user_id: str, thread: str):
        """Mark every unread notification of the user's ``thread`` read."""
        return self._call("mark_thread_read", {"user_id": user_id, "thread": thread})

    def delete(self, user_id: str, notification_id: str):
        """Delete one notification of the user's (dismiss a broadcast for them)."""
        return self._call("delete", {"user_id": user_id, "notification_id": notification_id})

    def preferences(self, user_id: str):
        """The user's :class:`~notifier_client.UserPreferences`."""
        return self._call("preferences", {"user_id": user_id})

    def set_preferences(self, user_id: str, preferences: Mapping[str, Any] | Preferences):
        """Replace the user's whole preferences document (``email``, ``phone``,
        ``timezone``, ``quiet_hours``, ``channels``): a mapping or a
        :class:`~notifier_client.Preferences`."""
        body = (preferences.to_json() if isinstance(preferences, Preferences)
                else dict(preferences))
        return self._call("set_preferences", {"user_id": user_id}, body=body)

    def describe_type(self, type: str, label: str, *, description: str | None = None,
                      default_channels: Iterable[str] | None = None,
                      user_can_disable: bool | None = None, category: str | None = None):
        """Describe (or re-describe, whole) a notification type: a
        :class:`~notifier_client.NotificationType`. ``default_channels`` None: the type
        follows each user's default row."""
        return self._call("describe_type", {"type": type}, body={
            "label": label, "description": description,
            "default_channels": None if default_channels is None else list(default_channels),
            "user_can_disable": user_can_disable, "category": category})

    def types(self):
        """Every described type: a :class:`~notifier_client.TypeList`."""
        return self._call("types")

    def forget_type(self, type: str):
        """Forget a type's description (``not_found`` error when it has none)."""
        return self._call("forget_type", {"type": type})

    def widget_token(self, user_id: str, *, ttl_seconds: int | None = None,
                     origins: Iterable[str] | None = None):
        """A :class:`~notifier_client.WidgetToken` for ``user_id``'s widget and stream."""
        return self._call("widget_token", body={
            "user_id": user_id, "ttl_seconds": ttl_seconds,
            "origins": None if origins is None else list(origins)})

    def sign_in_link(self, user_id: str, *, next: str | None = None):
        """A one-time :class:`~notifier_client.SignInLink` that signs ``user_id`` in."""
        return self._call("sign_in_link", body={"user_id": user_id, "next": next})
