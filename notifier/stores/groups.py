"""Groups (topics): named sets of users that a notification can be sent to.

A group send is fanned out on write: each member gets a copy in their own
inbox (docs/benchmarks.md has the figures behind this choice), sent in atomic
chunks of up to 1000 members. A member added later does not see older group
notifications; a member removed keeps the ones already received.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from notifier.core.clock import iso_utc, now_ms
from notifier.core.keys import Keys
from notifier.model.requests import MAX_RECIPIENTS, NotificationContent
from notifier.stores.inbox import Inbox, SendOutcome
from notifier.stores.lua_scripts import load_script

#: A group name: like a notification type, lowercase and URL-safe.
GROUP_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
_GROUP_NAME = re.compile(GROUP_NAME_PATTERN)


def is_group_name(value: object) -> bool:
    """Whether ``value`` is a well-formed group name."""
    return isinstance(value, str) and _GROUP_NAME.fullmatch(value) is not None


class GroupNotFound(Exception):
    """No group has this name."""


class GroupFull(Exception):
    """The group has as many members as it may."""


@dataclass(frozen=True)
class Group:
    """A group as the API shows it."""

    name: str
    description: str
    created_at: str
    members: int

    def to_dict(self) -> dict:
        """The API's JSON shape."""
        return dict(self.__dict__)


class Groups:
    """Group storage and group sends on one Redis client."""

    def __init__(self, client: redis.Redis, keys: Keys, inbox: Inbox, *, max_members: int):
        self.client = client
        self.keys = keys
        self.inbox = inbox
        self.max_members = max_members
        self._create = load_script(client, "create_if_absent")
        self._add = load_script(client, "group_member")

    def create(self, name: str, description: str = "") -> bool:
        """Create a group; False when the name is taken."""
        now = time.time()
        created = self._create(keys=[self.keys.group(name)], args=[
            "name", name, "description", description,
            "created_at", iso_utc(datetime.fromtimestamp(now, UTC))])
        if created:
            self.client.zadd(self.keys.groups(), {name: int(now * 1000)})
        return bool(created)

    def delete(self, name: str) -> bool:
        """Delete a group and its memberships; False when there was none."""
        removed = self.client.delete(self.keys.group(name), self.keys.group_members(name))
        self.client.zrem(self.keys.groups(), name)
        return removed > 0

    def get(self, name: str) -> Group | None:
        """The group, with its member count."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(self.keys.group(name))
        pipe.zcard(self.keys.group_members(name))
        fields, members = pipe.execute()
        if not fields:
            return None
        return Group(name=name, description=fields.get(b"description", b"").decode(),
                     created_at=fields[b"created_at"].decode(), members=members)

    def page(self, *, limit: int, after: str | None = None) -> tuple[list[Group], str | None]:
        """Groups in name order after ``after``; returns the page and the next cursor."""
        names = self.client.zrange(self.keys.groups(), 0, -1)
        names = sorted(n.decode() for n in names)
        if after:
            names = [n for n in names if n > after]
        found = [g for g in (self.get(n) for n in names[:limit]) if g is not None]
        return found, (names[limit - 1] if len(names) > limit else None)

    def add_member(self, name: str, user_id: str) -> bool:
        """Add ``user_id``; False when already a member."""
        result = self._add(keys=[self.keys.group(name), self.keys.group_members(name)],
                           args=[user_id, now_ms(), self.max_members])
        if result == -1:
            raise GroupNotFound(name)
        if result == -2:
            raise GroupFull(name)
        return result == 1

    def remove_member(self, name: str, user_id: str) -> bool:
        """Remove ``user_id``; False when not a member."""
        if not self.client.exists(self.keys.group(name)):
            raise GroupNotFound(name)
        return bool(self.client.zrem(self.keys.group_members(name), user_id))

    def members(self, name: str, *, limit: int, after: str | None = None
                ) -> tuple[list[str], str | None]:
        """Member ids in id order after ``after``, and the next cursor."""
        if not self.client.exists(self.keys.group(name)):
            raise GroupNotFound(name)
        ids = sorted(m.decode() for m in self.client.zrange(self.keys.group_members(name), 0, -1))
        if after:
            ids = [i for i in ids if i > after]
        return ids[:limit], (ids[limit - 1] if len(ids) > limit else None)

    def member_ids(self, name: str) -> list[str]:
        """Every member, in the order they joined."""
        if not self.client.exists(self.keys.group(name)):
            raise GroupNotFound(name)
        return [m.decode() for m in self.client.zrange(self.keys.group_members(name), 0, -1)]

    def send(self, name: str, content: NotificationContent, *,
             idempotency: tuple[str, str, str] | None = None,
             idempotency_ttl: int = 0) -> tuple[list[str], SendOutcome]:
        """Copy ``content`` into every member's inbox; returns (members, outcome).

        Chunks of 1000 members are each atomic. With ``idempotency`` the member
        list is kept with the key, so a retried request sends the same chunks
        to the same members and each chunk replays instead of sending twice.
        """
        members = self._snapshot(name, idempotency, idempotency_ttl)
        ids: list[str] = []
        duplicate = bool(members) and idempotency is not None
        for start in range(0, len(members), MAX_RECIPIENTS):
            chunk = members[start:start + MAX_RECIPIENTS]
            chunk_idem = None
            if idempotency:
                scope, key, fingerprint = idempotency
                chunk_idem = (scope, f"{key}#{start // MAX_RECIPIENTS}", fingerprint)
            outcome = self.inbox.send([content], [(u, 0) for u in chunk],
                                      idempotency=chunk_idem, group=name)
            ids += outcome.ids
            duplicate = duplicate and outcome.duplicate
        return members, SendOutcome(ids=ids, duplicate=duplicate)

    def _snapshot(self, name: str, idempotency, ttl: int) -> list[str]:
        members = self.member_ids(name)
        if idempotency is None:
            return members
        key = self.keys.idempotent_members(idempotency[0], idempotency[1])
        self.client.set(key, json.dumps(members), nx=True, ex=ttl)
        return json.loads(self.client.get(key) or "[]")

