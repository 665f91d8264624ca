"""What every page template can use: the unread count and time formatting."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask_login import current_user

from .backend import backend


def relative_time(iso: str, now: datetime | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, ``2 d ago``, else the date."""
    moment = datetime.fromisoformat(iso)
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} d ago"
    return moment.strftime("%d %b %Y")


def init_app(app: Flask) -> None:
    """Register the filters and the unread count for the shared header."""
    app.add_template_filter(relative_time, "relative_time")

    @app.context_processor
    def _header():
        if current_user.is_authenticated:
            return {"unread_count": backend().inbox.unread_count(current_user.user_id)}
        return {"unread_count": 0}
