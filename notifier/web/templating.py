"""What every page template can use: the unread count, time formatting, and the chips
naming notification types."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask_login import current_user

from notifier.backend import backend
from notifier.core.clock import iso_utc
from notifier.model.types import chip_labels, chip_of


def relative_time(iso: str | datetime, now: datetime | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, ``2 d ago``, else the date; for a
    time a minute or more ahead, ``in 5 min``, ``in 3 h``, ``in 2 d``."""
    moment = iso if isinstance(iso, datetime) else datetime.fromisoformat(iso)
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds <= -60:
        return "in " + _span(-seconds) if seconds > -7 * 86400 else moment.strftime("%d %b %Y")
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} d ago"
    return moment.strftime("%d %b %Y")


def _span(seconds: float) -> str:
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def utc_time(moment: str | datetime) -> str:
    """``21 Nov 2026, 14:00 UTC``: a time written out, its zone said."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def iso(moment: str | datetime) -> str:
    """A time as the UTC ISO-8601 string a ``<time datetime>`` takes."""
    return moment if isinstance(moment, str) else iso_utc(moment)


def window_time(iso: str) -> str:
    """``21 Nov 14:00`` (UTC), for the window a broadcast announces."""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%d %b %H:%M")


def timestamp_iso(seconds: float) -> str:
    """A Unix time as the UTC ISO-8601 string ``relative_time`` and ``<time>`` take."""
    return iso_utc(datetime.fromtimestamp(seconds, UTC))


def type_chip(item, source: str | None = None) -> str | None:
    """The chip an inbox item (or a broadcast, ``source`` ``broadcast``) shows for its
    type (None: no chip)."""
    return chip_of(backend().types.catalog(), item.type, source or item.source)


def type_chips() -> dict[str, object]:
    """What ``static/note.js`` needs to name chips the same way."""
    return chip_labels(backend().types.catalog())


def init_app(app: Flask) -> None:
    """Register the filters, the type chips and the unread count for the shared header."""
    app.add_template_global(type_chip, "type_chip")
    app.add_template_global(type_chips, "type_chips")
    app.add_template_filter(relative_time, "relative_time")
    app.add_template_filter(window_time, "window_time")
    app.add_template_filter(timestamp_iso, "timestamp_iso")
    app.add_template_filter(utc_time, "utc_time")
    app.add_template_filter(iso, "iso")

    @app.context_processor
    def _header():
        if current_user.is_authenticated:
            return {"unread_count": backend().feed.unread_count(current_user.user_id)}
        return {"unread_count": 0}
