"""The interface every delivery adapter implements, and the values it passes around.

A *channel* is what a user turns on or off in their preferences; a *kind* is
the adapter that serves one target of it (the ``mobile_push`` channel has two
kinds, ``fcm`` and ``apns``, one per device platform).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

#: Every channel of the preferences matrix, in the order the settings page shows them.
CHANNELS = ("in_app", "web_push", "email", "mobile_push", "sms")

#: The channels the delivery worker sends to (``in_app`` is the inbox and live stream).
DELIVERY_CHANNELS = ("web_push", "email", "mobile_push", "sms")

Channel = Literal["in_app", "web_push", "email", "mobile_push", "sms"]


@dataclass(frozen=True)
class Target:
    """One place a channel delivers to: a browser subscription, a device, an address."""

    #: Stable within the user and channel (a device id, ``email``, ``sms``): a retried
    #: job skips the targets whose delivery a provider already accepted.
    id: str
    #: The adapter that serves it: ``webpush``, ``email``, ``sms``, ``fcm`` or ``apns``.
    kind: str
    #: What that adapter needs: subscription info, ``{"email": ...}``, ``{"phone": ...}``,
    #: ``{"token": ...}``.
    address: dict[str, Any]


@dataclass(frozen=True)
class Message:
    """What one delivery job sends: one notification, or several as a digest."""

    user_id: str
    channel: str
    #: ``Notification.to_dict()`` of each, oldest first.
    notifications: tuple[dict[str, Any], ...]

    @property
    def is_digest(self) -> bool:
        """Several notifications collapsed into one delivery."""
        return len(self.notifications) > 1


@dataclass(frozen=True)
class Outcome:
    """What a provider answered for one target.

    ``accepted``: the provider took it (never sent again to this target);
    ``retry``: a transient failure (5xx, throttled, timeout), tried again later,
    after ``retry_after`` seconds when the provider said so; ``failed``: a
    permanent failure for this message (retrying cannot help); ``gone``: the
    target no longer exists (404/410, unregistered token) and is removed.
    """

    status: Literal["accepted", "retry", "failed", "gone"]
    #: The provider's message id, or the error as the timeline shows it.
    detail: str = ""
    retry_after: float | None = None


class Adapter(Protocol):
    """Sends a message to one target of its kind; never raises for provider errors."""

    kind: str

    def send(self, message: Message, target: Target) -> Outcome:
        """Deliver ``message`` to ``target`` and say how it went."""
        ...
