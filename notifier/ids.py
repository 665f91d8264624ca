"""Validation and ordering of user ids and notification (stream entry) ids.

Both are checked before any Redis call: user ids become parts of key names,
notification ids become stream range bounds.
"""

from __future__ import annotations

import re

#: A user id: what services send to, and an account's username.
USER_ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,64}$"
_USER_ID = re.compile(USER_ID_PATTERN)

#: A Redis Stream entry id, ``<milliseconds>-<sequence>``.
NOTIFICATION_ID_PATTERN = r"^[0-9]{1,20}-[0-9]{1,20}$"
_NOTIFICATION_ID = re.compile(NOTIFICATION_ID_PATTERN)

_MAX_PART = 2**64 - 1


def is_user_id(value: object) -> bool:
    """Whether ``value`` is a well-formed user id."""
    return isinstance(value, str) and _USER_ID.fullmatch(value) is not None


def parse_notification_id(value: object) -> tuple[int, int] | None:
    """The (ms, seq) pair of a stream entry id, or None when it is malformed."""
    if not isinstance(value, str) or _NOTIFICATION_ID.fullmatch(value) is None:
        return None
    ms, seq = (int(part) for part in value.split("-"))
    if ms > _MAX_PART or seq > _MAX_PART:
        return None
    return ms, seq


def is_notification_id(value: object) -> bool:
    """Whether ``value`` is a well-formed stream entry id."""
    return parse_notification_id(value) is not None
