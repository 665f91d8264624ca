"""Python client for notifier's HTTP API: :class:`Notifier` (blocking),
:class:`AsyncNotifier` (asyncio), and :mod:`notifier_client.flask_extension`."""

from notifier_client.async_client import AsyncNotifier
from notifier_client.errors import NotifierConnectionError, NotifierError
from notifier_client.models import (
    Action,
    Broadcast,
    DeleteResult,
    Notification,
    NotificationPage,
    NotificationType,
    Preferences,
    QuietHours,
    ReadResult,
    Scheduled,
    SendResult,
    SentNotification,
    SignInLink,
    TypeList,
    UnreadCount,
    UserPreferences,
    WidgetToken,
)
from notifier_client.retries import RetryPolicy
from notifier_client.sync_client import Notifier

__all__ = [
    "Action",
    "AsyncNotifier",
    "Broadcast",
    "DeleteResult",
    "Notification",
    "NotificationPage",
    "NotificationType",
    "Notifier",
    "NotifierConnectionError",
    "NotifierError",
    "Preferences",
    "QuietHours",
    "ReadResult",
    "RetryPolicy",
    "Scheduled",
    "SendResult",
    "SentNotification",
    "SignInLink",
    "TypeList",
    "UnreadCount",
    "UserPreferences",
    "WidgetToken",
]
