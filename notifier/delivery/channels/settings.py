"""Reading adapters' settings from the app's configuration."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


def text_setting(config: Mapping[str, Any], name: str) -> str:
    """A text setting exactly as given.

    The app parses ``NOTIFIER_*`` variables as JSON, which would turn a password
    such as ``123456`` or ``true`` into a number or a boolean; credentials and ids
    are therefore read from the raw variable when it is set.
    """
    raw = os.environ.get(f"NOTIFIER_{name}")
    if raw is not None:
        return raw
    value = config.get(name)
    return "" if value is None else str(value)


def inbox_url(config: Mapping[str, Any]) -> str:
    """Where a notification without a link takes the user: their inbox."""
    return str(config.get("PUBLIC_URL") or "").rstrip("/") + "/inbox"
