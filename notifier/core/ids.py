"""Validation and ordering of user ids, notification (stream entry) ids and schedule ids.

All are checked before any Redis call: user ids become parts of key names,
notification ids become stream range bounds, schedule ids hash fields.
"""

from __future__ import annotations

import re

#: A user id: what services send to, and an account's username.
USER_ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,64}$"
_USER_ID = re.compile(USER_ID_PATTERN)

#: A Redis Stream entry id, ``<milliseconds>-<sequence>``.
NOTIFICATION_ID_PATTERN = r"^[0-9]{1,20}-[0-9]{1,20}$"
_NOTIFICATION_ID = re.compile(NOTIFICATION_ID_PATTERN)

#: A broadcast's id: ``b`` and the entry id of the broadcast log.
BROADCAST_ID_PATTERN = r"^b[0-9]{1,20}-[0-9]{1,20}$"

#: What an inbox lists: a notification or a broadcast.
ITEM_ID_PATTERN = r"^b?[0-9]{1,20}-[0-9]{1,20}$"

#: A place in a user's feed: ``<inbox position>_<broadcast log position>``, or
#: a notification id alone (then both positions are that id).
POSITION_PATTERN = r"^[0-9]{1,20}-[0-9]{1,20}(_[0-9]{1,20}-[0-9]{1,20})?$"
#: A scheduled send's id, made by ``notifier.scheduling.scheduler``.
SCHEDULE_ID_PATTERN = r"^sch_[0-9a-f]{24}$"
_SCHEDULE_ID = re.compile(SCHEDULE_ID_PATTERN)

#: A thread a sender names to group notifications (``pr-4411``): letters, digits and
#: ``_ . : -``, starting with a letter or digit, up to 100 characters. It goes in URL
#: paths, so it holds no slash, space or ``#``.
THREAD_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
_THREAD = re.compile(THREAD_PATTERN)

#: An API key's id: 16 hex digits.
API_KEY_ID_PATTERN = r"^[0-9a-f]{16}$"
_API_KEY_ID = re.compile(API_KEY_ID_PATTERN)

_MAX_PART = 2**64 - 1


def is_thread(value: object) -> bool:
    """Whether ``value`` is a well-formed thread name."""
    return isinstance(value, str) and _THREAD.match(value) is not None


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


def parse_broadcast_id(value: object) -> tuple[int, int] | None:
    """The (ms, seq) of a broadcast id ``b<ms>-<seq>``, or None when it is malformed."""
    if not isinstance(value, str) or not value.startswith("b"):
        return None
    return parse_notification_id(value[1:])


def is_item_id(value: object) -> bool:
    """Whether ``value`` is a notification id or a broadcast id."""
    return is_notification_id(value) or parse_broadcast_id(value) is not None


def format_id(position: tuple[int, int]) -> str:
    """``(ms, seq)`` as ``<ms>-<seq>``."""
    return f"{position[0]}-{position[1]}"
def is_api_key_id(value: object) -> bool:
    """Whether ``value`` is the id of an API key (never checks that it exists)."""
    return isinstance(value, str) and _API_KEY_ID.fullmatch(value) is not None


def is_schedule_id(value: object) -> bool:
    """Whether ``value`` is a well-formed schedule id."""
    return isinstance(value, str) and _SCHEDULE_ID.fullmatch(value) is not None
