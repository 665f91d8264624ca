"""URL converters: route variables that only match well-formed ids.

``/users/<u>/notifications/<item_id:notification_id>`` then never matches
``.../notifications/read``, so a wrong method there is answered with the methods
of the ``read`` route alone.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import BaseConverter

from notifier.core.ids import ITEM_ID_PATTERN


class ItemIdConverter(BaseConverter):
    """A notification id or a broadcast id (``b``-prefixed) in a URL."""

    regex = ITEM_ID_PATTERN.removeprefix("^").removesuffix("$")


def register(app: Flask) -> None:
    """Install the converters on ``app`` (before its routes are added)."""
    app.url_map.converters["item_id"] = ItemIdConverter
