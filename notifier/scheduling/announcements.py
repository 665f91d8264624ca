"""The ``broadcast`` and ``group`` kinds of scheduled send.

As for notifications (:mod:`notifier.scheduling.notifications`), the validated
request is stored without ``send_at`` and ``idempotency_key``, validated again
when due, and sent with an idempotency key made from the schedule id, so a
re-run after a crash stores nothing twice. A group send goes to the members of
the moment it fires.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from flask import current_app

from notifier.backend import backend
from notifier.model.requests import FIRING, BroadcastRequest, GroupSendRequest
from notifier.scheduling.notifications import IDEMPOTENCY_SCOPE
from notifier.scheduling.scheduler import ScheduledItem, fingerprint

log = logging.getLogger(__name__)

_EXCLUDE = {"send_at", "idempotency_key"}


def schedule_broadcast(request: BroadcastRequest, *, created_by: str,
                       idempotency: tuple[str, str, str] | None = None) -> ScheduledItem:
    """Schedule a validated broadcast for its ``send_at``."""
    body = {"request": request.model_dump(mode="json", exclude=_EXCLUDE)}
    return backend().scheduler.schedule("broadcast", body, request.send_at,
                                        created_by=created_by, title=request.title,
                                        idempotency=idempotency)


def schedule_group_send(group: str, request: GroupSendRequest, *, created_by: str,
                        idempotency: tuple[str, str, str] | None = None) -> ScheduledItem:
    """Schedule a validated group send for its ``send_at``."""
    body = {"group": group, "request": request.model_dump(mode="json", exclude=_EXCLUDE)}
    return backend().scheduler.schedule("group", body, request.send_at,
                                        created_by=created_by, title=f"{group}: {request.title}",
                                        idempotency=idempotency)


def _expired(request: BroadcastRequest | GroupSendRequest, schedule_id: str) -> bool:
    ends = [request.expires_at, getattr(request, "ends_at", None)]
    if any(moment is not None and moment <= datetime.now(UTC) for moment in ends):
        log.info("scheduled %s expired before it fired; not sent", schedule_id)
        return True
    return False


def send_scheduled_broadcast(body: dict[str, Any], schedule_id: str) -> None:
    """Broadcast now; a repeat for the same schedule stores nothing."""
    request = BroadcastRequest.model_validate_json(json.dumps(body["request"]),
                                                   context={FIRING: True})
    if not _expired(request, schedule_id):
        backend().broadcasts.create(
            request, idempotency=(IDEMPOTENCY_SCOPE, schedule_id, fingerprint(body)))


def send_scheduled_group(body: dict[str, Any], schedule_id: str) -> None:
    """Send to the group's members now; a repeat for the same schedule stores nothing."""
    request = GroupSendRequest.model_validate_json(json.dumps(body["request"]),
                                                   context={FIRING: True})
    if not _expired(request, schedule_id):
        backend().groups.send(
            body["group"], request,
            idempotency=(IDEMPOTENCY_SCOPE, schedule_id, fingerprint(body)),
            idempotency_ttl=current_app.config["IDEMPOTENCY_TTL"])

