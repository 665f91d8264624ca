"""Which items of a feed a reader asks for: types, priorities, read state and words to
find in titles and bodies; parsed from query arguments, applied to each item."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from notifier.core.errors import ApiError
from notifier.model.notification import Notification
from notifier.model.requests import PRIORITIES

_TYPE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
#: At most this many types or priorities in one filter.
MAX_CHOICES = 20
#: The longest search text, in characters.
MAX_QUERY = 200
#: The query arguments' patterns, as the OpenAPI document states them.
TYPES_PATTERN = rf"^$|^{_TYPE.pattern}(,{_TYPE.pattern}){{0,{MAX_CHOICES - 1}}}$"
_PRIORITY = f"({'|'.join(PRIORITIES)})"
PRIORITIES_PATTERN = rf"^$|^{_PRIORITY}(,{_PRIORITY}){{0,{MAX_CHOICES - 1}}}$"
QUERY_PATTERN = r"^[^\u0000-\u001f]*$"
_FLAGS = {"1": True, "true": True, "0": False, "false": False}


@dataclass(frozen=True)
class InboxFilter:
    """A feed filter; an empty one lets everything through."""

    types: frozenset[str] = frozenset()
    priorities: frozenset[str] = frozenset()
    #: True: read items only; False: unread only; None: both.
    read: bool | None = None
    #: Casefolded words that must each appear in the title or the body.
    words: tuple[str, ...] = ()

    @property
    def narrows(self) -> bool:
        """Whether anything is filtered out besides by read state."""
        return bool(self.types or self.priorities or self.words)

    def matches(self, item: Notification) -> bool:
        """Whether ``item`` passes."""
        if self.read is not None and item.read != self.read:
            return False
        if self.types and item.type not in self.types:
            return False
        if self.priorities and item.priority not in self.priorities:
            return False
        if self.words:
            text = f"{item.title}\n{item.body}".casefold()
            return all(word in text for word in self.words)
        return True


def _choices(args: Mapping[str, str], name: str, valid, what: str) -> frozenset[str]:
    raw = args.get(name, "")
    values = raw.split(",") if raw else []
    if len(values) > MAX_CHOICES or not all(valid(v) for v in values):
        raise ApiError(422, "invalid_field", f"{name} must be up to {MAX_CHOICES} "
                       f"comma-separated {what}", name)
    return frozenset(values)


def _flag(args: Mapping[str, str], name: str) -> bool | None:
    raw = args.get(name, "").lower()
    if raw == "":
        return None
    if raw not in _FLAGS:
        raise ApiError(422, "invalid_field", f"{name} must be 1 or 0", name)
    return _FLAGS[raw]


def parse_filter(args: Mapping[str, str]) -> InboxFilter:
    """The filter of query arguments ``type``, ``priority``, ``unread`` (1: unread only),
    ``read`` (1: read only, 0: unread only) and ``q``; an :class:`ApiError` (422) names
    the argument at fault."""
    types = _choices(args, "type", _TYPE.fullmatch, "notification types")
    priorities = _choices(args, "priority", PRIORITIES.__contains__,
                          f"priorities ({', '.join(PRIORITIES)})")
    unread, read = _flag(args, "unread"), _flag(args, "read")
    if unread and read:
        raise ApiError(422, "invalid_field", "read=1 cannot be combined with unread=1", "read")
    if unread:
        read = False
    text = args.get("q", "")
    if len(text) > MAX_QUERY:
        raise ApiError(422, "invalid_field", f"q must be at most {MAX_QUERY} characters", "q")
    if any(ord(char) < 32 for char in text):
        raise ApiError(422, "invalid_field", "q must not hold control characters", "q")
    return InboxFilter(types=types, priorities=priorities, read=read,
                       words=tuple(dict.fromkeys(text.casefold().split())))


#: The filter that lets everything through.
EVERYTHING = InboxFilter()
