"""Notification types as senders describe them: a label, a description, the channels a
user gets by default, and whether a user may turn the type off.

A type nobody described shows as its slug and follows each user's default row.
Stored by :class:`notifier.stores.types.TypeStore`; read by the preferences
(:meth:`notifier.model.preferences.Preferences.enabled`) and the pages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The channels a type that may not be turned off keeps on when it names no default
#: channels of its own.
LOCKED_WITHOUT_DEFAULTS = ("in_app",)

#: The type of a notification sent without one: the inbox shows no chip for it.
DEFAULT_TYPE = "general"

#: What the inbox calls the broadcast kinds of the admin console, unless described.
BROADCAST_LABELS = {"system": "Announcement", "maintenance": "Maintenance"}


@dataclass(frozen=True)
class TypeInfo:
    """One described notification type."""

    type: str
    label: str
    description: str = ""
    #: The channels on for a user who never set this type's switch; None: the type
    #: follows the user's default row like an undescribed one.
    default_channels: tuple[str, ...] | None = None
    #: False: the channels it is on by default cannot be turned off.
    user_can_disable: bool = True
    #: The heading the settings page lists it under ("" for none).
    category: str = ""
    updated_at: str = ""

    def locked(self, channel: str) -> bool:
        """Whether ``channel`` is on for every user, whatever they set."""
        if self.user_can_disable:
            return False
        return channel in (self.default_channels if self.default_channels is not None
                           else LOCKED_WITHOUT_DEFAULTS)

    def default(self, channel: str) -> bool | None:
        """Whether ``channel`` is on for a user who never set the switch; None: the
        user's default row decides."""
        if self.default_channels is None:
            return None
        return channel in self.default_channels

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON shape."""
        return {"type": self.type, "label": self.label, "description": self.description,
                "default_channels": (list(self.default_channels)
                                     if self.default_channels is not None else None),
                "user_can_disable": self.user_can_disable, "category": self.category,
                "updated_at": self.updated_at}

    def to_json(self) -> str:
        """The stored form (a field of the types hash)."""
        doc = self.to_dict()
        del doc["type"]
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, slug: str, stored: str | bytes) -> TypeInfo:
        """Read a stored field."""
        doc = json.loads(stored)
        channels = doc.get("default_channels")
        return cls(type=slug, label=doc["label"], description=doc.get("description", ""),
                   default_channels=tuple(channels) if channels is not None else None,
                   user_can_disable=bool(doc.get("user_can_disable", True)),
                   category=doc.get("category", ""), updated_at=doc.get("updated_at", ""))


#: Every described type by slug.
Catalog = Mapping[str, TypeInfo]


def label_of(catalog: Catalog, slug: str) -> str:
    """What the pages call ``slug``: its label, else the slug itself."""
    info = catalog.get(slug)
    return info.label if info is not None else slug


def chip_of(catalog: Catalog, slug: str, source: str) -> str | None:
    """The one chip an inbox item shows for its type: the described label; for a
    broadcast, else its kind's name; else the slug, and none for an untyped item."""
    info = catalog.get(slug)
    if info is not None:
        return info.label
    if source == "broadcast":
        return BROADCAST_LABELS.get(slug, slug)
    return None if slug == DEFAULT_TYPE else slug


def chip_labels(catalog: Catalog) -> dict[str, object]:
    """What the pages' scripts need to name chips as :func:`chip_of` does."""
    return {"labels": {slug: info.label for slug, info in catalog.items()},
            "broadcast": BROADCAST_LABELS, "untyped": DEFAULT_TYPE}


def locked_off(switches: Mapping[tuple[str, str], bool],
               catalog: Catalog) -> list[tuple[str, str]]:
    """The ``(type, channel)`` switches set off that their type keeps on, in order."""
    return sorted(key for key, on in switches.items()
                  if not on and key[0] in catalog and catalog[key[0]].locked(key[1]))
